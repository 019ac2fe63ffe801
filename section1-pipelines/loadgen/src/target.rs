//! Where the load goes: a parsed `http://` URL, and the rule that it must be loopback.
//!
//! The course's generator can open thousands of connections and send tens of
//! thousands of requests a second. Pointed at someone else's host that is an
//! attack, not a measurement, so it refuses anything that is not this machine.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use anyhow::{Context, bail};

/// A load target: the socket address to connect to and the request to send.
#[derive(Clone, Debug)]
pub struct Target {
    /// The URL as the user wrote it (shown in reports).
    pub url: String,
    /// The resolved loopback address.
    pub addr: SocketAddr,
    /// The `Host` header value (`host:port` as written).
    pub authority: String,
    /// Path and query, e.g. `/part1/serial`.
    pub path: String,
}

impl Target {
    /// Parses `url` and checks it points at this machine.
    ///
    /// Only plain `http://` is supported (the course's servers do not speak TLS).
    /// `localhost` is resolved, and every address it resolves to must be loopback.
    pub async fn parse(url: &str) -> anyhow::Result<Target> {
        let uri: hyper::Uri = url
            .parse()
            .with_context(|| format!("`{url}` is not a valid URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => bail!("`{url}`: only http:// is supported, not {other}://"),
            None => bail!("`{url}`: write the full URL, e.g. http://127.0.0.1:4000/hello"),
        }
        let host = uri
            .host()
            .with_context(|| format!("`{url}` has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(80);
        let addr = resolve_loopback(host, port).await?;
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| addr.to_string());
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".to_string());
        Ok(Target {
            url: url.to_string(),
            addr,
            authority,
            path,
        })
    }

    /// The same origin with another path (how the `/stats` sampler finds the server).
    pub fn with_path(&self, path: &str) -> Target {
        Target {
            url: format!("http://{}{}", self.authority, path),
            addr: self.addr,
            authority: self.authority.clone(),
            path: path.to_string(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

async fn resolve_loopback(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        if !ip.is_loopback() {
            bail!(refusal(host));
        }
        return Ok(SocketAddr::new(ip, port));
    }
    if !host.eq_ignore_ascii_case("localhost") {
        // A name could resolve anywhere; only `localhost` is trusted to stay home.
        bail!(refusal(host));
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("cannot resolve {host}"))?
        .collect();
    if addrs.iter().any(|a| !a.ip().is_loopback()) {
        bail!(refusal(host));
    }
    // Prefer IPv4: the course's servers bind 127.0.0.1.
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .with_context(|| format!("{host} resolved to no address"))
}

fn refusal(host: &str) -> String {
    format!(
        "refusing to load `{host}`: this generator only targets this machine \
         (127.0.0.0/8, ::1 or localhost). Sending load to hosts you do not run is \
         a denial-of-service attack, not a measurement."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepts_loopback_and_keeps_the_path() {
        let target = Target::parse("http://127.0.0.1:4000/part1/serial?x=1")
            .await
            .unwrap();
        assert_eq!(target.addr, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(target.path, "/part1/serial?x=1");
        assert_eq!(target.authority, "127.0.0.1:4000");
        assert_eq!(target.with_path("/stats").path, "/stats");
        let bare = Target::parse("http://[::1]:8080").await.unwrap();
        assert_eq!(bare.path, "/");
        assert!(bare.addr.ip().is_loopback());
    }

    #[tokio::test]
    async fn refuses_other_hosts() {
        for url in [
            "http://10.0.0.1/",
            "http://example.com/",
            "https://127.0.0.1/",
        ] {
            let err = Target::parse(url).await.unwrap_err().to_string();
            assert!(
                err.contains("refusing") || err.contains("only http"),
                "{url}: {err}"
            );
        }
    }
}
