//! Hardening: the real server, in its own process, under churn and a slow consumer.
//!
//! The server is this crate's binary (`serve`: section 2's reference app) started as a
//! child process, as the memory lab does (`scale_lab::lab`), so its resident set size
//! (`/proc/<pid>/status`) and its open descriptors (`/proc/<pid>/fd`) are its own and
//! not mixed with the test's clients.
//!
//! Short versions run in `cargo test` (and so in `cargo xtask verify`); the long ones
//! run with `HARDENING=long`:
//!
//! ```text
//! HARDENING=long cargo test -p scale-lab --release --test hardening -- --nocapture
//! ```
//!
//! Linux only (it reads /proc); elsewhere each test prints a skip line.
//!
//! What each test saw goes to `target/figures/hardening-churn.json` and
//! `hardening-slow-consumer.json`, for the results page (`cargo xtask bench`).

use std::process::Stdio;
use std::time::Duration;

use figures::section2::{ChurnHardening, SlowConsumerHardening};
use futures::{SinkExt, StreamExt};
use scale_lab::lab::{raise_open_files_limit, rss_kib};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `HARDENING=long` selects the long versions (for `cargo xtask bench`).
fn long() -> bool {
    std::env::var("HARDENING").is_ok_and(|v| v == "long")
}

fn linux() -> bool {
    if std::path::Path::new("/proc/self/status").exists() {
        true
    } else {
        eprintln!("skipped: this test reads /proc (Linux only)");
        false
    }
}

/// The server in a child process, its address (its first stdout line), and its log
/// lines (stderr, where the serving binaries log: the test reads close reasons there).
struct ChildServer {
    child: Child,
    pid: u32,
    url: String,
    lines: mpsc::UnboundedReceiver<String>,
}

