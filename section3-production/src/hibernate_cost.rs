//! What hibernation gives back (s3.e10): the server's memory per idle joined
//! connection with hibernation off and on, and what the first message after
//! hibernation costs.
//!
//! Section 2's memory lab again ([`scale_lab::lab`]): a server in a process of its own
//! (this binary's hidden `hibernate-server` subcommand: section 2's reference
//! channels, hibernating through the reference hook, yours, or not at all), N clients
//! in this process over loopback, each joined to `ping`. The server's RSS is read
//! from /proc with one connection and again once every connection has been quiet for
//! the period (the server says how many are hibernating at `GET /hibernating`). Then
//! each client sends one ping, one client at a time, timed to its reply: the first
//! message after hibernation, which builds the WebSocket again; then a second ping
//! each, on the woken connections. Linux only. Two processes, because each side needs
//! a file descriptor per connection and a process may have 20,000 at most here.
//!
//! `cargo run -p section3-production --release -- hibernate-cost --connections 19000 --walkthrough`
//! regenerates the figures in `solutions/section3/part3.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use activity::ActivityStore;
use anyhow::{Context, bail};
use axum::routing::get;
use channels::hibernate::Hibernate;
use channels::{Endpoint, Server, SocketConfig};
use futures::{SinkExt, StreamExt};
use scale_lab::lab::{
    ServerChild, Ws, open_joined, open_joined_until, raise_open_files_limit, rss_kib,
};
use serving::{DEFAULT_DRAIN_TIMEOUT, Shutdown};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::conn_cost::{bytes, thousands};

/// The command that regenerates the walkthrough's figures for this build's
/// allocator ([`crate::allocator`]): each has its own block in the walkthrough.
pub const COMMAND: &str = if cfg!(feature = "jemalloc") {
    "cargo run -p section3-production --release --features jemalloc -- hibernate-cost --connections 19000 --walkthrough"
} else {
    "cargo run -p section3-production --release -- hibernate-cost --connections 19000 --walkthrough"
};
/// This allocator's generated block in the walkthrough.
pub const BLOCK: &str = if cfg!(feature = "jemalloc") {
    "hibernate-cost-jemalloc"
} else {
    "hibernate-cost"
};
/// The subcommand that serves channels, hibernating or not.
pub const SERVER_SUBCOMMAND: &str = "hibernate-server";
/// The topic every measured connection joins.
pub const TOPIC: &str = "ping";

/// Which hook the measured server hibernates through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Hook {
    /// Never hibernates (section 2's server as it is).
    Off,
    /// The reference's s3.e10.
    Reference,
    /// Yours (src/start/part3/e10_hibernate.rs).
    Yours,
}

impl Hook {
    fn hook(self) -> Option<Arc<dyn Hibernate>> {
        match self {
            Hook::Off => None,
            Hook::Reference => Some(Arc::new(
                crate::solution::part3::e10_hibernate::ReleaseWhenIdle,
            )),
            Hook::Yours => Some(Arc::new(
                crate::start::part3::e10_hibernate::ReleaseWhenIdle,
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Hook::Off => "off",
            Hook::Reference => "reference",
            Hook::Yours => "yours",
        }
    }
}

/// Serves section 2's reference channels at `/socket` on a free loopback port with
/// `config`, hibernating through `hook`, and `GET /hibernating` (how many connections
/// are hibernating now). Prints the address first, then serves until SIGTERM or Ctrl-C.
pub async fn serve(config: SocketConfig, hook: Hook) -> anyhow::Result<()> {
    let shutdown = Shutdown::on_signals(DEFAULT_DRAIN_TIMEOUT)?;
    let store = ActivityStore::open("sqlite::memory:").await?;
    let mut builder = Endpoint::builder(section2_reference::channels(store)).config(config);
    if let Some(hook) = hook.hook() {
        builder = builder.hibernation(hook);
    }
    let endpoint = builder.build();
    let hibernating = endpoint.clone();
    let app = endpoint.routes("/socket").route(
        "/hibernating",
        get(move || std::future::ready(hibernating.hibernating().to_string())),
    );
    let server = Server::bind(0, app).await?;
    println!("serving on http://{} (Ctrl-C to stop)", server.addr());
    shutdown.triggered().await;
    endpoint.shutdown();
    shutdown.drain("connections", server.shutdown()).await;
    Ok(())
}

/// Latencies, sorted.
#[derive(Debug, Clone, Default)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    /// The `q` quantile (0.5, 0.99, 1.0).
    pub fn quantile(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let at = ((self.0.len() as f64 * q).ceil() as usize).clamp(1, self.0.len()) - 1;
        self.0[at]
    }
}

/// One measured server.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The hook it ran.
    pub hook: Hook,
    /// Its hibernation period (`None`: off).
    pub period: Option<Duration>,
    /// Idle joined connections besides the warm-up one.
    pub connections: usize,
    /// How many were hibernating when the RSS was read.
    pub hibernating: usize,
    /// Server RSS with one connection, KiB.
    pub baseline_kib: u64,
    /// Server RSS with all of them, after the period, KiB.
    pub idle_kib: u64,
    /// Server RSS after every connection sent one message, KiB.
    pub woken_kib: u64,
    /// Opening and joining them all, seconds.
    pub opening_secs: f64,
    /// The first message of each connection after the period, to its reply.
    pub first: Latencies,
    /// The second message of each, right after.
    pub second: Latencies,
}

