//! Which web pages may open a WebSocket here: the `Origin` check (Phoenix's
//! `check_origin`).
//!
//! A browser sends a page's cookies with every request to their site, WebSocket
//! upgrades included, and the same-origin policy does not apply to WebSockets: any
//! page on any site can open one to this server. A socket that authenticates by
//! cookie would then act for the visitor on behalf of a foreign page (cross-site
//! WebSocket hijacking). What the page cannot forge is the `Origin` header the browser
//! adds, naming the page's scheme, host and port; so the endpoint compares it with
//! what it expects and refuses the upgrade (403) on a mismatch.
//!
//! A request without `Origin` is not from a browser page (a command-line client, a
//! load generator, another server): nothing about it could have been forged by a
//! foreign page, so it is let through, to the socket's own authentication.
//!
//! | [`CheckOrigin`] | allows |
//! |---|---|
//! | `SameHost` (default) | an `Origin` whose host and port are the request's `Host` |
//! | `AllowList(patterns)` | an `Origin` matching one pattern: `https://app.example.com`, `//*.example.com` (any scheme, any port, any subdomain), `//localhost:4000` |
//! | `Off` | every `Origin` |

use std::fmt;
use std::str::FromStr;

/// Which `Origin` headers an endpoint accepts (see the [module](self) docs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CheckOrigin {
    /// The page must come from this server: the `Origin`'s host and port are the
    /// request's `Host` header (so it keeps working behind a proxy that forwards
    /// `Host`, and for every name the server is reached by).
    #[default]
    SameHost,
    /// The page must come from one of these origins, and only these (the server's own
    /// host too only if it is listed, as in Phoenix).
    AllowList(Vec<OriginPattern>),
    /// Any page may connect: for a socket that trusts nothing the browser sends
    /// unasked (tokens in the URL, never cookies), or a check made in front of it.
    Off,
}

impl CheckOrigin {
    /// The check that `--allowed-origin` flags ask for: none given, [`SameHost`];
    /// `*` alone, [`Off`]; otherwise an [`AllowList`] of them. Refuses a pattern that
    /// is not `[scheme:]//host[:port]` or `host[:port]`, naming it.
    ///
    /// [`SameHost`]: CheckOrigin::SameHost
    /// [`Off`]: CheckOrigin::Off
    /// [`AllowList`]: CheckOrigin::AllowList
    pub fn from_flags<S: AsRef<str>>(allowed: &[S]) -> Result<CheckOrigin, BadOriginPattern> {
        match allowed {
            [] => Ok(CheckOrigin::SameHost),
            [any] if any.as_ref() == "*" => Ok(CheckOrigin::Off),
            patterns => patterns
                .iter()
                .map(|p| p.as_ref().parse())
                .collect::<Result<_, _>>()
                .map(CheckOrigin::AllowList),
        }
    }

    /// Whether a page from `origin` (the header's value) may open a WebSocket on a
    /// request for `host` (the `Host` header, if any); `Err` says why not.
    pub fn allows(&self, origin: &str, host: Option<&str>) -> Result<(), String> {
        let patterns = match self {
            CheckOrigin::Off => return Ok(()),
            CheckOrigin::AllowList(patterns) => patterns,
            CheckOrigin::SameHost => {
                let Some(host) = host else {
                    return Err("the request has no Host to compare it with".into());
                };
                let origin = Origin::parse(origin).ok_or("not a scheme://host[:port] origin")?;
                return if origin.same_host(host) {
                    Ok(())
                } else {
                    Err(format!("the page is not from this server ({host})"))
                };
            }
        };
        let origin = Origin::parse(origin).ok_or("not a scheme://host[:port] origin")?;
        if patterns.iter().any(|pattern| pattern.matches(&origin)) {
            Ok(())
        } else {
            Err("not in the allowed origins".into())
        }
    }
}

/// A parsed `Origin` header: `scheme://host[:port]`.
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    /// The port given, or the scheme's default (80, 443); `None` for an unknown
    /// scheme without one.
    port: Option<u16>,
}

impl Origin {
    /// `None` for what is not a serialized origin: `null` (a sandboxed page, a
    /// `file:` URL), or garbage.
    fn parse(text: &str) -> Option<Origin> {
        let (scheme, authority) = text.trim().split_once("://")?;
        // An origin has no path; tolerate a trailing slash, nothing after it.
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        if scheme.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return None;
        }
        let scheme = scheme.to_ascii_lowercase();
        let (host, port) = split_host_port(authority)?;
        let port = port.or_else(|| default_port(&scheme));
        Some(Origin { scheme, host, port })
    }

    /// Whether this origin names the server the request was sent to (`host`, the
    /// `Host` header: `name[:port]`). Without a port there, the server was reached
    /// on the default port of the scheme the page used.
    fn same_host(&self, host: &str) -> bool {
        let Some((name, port)) = split_host_port(host) else {
            return false;
        };
        name == self.host && port.or_else(|| default_port(&self.scheme)) == self.port
    }
}