impl ChildServer {
    async fn start(extra: &[&str]) -> ChildServer {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_scale-lab"))
            .args([
                "serve",
                "--port",
                "0",
                "--database",
                "sqlite::memory:",
                "--seed",
                "0",
            ])
            .args(extra)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        let pid = child.id().expect("the server has a pid");
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut log = BufReader::new(child.stderr.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), out.next_line())
            .await
            .expect("the server printed its address within 20 s")
            .unwrap()
            .expect("the server printed a line");
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in the server's first line {first:?}"))
            .to_owned();
        let (tx, lines) = mpsc::unbounded_channel();
        let log_tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = out.next_line().await {
                if tx.send(strip_ansi(&line)).is_err() {
                    break;
                }
            }
        });
        tokio::spawn(async move {
            while let Ok(Some(line)) = log.next_line().await {
                if log_tx.send(strip_ansi(&line)).is_err() {
                    break;
                }
            }
        });
        ChildServer {
            child,
            pid,
            url: format!("ws://{addr}/socket/websocket?vsn=2.0.0"),
            lines,
        }
    }

    fn rss_kib(&self) -> u64 {
        rss_kib(self.pid).expect("the server's RSS is readable")
    }

    /// Open descriptors of the server: one per live connection, plus a fixed few
    /// (the listener, the runtime's epoll and eventfd, stdio, the database).
    fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }

    /// Waits until the server holds at most `fds` descriptors; returns what it holds.
    async fn settle_fds(&self, fds: usize, within: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let now = self.open_fds();
            if now <= fds || tokio::time::Instant::now() >= deadline {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(mut self) {
        self.child.kill().await.ok();
    }
}

/// The line without terminal colour codes (`ESC [ ... m`), whatever the logger did.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

async fn open_joined(url: &str, topic: &str) -> Ws {
    // Small client buffers: the clients live in the test's process.
    let config = WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .expect("the server accepts the connection");
    ws.send(Message::text(format!(
        r#"["1","1","{topic}","phx_join",{{}}]"#
    )))
    .await
    .unwrap();
    match ws.next().await {
        Some(Ok(Message::Text(reply))) if reply.contains(r#""status":"ok""#) => ws,
        other => panic!("joining {topic} failed: {other:?}"),
    }
}

/// Opens `n` joined connections (100 at a time), then closes them all.
async fn churn_round(url: &str, n: usize) {
    let mut clients = Vec::with_capacity(n);
    while clients.len() < n {
        let batch = 100.min(n - clients.len());
        let opened = futures::future::join_all((0..batch).map(|_| open_joined(url, "ping"))).await;
        clients.extend(opened);
    }
    // Half close politely, half just vanish (the TCP connection drops).
    let (polite, _abrupt) = clients.split_at_mut(n / 2);
    futures::future::join_all(polite.iter_mut().map(|ws| ws.close(None))).await;
    drop(clients);
}

// Allocator noise: glibc's malloc keeps freed memory in per-thread arenas and returns
// it to the kernel in its own time, so RSS after a round moves by a few hundred KiB
// either way even when nothing is kept. 2 MiB absolute slack covers that; a leak of
// even 1 KiB per connection (2 MiB per 2,000) per round would still fail by the third
// round on top of the 5%.
const SLACK_KIB: u64 = 2 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_returns_memory_and_descriptors() {
    if !linux() {
        return;
    }
    let (connections, rounds) = if long() { (10_000, 10) } else { (2_000, 3) };
    let limit = raise_open_files_limit(connections as u64 + 512);
    assert!(
        limit >= connections as u64 + 512,
        "{connections} connections need {} open files, the limit is {limit}",
        connections + 512
    );
    let server = ChildServer::start(&[]).await;
    let idle_fds = server.open_fds();

    // Warm-up round: the runtime's worker threads, the allocator's arenas and the
    // pubsub's map grow to their working size once; the baseline is taken after it.
    churn_round(&server.url, connections).await;
    let fds = server.settle_fds(idle_fds, Duration::from_secs(20)).await;
    assert_eq!(
        fds,
        idle_fds,
        "after the warm-up round the server still holds {} descriptors more than idle: \
         connections are left open",
        fds - idle_fds
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = server.rss_kib();
    eprintln!("churn: idle fds {idle_fds}, baseline RSS {baseline} KiB after warm-up");
    let bound = baseline + baseline / 20 + SLACK_KIB;
    let mut seen = ChurnHardening {
        connections,
        idle_fds,
        baseline_rss_kib: baseline,
        bound_rss_kib: bound,
        rounds_rss_kib: Vec::new(),
    };

    for round in 1..=rounds {
        churn_round(&server.url, connections).await;
        let fds = server.settle_fds(idle_fds, Duration::from_secs(20)).await;
        assert_eq!(
            fds,
            idle_fds,
            "round {round}: {} connections still open 20 s after every client left; \
             each closed client's socket task must end and drop its stream",
            fds - idle_fds
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss = server.rss_kib();
        eprintln!(
            "churn round {round}: {connections} opened and closed, RSS {rss} KiB \
             (baseline {baseline}, bound {bound})"
        );
        // Rewritten after every round, before its check, so a failing run still
        // shows the rounds it saw.
        seen.rounds_rss_kib.push(rss);
        figures::write(&seen, None).expect("write what the test saw to its figures file");
        assert!(
            rss <= bound,
            "round {round}: server RSS {rss} KiB after {connections} connections came and \
             went, above its baseline {baseline} KiB + 5% + {SLACK_KIB} KiB: something \
             per connection outlives it (a map entry, a task, a buffer)"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_disconnected_and_rss_stays_flat() {
    if !linux() {
        return;
    }
    // Each ping echoes a 16 KiB phrase; the client sends them and never reads.
    let pings = if long() { 20_000 } else { 3_000 };
    let phrase = "o".repeat(16 * 1024);
    let mut server = ChildServer::start(&[]).await;
    let mut reader = open_joined(&server.url, "ping").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.rss_kib();
    let idle_fds = server.open_fds();

    let mut stuck = open_joined(&server.url, "ping").await;
    let mut peak = before;
    let mut sent = 0;
    // Send until the server gives up on the client (its log says why), at most
    // `pings` frames and 25 s: a loaded machine drains the pings slowly.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
    let mut reason = None;
    while reason.is_none() && tokio::time::Instant::now() < deadline {
        while let Ok(line) = server.lines.try_recv() {
            if line.contains("connection closed") {
                reason = Some(line);
            }
        }
        if sent < pings {
            let frame = format!(r#"["1","{sent}","ping","ping",{{"ack_phrase":"{phrase}"}}]"#);
            let sending =
                tokio::time::timeout(Duration::from_secs(1), stuck.send(Message::text(frame)));
            if let Ok(Ok(())) = sending.await {
                sent += 1;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if sent % 100 == 0 {
            peak = peak.max(server.rss_kib());
        }
    }
    let reason = reason.unwrap_or_else(|| {
        panic!(
            "the client that never read ({sent} pings of 16 KiB sent) was not disconnected \
             within 25 s: once its socket takes nothing for the write timeout (10 s), the \
             server should close it with 1008"
        )
    });
    assert!(
        reason.contains("code=1008") && reason.contains("slow client: nothing read for 10s"),
        "expected a close with 1008 and the framework's reason, the server logged: {reason}"
    );
    let fds = server.settle_fds(idle_fds, Duration::from_secs(10)).await;
    assert_eq!(fds, idle_fds, "the stuck client's connection is still open");
    peak = peak.max(server.rss_kib());
    let sent_kib = sent as u64 * 16;
    // The outbox (256 frames of 16 KiB) plus one frame in the WebSocket plus what
    // tungstenite and the channel's mailbox hold: about 5 MiB; 24 MiB bounds it.
    let bound = before + 24 * 1024;
    eprintln!(
        "slow consumer: sent {sent} pings ({sent_kib} KiB of replies asked for), server RSS \
         {before} KiB before, peak {peak} KiB, bound {bound} KiB; {reason}"
    );
    // Written before the check, so a failing run still shows what it saw.
    let seen = SlowConsumerHardening {
        pings_sent: sent as u64,
        replies_asked_kib: sent_kib,
        rss_before_kib: before,
        rss_peak_kib: peak,
        rss_bound_kib: bound,
        close_log: reason.clone(),
    };
    figures::write(&seen, None).expect("write what the test saw to its figures file");
    assert!(
        peak <= bound,
        "server RSS peaked at {peak} KiB ({before} KiB before) while a client asked for \
         {sent_kib} KiB it never read: the outbox must stay bounded"
    );
    // The other client is still served.
    reader
        .send(Message::text(r#"["1","2","ping","ping",{}]"#))
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), reader.next())
        .await
        .expect("the reader is still answered")
        .unwrap()
        .unwrap();
    assert!(reply.to_string().contains("pong"), "{reply:?}");
    server.stop().await;
}