impl Measured {
    /// Server RSS per idle connection after the period, bytes.
    pub fn per_connection_bytes(&self) -> f64 {
        per_connection(self.baseline_kib, self.idle_kib, self.connections)
    }

    /// Server RSS per connection once every connection was woken, bytes.
    pub fn woken_per_connection_bytes(&self) -> f64 {
        per_connection(self.baseline_kib, self.woken_kib, self.connections)
    }
}

fn per_connection(baseline_kib: u64, kib: u64, connections: usize) -> f64 {
    kib.saturating_sub(baseline_kib) as f64 * 1024.0 / connections.max(1) as f64
}

/// Measures `hook` with `connections` idle joined connections, hibernating after
/// `period`; `program` is this crate's binary.
pub async fn measure(
    program: &Path,
    hook: Hook,
    period: Duration,
    connections: usize,
) -> anyhow::Result<Measured> {
    let wanted = connections as u64 + 256;
    let limit = raise_open_files_limit(wanted);
    if limit < wanted {
        bail!(
            "{connections} connections need {wanted} open files per process, the limit is \
             {limit}: raise it (`ulimit -n {wanted}`) or measure fewer connections"
        );
    }
    let config = SocketConfig {
        hibernate_after: (hook != Hook::Off).then_some(period),
        ..SocketConfig::default()
    };
    let period_ms = period.as_millis().to_string();
    let args = [
        SERVER_SUBCOMMAND,
        "--hook",
        hook.name(),
        "--hibernate-after-ms",
        &period_ms,
    ];
    let mut server = ServerChild::start(program, &args, &config).await?;
    let addr: std::net::SocketAddr = server
        .addr
        .parse()
        .with_context(|| format!("the server's address {:?}", server.addr))?;
    let url = server.ws_url();

    let warm = open_joined(addr, &url, 0, TOPIC, None).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline_kib = rss_kib(server.pid)?;

    let started = Instant::now();
    let mut clients: Vec<Ws> = Vec::with_capacity(connections);
    open_joined_until(addr, &url, &mut clients, connections, TOPIC, None).await?;
    let opening_secs = started.elapsed().as_secs_f64();
    // Every connection quiet for the period, then the same settling time as
    // section 2's idle scenario.
    tokio::time::sleep(period + Duration::from_secs(3)).await;
    let hibernating = hibernating(addr).await?;
    let idle_kib = rss_kib(server.pid)?;

    let mut first = Vec::with_capacity(connections);
    for (i, client) in clients.iter_mut().enumerate() {
        first.push(timed_ping(client, i, "2").await?);
    }
    let woken_kib = rss_kib(server.pid)?;
    let mut second = Vec::with_capacity(connections);
    for (i, client) in clients.iter_mut().enumerate() {
        second.push(timed_ping(client, i, "3").await?);
    }
    first.sort();
    second.sort();
    drop(clients);
    drop(warm);
    server.child.kill().await.ok();
    Ok(Measured {
        hook,
        period: (hook != Hook::Off).then_some(period),
        connections,
        hibernating,
        baseline_kib,
        idle_kib,
        woken_kib,
        opening_secs,
        first: Latencies(first),
        second: Latencies(second),
    })
}

/// One ping on `client`, timed from before the send to its reply.
async fn timed_ping(client: &mut Ws, i: usize, msg_ref: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    client
        .send(Message::text(format!(
            r#"["1","{msg_ref}","{TOPIC}","ping",{{}}]"#
        )))
        .await?;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), client.next()).await {
            Ok(Some(Ok(Message::Text(reply)))) if reply.contains(&format!(r#","{msg_ref}","#)) => {
                return Ok(started.elapsed());
            }
            Ok(Some(Ok(_))) => continue,
            other => bail!("client {i}: no reply to ping {msg_ref}: {other:?}"),
        }
    }
}