/// `host[:port]` -> the host (lowercase; an IPv6 address keeps its brackets) and the
/// port if one is given; `None` if it is malformed.
fn split_host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        // [::1]:4000
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => (host, None),
            rest => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains(':') && !host.starts_with('[') {
        return None;
    }
    let port = match port {
        Some(port) => Some(port.parse::<u16>().ok()?),
        None => None,
    };
    Some((host.to_ascii_lowercase(), port))
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// One allowed origin, as Phoenix's `check_origin` list writes them: the parts given
/// must match, the parts left out match anything.
///
/// - `https://app.example.com`: that scheme and host, on the scheme's port (443);
/// - `//app.example.com`: that host, any scheme, any port;
/// - `//*.example.com`: any subdomain of `example.com` (not `example.com` itself);
/// - `//localhost:4000` or `localhost:4000`: that host on that port, any scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: Option<String>,
    host: HostPattern,
    port: Option<u16>,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`, stored as `.example.com`.
    Subdomains(String),
}

impl OriginPattern {
    fn matches(&self, origin: &Origin) -> bool {
        let host = match &self.host {
            HostPattern::Exact(host) => origin.host == *host,
            HostPattern::Subdomains(suffix) => origin.host.ends_with(suffix.as_str()),
        };
        host && self.scheme.as_ref().is_none_or(|s| *s == origin.scheme)
            && self.port.is_none_or(|p| origin.port == Some(p))
    }
}

impl FromStr for OriginPattern {
    type Err = BadOriginPattern;

    fn from_str(text: &str) -> Result<OriginPattern, BadOriginPattern> {
        let bad = || BadOriginPattern(text.to_owned());
        let (scheme, authority) = match text.split_once("//") {
            Some(("", authority)) => (None, authority),
            Some((scheme, authority)) => {
                let scheme = scheme.strip_suffix(':').ok_or_else(bad)?;
                (Some(scheme.to_ascii_lowercase()), authority)
            }
            None => (None, text),
        };
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        if authority.contains(['/', '?', '#', '@']) || scheme.as_ref().is_some_and(String::is_empty)
        {
            return Err(bad());
        }
        let (host, port) = split_host_port(authority).ok_or_else(bad)?;
        // As Phoenix does: a scheme given without a port means the scheme's port.
        let port = port.or_else(|| scheme.as_deref().and_then(default_port));
        let host = match host.strip_prefix("*.") {
            Some("") => return Err(bad()),
            Some(domain) => HostPattern::Subdomains(format!(".{domain}")),
            None if host.contains('*') => return Err(bad()),
            None => HostPattern::Exact(host),
        };
        Ok(OriginPattern {
            scheme,
            host,
            port,
            text: text.to_owned(),
        })
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// An allowed-origin pattern that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadOriginPattern(pub String);

impl fmt::Display for BadOriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an origin pattern: write scheme://host[:port] \
             (https://app.example.com), //host[:port] for any scheme, \
             //*.example.com for every subdomain, or * alone for any origin",
            self.0
        )
    }
}

impl std::error::Error for BadOriginPattern {}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(patterns: &[&str]) -> CheckOrigin {
        CheckOrigin::from_flags(patterns).unwrap()
    }

    #[test]
    fn same_host_compares_host_and_port_with_the_host_header() {
        let check = CheckOrigin::SameHost;
        assert_eq!(
            check.allows("http://127.0.0.1:4000", Some("127.0.0.1:4000")),
            Ok(())
        );
        assert_eq!(
            check.allows("http://LocalHost:4000", Some("localhost:4000")),
            Ok(())
        );
        // Behind a TLS proxy that forwards Host without a port.
        assert_eq!(
            check.allows("https://chat.example.com", Some("chat.example.com")),
            Ok(())
        );
        assert_eq!(
            check.allows("http://[::1]:4000", Some("[::1]:4000")),
            Ok(())
        );
        for (origin, host) in [
            ("http://127.0.0.1:4001", "127.0.0.1:4000"),
            ("https://evil.example", "chat.example.com"),
            ("https://chat.example.com", "chat.example.com:4000"),
            ("https://chat.example.com.evil.example", "chat.example.com"),
            ("null", "chat.example.com"),
            ("chat.example.com", "chat.example.com"),
        ] {
            assert!(
                check.allows(origin, Some(host)).is_err(),
                "{origin} on {host}"
            );
        }
        assert!(check.allows("http://localhost:4000", None).is_err());
    }

    #[test]
    fn allow_list_patterns_match_the_parts_they_name() {
        let check = allow(&[
            "https://app.example.com",
            "//*.example.org",
            "localhost:4000",
        ]);
        let allowed = |origin| check.allows(origin, Some("ignored:1")).is_ok();
        assert!(allowed("https://app.example.com"));
        assert!(allowed("https://app.example.com:443"));
        assert!(
            !allowed("http://app.example.com"),
            "scheme given: it must match"
        );
        assert!(
            !allowed("https://app.example.com:8443"),
            "https implies 443"
        );
        assert!(allowed("http://a.example.org:8080"));
        assert!(allowed("https://deep.sub.example.org"));
        assert!(!allowed("https://example.org"), "*. means subdomains only");
        assert!(!allowed("https://evilexample.org"));
        assert!(allowed("http://localhost:4000"));
        assert!(!allowed("http://localhost:4001"));
        assert!(!allowed("null"));
    }

    #[test]
    fn flags_choose_the_check_and_bad_patterns_are_named() {
        assert_eq!(
            CheckOrigin::from_flags::<&str>(&[]),
            Ok(CheckOrigin::SameHost)
        );
        assert_eq!(CheckOrigin::from_flags(&["*"]), Ok(CheckOrigin::Off));
        for bad in [
            "https://",
            "//",
            "https:/x",
            "//*.",
            "//a*b.com",
            "//host:99999",
            "//h/path",
        ] {
            let error = CheckOrigin::from_flags(&[bad]).unwrap_err();
            assert_eq!(error.0, bad);
            assert!(
                error.to_string().contains("scheme://host[:port]"),
                "{error}"
            );
        }
        assert_eq!(
            allow(&["https://app.example.com"]),
            CheckOrigin::AllowList(vec!["https://app.example.com".parse().unwrap()])
        );
    }

    #[test]
    fn off_allows_anything() {
        assert_eq!(
            CheckOrigin::Off.allows("https://evil.example", Some("x")),
            Ok(())
        );
        assert_eq!(CheckOrigin::Off.allows("null", None), Ok(()));
    }
}
