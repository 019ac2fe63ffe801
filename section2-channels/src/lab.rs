//! The memory lab: what does one idle, joined connection cost the server?
//!
//! `measure-idle` starts the server as a child process (the release build of this
//! binary, `serve --solution`), reads its resident set size from
//! `/proc/<pid>/status`, opens N WebSocket connections from this process over
//! loopback, joins one topic on each, waits for the server to settle, and reads the
//! RSS again. The difference divided by N is the cost of one idle joined
//! connection, everything included: the TCP stream, the WebSocket buffers, the
//! socket and writer tasks, the outbox, the channel task and its mailbox, the pubsub
//! entry.
//!
//! Linux only (it reads /proc). Every connection uses a file descriptor on each
//! side; keep N below the process limit (`ulimit -n`).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

/// Resident set size of `pid`, in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS line")?;
    line.split_whitespace()
        .nth(1)
        .context("no VmRSS value")?
        .parse()
        .context("VmRSS is not a number")
}

/// What [`measure_idle`] found.
#[derive(Debug, Clone, Copy)]
pub struct IdleMeasurement {
    /// Idle joined connections opened (besides the warm-up one).
    pub connections: usize,
    /// The server's read buffer per connection, in bytes.
    pub read_buffer: usize,
    /// Server RSS with one connection, KiB.
    pub baseline_kib: u64,
    /// Server RSS with all of them, KiB.
    pub loaded_kib: u64,
    /// How long opening and joining took, seconds.
    pub opening_secs: f64,
}

impl IdleMeasurement {
    /// Bytes per idle joined connection above the baseline.
    pub fn per_connection_bytes(&self) -> f64 {
        self.loaded_kib.saturating_sub(self.baseline_kib) as f64 * 1024.0 / self.connections as f64
    }
}

/// Runs the measurement with `connections` idle clients joined to `topic`.
pub async fn measure_idle(
    connections: usize,
    topic: &str,
    read_buffer: usize,
) -> anyhow::Result<IdleMeasurement> {
    let exe = std::env::current_exe()?;
    let mut server = tokio::process::Command::new(exe)
        .args([
            "serve",
            "--solution",
            "--port",
            "0",
            "--database",
            "sqlite::memory:",
            "--seed",
            "0",
            "--read-buffer",
        ])
        .arg(read_buffer.to_string())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the server")?;
    let pid = server.id().context("the server has a pid")?;
    let mut lines = BufReader::new(server.stdout.take().context("stdout")?).lines();
    let first = lines
        .next_line()
        .await?
        .context("the server printed nothing")?;
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .with_context(|| format!("no address in {first:?}"))?
        .to_owned();
    let url = format!("ws://{addr}/socket/websocket?vsn=2.0.0");

    // One connection first, so the runtime, the router and the page are warm.
    let warm = open_joined(&url, topic).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = rss_kib(pid)?;

    let started = Instant::now();
    let mut clients = Vec::with_capacity(connections);
    let batch = 100;
    while clients.len() < connections {
        let n = batch.min(connections - clients.len());
        let opened =
            futures::future::try_join_all((0..n).map(|_| open_joined(&url, topic))).await?;
        clients.extend(opened);
        if clients.len() % 2000 == 0 {
            eprintln!("{} connections joined", clients.len());
        }
    }
    let opening = started.elapsed();
    // Let allocations settle (the writer tasks park, buffers shrink to steady state).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let loaded = rss_kib(pid)?;
    drop(clients);
    drop(warm);
    server.kill().await.ok();
    Ok(IdleMeasurement {
        connections,
        read_buffer,
        baseline_kib: baseline,
        loaded_kib: loaded,
        opening_secs: opening.as_secs_f64(),
    })
}

/// Prints a measurement for a person.
pub fn print(m: &IdleMeasurement, topic: &str) {
    println!(
        "server RSS: {} KiB with 1 connection, {} KiB with {} joined to {topic:?} (opened in {:.1} s)",
        m.baseline_kib,
        m.loaded_kib,
        m.connections + 1,
        m.opening_secs
    );
    println!("server read buffer per connection: {} bytes", m.read_buffer);
    let per = m.per_connection_bytes();
    println!(
        "per idle joined connection: {per:.0} bytes ({:.2} KiB) above the baseline",
        per / 1024.0
    );
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_joined(url: &str, topic: &str) -> anyhow::Result<Ws> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .context("connecting")?;
    ws.send(Message::text(format!(
        r#"["1","1","{topic}","phx_join",{{}}]"#
    )))
    .await?;
    match ws.next().await {
        Some(Ok(Message::Text(reply))) if reply.contains(r#""status":"ok""#) => Ok(ws),
        other => bail!("join of {topic} failed: {other:?}"),
    }
}
