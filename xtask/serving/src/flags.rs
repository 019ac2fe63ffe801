//! The flags every `serve` command shares: where to listen and how long to drain.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::shutdown::DEFAULT_DRAIN_TIMEOUT;

/// `--bind ADDR` and `--drain-timeout SECONDS`, flattened into each binary's `serve`
/// (`#[command(flatten)]`); the port stays the binary's own flag, since what it
/// means differs (section 4 numbers its nodes from it).
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ServeFlags {
    /// Address to listen on. The default, 127.0.0.1, accepts this machine only;
    /// 0.0.0.0 (or [::]) accepts every interface: put a TLS-terminating proxy in
    /// front (see "Running it for real" in the README).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Seconds to wait, after SIGTERM or Ctrl-C, for open connections to finish
    /// before exiting anyway (fractions allowed: 0.5).
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub drain_timeout: Duration,
}

impl Default for ServeFlags {
    fn default() -> Self {
        ServeFlags {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }
}

impl ServeFlags {
    /// The address to listen on for `port` (0 lets the system pick a free one).
    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.bind, port)
    }
}

/// `--allowed-origin ORIGIN` (repeatable), flattened into the `serve` of each binary
/// with WebSocket endpoints: which web pages besides the server's own may open a
/// socket. The endpoint's check (`channels::CheckOrigin::from_flags`) reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct OriginFlags {
    /// A web page origin that may open a WebSocket here (repeat for more):
    /// `https://app.example.com`, `//*.example.com` for every subdomain and scheme,
    /// or `*` alone for any page. Without one, only pages served by this host may
    /// (the `Host` header); clients that send no `Origin` (not a browser) always may.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
}

/// `"10"` or `"0.5"` -> a duration, refusing what is negative, not a number or absurd.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{text:?} is not a duration in seconds (0 or more)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        flags: ServeFlags,
    }

    #[test]
    fn defaults_listen_on_loopback_and_drain_for_ten_seconds() {
        let cli = Cli::try_parse_from(["serve"]).unwrap();
        assert_eq!(cli.flags, ServeFlags::default());
        assert_eq!(cli.flags.addr(4000).to_string(), "127.0.0.1:4000");
    }

    #[test]
    fn bind_and_drain_timeout_are_parsed() {
        let cli =
            Cli::try_parse_from(["serve", "--bind", "0.0.0.0", "--drain-timeout", "0.5"]).unwrap();
        assert_eq!(cli.flags.addr(0).to_string(), "0.0.0.0:0");
        assert_eq!(cli.flags.drain_timeout, Duration::from_millis(500));
        assert!(Cli::try_parse_from(["serve", "--drain-timeout", "-1"]).is_err());
        assert!(Cli::try_parse_from(["serve", "--bind", "localhost"]).is_err());
    }

    #[derive(Parser)]
    struct SocketCli {
        #[command(flatten)]
        origins: OriginFlags,
    }

    #[test]
    fn allowed_origins_repeat_and_default_to_none() {
        let none = SocketCli::try_parse_from(["serve"]).unwrap();
        assert_eq!(none.origins, OriginFlags::default());
        let two = SocketCli::try_parse_from([
            "serve",
            "--allowed-origin",
            "https://app.example.com",
            "--allowed-origin",
            "//*.example.com",
        ])
        .unwrap();
        assert_eq!(
            two.origins.allowed_origins,
            ["https://app.example.com", "//*.example.com"]
        );
    }
}