/// `GET /hibernating` of the server at `addr`.
async fn hibernating(addr: std::net::SocketAddr) -> anyhow::Result<usize> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /hibernating HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    response
        .rsplit("\r\n\r\n")
        .next()
        .and_then(|body| body.trim().parse().ok())
        .with_context(|| format!("GET /hibernating answered {response:?}"))
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// The walkthrough's block: the table of `measured`, the machine, the command.
pub fn report(measured: &[Measured], machine: &str) -> String {
    let mut out = String::new();
    let connections = measured.first().map_or(0, |m| m.connections);
    let _ = writeln!(
        out,
        "Measured with `{COMMAND}` on {machine}: a {} server in its own process \
         (section 2's reference channels, section 2's default settings: 1 KiB read \
         buffer; allocator: {}), {} clients in another over loopback, each joined to `{TOPIC}` and \
         then quiet for the period and 3 s more; the server's RSS read from /proc with \
         one connection and with all of them. Then one ping per connection, one \
         connection at a time, timed to its reply (the first message after the \
         period), and a second ping each.\n",
        if cfg!(debug_assertions) {
            "debug (not release!)"
        } else {
            "release"
        },
        crate::allocator::NAME,
        thousands(connections as u64)
    );
    let _ = writeln!(
        out,
        "| hibernation | hibernating after the period | RSS, 1 connection | RSS, {} idle | **per idle connection** | per connection once all woke | first message after the period, p50 / p99 | next message, p50 / p99 |",
        thousands(connections as u64 + 1)
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for m in measured {
        let per = m.per_connection_bytes();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | **{} B ({:.1} KiB)** | {} B | {} / {} | {} / {} |",
            match m.period {
                None => "off".to_owned(),
                Some(period) => format!("{} hook, after {period:?}", m.hook.name()),
            },
            thousands(m.hibernating as u64),
            bytes(m.baseline_kib * 1024),
            bytes(m.idle_kib * 1024),
            thousands(per.round() as u64),
            per / 1024.0,
            thousands(m.woken_per_connection_bytes().round() as u64),
            micros(m.first.quantile(0.5)),
            micros(m.first.quantile(0.99)),
            micros(m.second.quantile(0.5)),
            micros(m.second.quantile(0.99)),
        );
    }
    let Some(off) = measured.iter().find(|m| m.period.is_none()) else {
        return out;
    };
    let _ = writeln!(out);
    for on in measured.iter().filter(|m| m.period.is_some()) {
        let (a, b) = (off.per_connection_bytes(), on.per_connection_bytes());
        let given_back = if a - b >= 1.0 {
            format!(
                "gives back {} B of RSS per idle connection ({:.0}%)",
                thousands((a - b).round() as u64),
                (a - b) / a.max(1.0) * 100.0
            )
        } else {
            format!(
                "gives back no RSS ({} B per idle connection more than off: the freed \
                 blocks stay with the allocator)",
                thousands((b - a).round() as u64)
            )
        };
        let _ = writeln!(
            out,
            "- {} hook after {:?}: {given_back}; the first message after the period \
             answered in {} at p99 (hibernation off: {}).",
            on.hook.name(),
            on.period.unwrap_or_default(),
            micros(on.first.quantile(0.99)),
            micros(off.first.quantile(0.99)),
        );
    }
    out
}

/// Writes `generated` into this allocator's block of the walkthrough; returns its path.
pub fn write_walkthrough(generated: &str) -> anyhow::Result<PathBuf> {
    let path = figures::walkthrough::path("section3/part3.md");
    figures::walkthrough::rewrite(&path, BLOCK, COMMAND, generated)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(hook: Hook, period: Option<Duration>, idle_kib: u64) -> Measured {
        Measured {
            hook,
            period,
            connections: 1024,
            hibernating: if period.is_some() { 1025 } else { 0 },
            baseline_kib: 10_000,
            idle_kib,
            woken_kib: idle_kib,
            opening_secs: 1.0,
            first: Latencies(vec![Duration::from_micros(100)]),
            second: Latencies(vec![Duration::from_micros(90)]),
        }
    }

    #[test]
    fn the_report_says_what_each_period_gives_back_or_that_it_gave_nothing() {
        let off = measured(Hook::Off, None, 16_000); // 6,000 B per connection
        let short = measured(Hook::Reference, Some(Duration::from_millis(500)), 14_000);
        let long = measured(Hook::Reference, Some(Duration::from_secs(5)), 16_001);
        let report = report(&[off, short, long], "a test machine");
        assert!(
            report.contains("**6,000 B (5.9 KiB)**") && report.contains("**4,000 B (3.9 KiB)**"),
            "per idle connection is (idle - baseline) / connections:\n{report}"
        );
        assert!(
            report.contains("after 500ms: gives back 2,000 B of RSS per idle connection (33%)"),
            "{report}"
        );
        assert!(
            report.contains("after 5s: gives back no RSS (1 B per idle connection more than off"),
            "a period that freed nothing must say so, not print a negative share:\n{report}"
        );
        assert!(report.contains(crate::allocator::NAME), "{report}");
    }

    #[test]
    fn each_allocator_writes_its_own_block() {
        let (block, other) = if cfg!(feature = "jemalloc") {
            ("hibernate-cost-jemalloc", "hibernate-cost")
        } else {
            ("hibernate-cost", "hibernate-cost-jemalloc")
        };
        assert_eq!(BLOCK, block);
        assert!(COMMAND.contains("--features jemalloc") == cfg!(feature = "jemalloc"));
        let text = std::fs::read_to_string(figures::walkthrough::path("section3/part3.md"))
            .expect("the part 3 walkthrough");
        for name in [block, other] {
            assert!(
                text.contains(&figures::walkthrough::begin(name)),
                "solutions/section3/part3.md has no {name} block"
            );
        }
    }
}
