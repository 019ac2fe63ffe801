//! Regenerates the measured figures of section 2's walkthroughs, between their
//! `experiment:part1` and `experiment:part2` markers (the prose around the blocks
//! quotes no figure of its own):
//!
//! - part 1 (`solutions/section2/part1.md`): slow vs parallel replies over a real
//!   WebSocket, broadcast fan-out against a raw `tokio::sync::broadcast`, the
//!   server's memory per idle joined connection (ours with two read buffers, and the
//!   scale lab's raw tokio-tungstenite server), and where that memory goes (the live
//!   heap by allocation size, counted by [`crate::heap`]);
//! - part 2 (`solutions/section2/part2.md`): what signing, verifying and deriving a
//!   token's key cost, next to the bare HMAC.
//!
//! Loopback only, bounded: 2,000 idle connections at most (the 19,000 of the results
//! page are `cargo xtask bench`'s), each step under a timeout, every server child
//! killed when its measurement ends. About a minute for part 1, seconds for part 2.
//!
//! `cargo run -p scale-lab --release -- experiment part1` (or `part2`)

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use figures::machine::{self, Machine};
use figures::walkthrough;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use activity::ActivityStore;
use channels::SocketConfig;
use channels::client::ChannelClient;
use channels::outbox::{Outbox, OutboxReceiver};
use channels::pubsub::{Broadcast, FastLane, LocalPubSub, PubSub, Subscriber, Subscription};
use channels::token::{DEFAULT_MAX_AGE_SECS, KEY_ITERATIONS, TokenSigner};
use channels::{Frame, Payload, payload};
use section2_reference::App;

use crate::heap::{self, PerConnection, Snapshot};
use crate::lab::{IdleMeasurement, WsFlags, measure_idle_server, open_joined, rss_kib};
use crate::scale::SERVE_ARGS;

/// Idle connections each memory measurement opens (a walkthrough's run; the results
/// page's 19,000 are `cargo xtask bench`'s).
pub const CONNECTIONS: usize = 2_000;

/// Which walkthrough to regenerate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// `solutions/section2/part1.md`: replies, fan-out, memory per connection.
    Part1,
    /// `solutions/section2/part2.md`: token costs.
    Part2,
}

impl Part {
    /// The block's name, `part1` or `part2` (its markers are `experiment:<name>:...`).
    pub fn name(self) -> &'static str {
        match self {
            Part::Part1 => "part1",
            Part::Part2 => "part2",
        }
    }

    /// The command that regenerates it.
    pub fn command(self) -> String {
        format!(
            "cargo run -p scale-lab --release -- experiment {}",
            self.name()
        )
    }
}

/// Runs `part`'s measurements and rewrites its walkthrough's block.
pub async fn run(part: Part) -> anyhow::Result<()> {
    let started = Instant::now();
    let machine = Machine::describe();
    let mut body = match part {
        Part::Part1 => part1().await?,
        Part::Part2 => part2()?,
    };
    let [load_at_end, ..] = machine::load_average();
    write!(
        body,
        "\nMachine: {machine}, {load_at_end:.2} at the end; the run took {:.0} s.",
        started.elapsed().as_secs_f64()
    )?;
    let path = walkthrough::path(&format!("section2/{}.md", part.name()));
    walkthrough::rewrite(&path, part.name(), &part.command(), &body)
        .with_context(|| format!("rewriting {}", path.display()))?;
    println!("{body}\n\nwrote {}", path.display());
    Ok(())
}

/// Part 1's block: replies, fan-out, memory.
async fn part1() -> anyhow::Result<String> {
    let reports = reply_times().await?;
    eprintln!("slow vs parallel: done");
    let fanout = [fan_out(1_000), fan_out(10_000)];
    eprintln!("fan-out: done");
    let exe = std::env::current_exe()?;
    let limit = Duration::from_secs(60);
    let mut idle = Vec::new();
    for (server, args, read_buffer) in [
        ("ours", &SERVE_ARGS[..], 4096),
        (
            "ours",
            &SERVE_ARGS[..],
            SocketConfig::default().read_buffer_size,
        ),
        ("raw", &["server", "--kind", "raw"][..], 1024),
    ] {
        let config = SocketConfig {
            read_buffer_size: read_buffer,
            ..SocketConfig::default()
        };
        let measured = tokio::time::timeout(
            limit,
            measure_idle_server(&exe, args, &config, CONNECTIONS, "ping"),
        )
        .await
        .with_context(|| format!("the idle measurement of {server} overran {limit:?}"))??;
        idle.push((server, measured));
        eprintln!("idle connections ({server}, {read_buffer} B): done");
    }
    let config = SocketConfig::default();
    let profile = tokio::time::timeout(limit, heap_profile(&exe, &config, CONNECTIONS))
        .await
        .context("the heap profile overran")??;
    eprintln!("heap profile: done");

    let mut block = String::new();
    writeln!(
        block,
        "**Slow vs parallel replies** (s2.e4's reference, a real WebSocket on loopback, 5 \
         requests sent at once, each report takes 1 s): when each reply arrived, in \
         seconds after the requests were sent.\n"
    )?;
    writeln!(block, "| event | replies after (s) |\n|---|---|")?;
    for (event, times) in &reports {
        let times: Vec<String> = times
            .iter()
            .map(|t| format!("{:.2}", t.as_secs_f64()))
            .collect();
        writeln!(block, "| `{event}` | {} |", times.join(", "))?;
    }
    writeln!(
        block,
        "\n**Broadcast fan-out** (one event to N subscribers and every queue drained, in \
         one process; `LocalPubSub` with one bounded outbox per subscriber against a raw \
         `tokio::sync::broadcast` carrying the same pre-encoded bytes; the best of 3 runs of \
         500 events):\n"
    )?;
    writeln!(
        block,
        "| subscribers | LocalPubSub | raw broadcast | ours / raw |\n|---|---|---|---|"
    )?;
    for (n, ours, raw) in &fanout {
        writeln!(
            block,
            "| {} | {:.0} µs ({:.0} ns each) | {:.0} µs ({:.0} ns each) | {:.2} |",
            thousands(*n as f64),
            micros(*ours),
            ours.as_nanos() as f64 / *n as f64,
            micros(*raw),
            raw.as_nanos() as f64 / *n as f64,
            ours.as_secs_f64() / raw.as_secs_f64()
        )?;
    }
    writeln!(
        block,
        "\n**Memory per idle joined connection** (a release server in its own process, \
         {} clients in another over loopback, each joined to `ping` and then idle; the \
         server's RSS from /proc with one connection and with all of them, after 3 s to \
         settle; the server logs at `warn`; 19,000 connections: `cargo xtask bench`):\n",
        thousands(CONNECTIONS as f64)
    )?;
    writeln!(
        block,
        "| server | read buffer | RSS, 1 connection | RSS, {} | **per connection** |\n\
         |---|---|---|---|---|",
        thousands((CONNECTIONS + 1) as f64)
    )?;
    for (server, m) in &idle {
        writeln!(block, "{}", idle_row(server, m))?;
    }
    let default_rss = idle
        .iter()
        .find(|(s, m)| *s == "ours" && m.read_buffer == config.read_buffer_size)
        .map(|(_, m)| m.per_connection_bytes());
    writeln!(
        block,
        "\n**Where the default's bytes go** (the same server with its allocations counted \
         by size, `heap-serve`, {} idle joined connections, {} B read buffer): \
         {} B of live heap per connection in {:.1} allocations, against {} B of RSS in \
         the same run{}. The allocations each connection added, largest share first:\n",
        thousands(CONNECTIONS as f64),
        thousands(config.read_buffer_size as f64),
        thousands(profile.heap.bytes),
        profile.heap.allocs,
        thousands(profile.rss_per_connection),
        default_rss.map_or(String::new(), |b| format!(
            " ({} B without the counting, above)",
            thousands(b)
        ))
    )?;
    writeln!(
        block,
        "| allocation size | per connection | bytes per connection |\n|---:|---:|---:|"
    )?;
    let mut listed = 0.0;
    for (size, per) in profile.heap.by_size.iter().take(16) {
        let bytes = *size as f64 * per;
        listed += bytes;
        writeln!(
            block,
            "| {} B | {per:.2} | {} |",
            thousands(*size as f64),
            thousands(bytes)
        )?;
    }
    writeln!(
        block,
        "| all other sizes (of which {} B in allocations over 4 KiB) | | {} |",
        thousands(profile.heap.larger_bytes),
        thousands(profile.heap.bytes - listed)
    )?;
    Ok(block)
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// `9618` as `9,618`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < -0.5 { format!("-{out}") } else { out }
}

fn idle_row(server: &str, m: &IdleMeasurement) -> String {
    let name = match server {
        "raw" => "raw tokio-tungstenite (the lab's baseline: one task per connection)",
        _ if m.read_buffer == SocketConfig::default().read_buffer_size => "ours (default)",
        _ => "ours",
    };
    let per = m.per_connection_bytes();
    format!(
        "| {name} | {} B | {:.1} MiB | {:.1} MiB | **{} B ({:.1} KiB)** |",
        thousands(m.read_buffer as f64),
        m.baseline_kib as f64 / 1024.0,
        m.loaded_kib as f64 / 1024.0,
        thousands(per),
        per / 1024.0
    )
}

/// The reply times of 5 slow, then 5 parallel reports, over a real WebSocket.
async fn reply_times() -> anyhow::Result<Vec<(&'static str, Vec<Duration>)>> {
    let store = ActivityStore::open("sqlite::memory:").await?;
    let app = App::new("app@127.0.0.1", store);
    let server = app.serve(0).await?;
    let mut client = ChannelClient::connect(&server.socket_url("/socket", &[]))
        .await
        .context("connecting to the experiment's server")?;
    client.set_timeout(Duration::from_secs(30));
    client.join("reports", json!({})).await;
    let mut results = Vec::new();
    for event in ["slow_report", "parallel_report"] {
        let started = Instant::now();
        let mut refs = Vec::new();
        for i in 0..5 {
            refs.push(
                client
                    .push("reports", event, json!({"name": format!("r{i}")}))
                    .await,
            );
        }
        let mut times = Vec::new();
        for r in &refs {
            client.reply_to(r).await;
            times.push(started.elapsed());
        }
        results.push((event, times));
    }
    server.stop().await;
    Ok(results)
}

struct Connection(Outbox);

impl Subscriber for Connection {
    fn deliver(&self, broadcast: &Arc<Broadcast>) {
        self.0.send_text(broadcast.frame().clone());
    }

    // Like a joined channel: the pubsub queues into the outbox itself.
    fn fastlane(&self) -> Option<FastLane> {
        Some(FastLane {
            outbox: self.0.clone(),
            intercepts: &[],
        })
    }
}

/// Time per event to `n` subscribers, the best of 3 runs: ours, then the raw baseline.
fn fan_out(n: usize) -> (usize, Duration, Duration) {
    let event: Payload = payload(json!({"id": 1042, "what": "checkout", "customer_tier": "gold"}));
    let pubsub: Arc<dyn PubSub> = Arc::new(LocalPubSub::new());
    let mut queues: Vec<OutboxReceiver> = Vec::new();
    let mut subscriptions = Vec::new();
    for _ in 0..n {
        let (outbox, rx) = Outbox::new(16);
        queues.push(rx);
        subscriptions.push(Subscription::new(
            pubsub.clone(),
            "feed",
            Arc::new(Connection(outbox)),
        ));
    }
    let ours = best_of_3(|| {
        pubsub.broadcast(Broadcast::new("feed", "activity.created", event.clone()));
        for q in &queues {
            std::hint::black_box(q.try_recv().expect("delivered"));
        }
    });
    let (tx, _) = tokio::sync::broadcast::channel::<axum::extract::ws::Utf8Bytes>(16);
    let mut receivers: Vec<_> = (0..n).map(|_| tx.subscribe()).collect();
    let raw = best_of_3(|| {
        let frame = Frame::broadcast(
            "feed",
            "activity.created",
            serde_json::Value::Object(event.clone()),
        );
        tx.send(frame.encode().into()).expect("receivers exist");
        for r in &mut receivers {
            std::hint::black_box(r.try_recv().expect("delivered"));
        }
    });
    drop(subscriptions);
    (n, ours, raw)
}

/// Time per round: 50 rounds of warm-up, then the fastest of 3 runs of 500 (other
/// builds on the same cores only ever make a run slower).
fn best_of_3(mut round: impl FnMut()) -> Duration {
    for _ in 0..50 {
        round();
    }
    let rounds = 500;
    (0..3)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..rounds {
                round();
            }
            started.elapsed() / rounds
        })
        .min()
        .expect("three runs")
}

/// The heap one idle joined connection keeps, counted by the server's allocator.
struct HeapProfile {
    heap: PerConnection,
    rss_per_connection: f64,
}

/// Starts this binary's `heap-serve` (the reference app, allocations counted), opens
/// `n` idle joined connections, and compares its heap snapshots before and after.
async fn heap_profile(exe: &Path, config: &SocketConfig, n: usize) -> anyhow::Result<HeapProfile> {
    crate::lab::raise_open_files_limit(n as u64 + 256);
    let mut child = tokio::process::Command::new(exe)
        .arg("heap-serve")
        .args(&SERVE_ARGS[1..])
        .args(WsFlags::from_config(config).to_args())
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting heap-serve")?;
    let pid = child.id().context("heap-serve has a pid")?;
    let mut stdin = child.stdin.take().context("heap-serve's stdin")?;
    let mut lines = BufReader::new(child.stdout.take().context("heap-serve's stdout")?).lines();
    let addr: std::net::SocketAddr = loop {
        let line = lines
            .next_line()
            .await?
            .context("heap-serve ended before printing its address")?;
        if let Some(rest) = line.split("http://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap_or_default();
            break addr
                .parse()
                .with_context(|| format!("the address in {line:?}"))?;
        }
    };
    let url = format!("ws://{addr}/socket/websocket?vsn=2.0.0");
    let warm = open_joined(addr, &url, 0, "ping", None).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (before, rss_before) = snapshot(&mut stdin, &mut lines, pid).await?;
    let mut clients = Vec::with_capacity(n);
    while clients.len() < n {
        let first = clients.len() + 1;
        let batch = 100.min(n - clients.len());
        let opened = futures::future::try_join_all(
            (first..first + batch).map(|i| open_joined(addr, &url, i, "ping", None)),
        )
        .await?;
        clients.extend(opened);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (after, rss_after) = snapshot(&mut stdin, &mut lines, pid).await?;
    drop(clients);
    drop(warm);
    child.kill().await.ok();
    Ok(HeapProfile {
        heap: heap::per_connection(&before, &after, n),
        rss_per_connection: rss_after.saturating_sub(rss_before) as f64 * 1024.0 / n as f64,
    })
}

/// Asks `heap-serve` for its heap snapshot; returns it with the child's RSS in KiB.
async fn snapshot(
    stdin: &mut tokio::process::ChildStdin,
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    pid: u32,
) -> anyhow::Result<(Snapshot, u64)> {
    stdin.write_all(b"heap\n").await?;
    stdin.flush().await?;
    loop {
        let line = lines.next_line().await?.context("heap-serve ended")?;
        if let Some(json) = line.strip_prefix("heap ") {
            let snapshot = serde_json::from_str(json)
                .with_context(|| format!("heap-serve's answer {json:?}"))?;
            return Ok((snapshot, rss_kib(pid)?));
        }
    }
}

/// Part 2's block: what a token costs.
fn part2() -> anyhow::Result<String> {
    let costs = token_costs()?;
    eprintln!("token costs: done");
    let mut block = String::new();
    writeln!(
        block,
        "**What a token costs** (`channels::token`, the signer the endpoint uses; each \
         operation timed in {ROUNDS} rounds of many calls, in one process, nothing on the \
         network; other builds on the same cores only ever make a round slower, so the \
         fastest round is the figure and the median shows the noise):\n"
    )?;
    writeln!(
        block,
        "| operation | time per call, fastest round | median round |\n|---|---:|---:|"
    )?;
    let rows = [
        (
            "raw HMAC-SHA256 of the signed part (the baseline)",
            &costs.hmac,
        ),
        ("`sign_at` (JSON, base64, HMAC)", &costs.sign),
        (
            "`verify_at` (decode, constant-time check, JSON, expiry rules)",
            &costs.verify,
        ),
    ];
    for (what, times) in rows {
        writeln!(
            block,
            "| {what} | {} | {} |",
            duration(fastest(times)),
            duration(median(times))
        )?;
    }
    writeln!(
        block,
        "| `TokenSigner::new` (PBKDF2, {KEY_ITERATIONS} rounds) | {} | {} |",
        duration(fastest(&costs.derive)),
        duration(median(&costs.derive))
    )?;
    let verify = fastest(&costs.verify);
    writeln!(
        block,
        "\nRatios of the fastest rounds: `verify_at` costs **{:.1}** raw HMACs; deriving the \
         key costs **{:.0}** verifications.",
        verify / fastest(&costs.hmac),
        fastest(&costs.derive) / verify
    )?;
    Ok(block)
}

/// Seconds per call of each operation, one entry per round.
struct TokenCosts {
    hmac: Vec<f64>,
    sign: Vec<f64>,
    verify: Vec<f64>,
    derive: Vec<f64>,
}

/// Rounds of each token operation.
const ROUNDS: usize = 11;

const SECRET: &str = "a-course-secret-key-base-that-is-long-enough-for-benches";
const T0: i64 = 1_767_603_600_000;

/// The operations of `cargo bench -p channels --bench token`, timed in plain loops.
fn token_costs() -> anyhow::Result<TokenCosts> {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    use std::hint::black_box;

    let signer = TokenSigner::new(SECRET, "user socket")?;
    let token = signer.sign_at(&42u64, T0, DEFAULT_MAX_AGE_SECS)?;
    let signed = token
        .rsplit_once('.')
        .context("a signed token")?
        .0
        .to_owned();
    let key = [7u8; 32];
    let raw_hmac = |bytes: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
        mac.update(bytes);
        mac.finalize().into_bytes()
    };
    let mut costs = TokenCosts {
        hmac: Vec::new(),
        sign: Vec::new(),
        verify: Vec::new(),
        derive: Vec::new(),
    };
    for _ in 0..ROUNDS {
        costs.hmac.push(per_call(50_000, || {
            black_box(raw_hmac(black_box(signed.as_bytes())));
        }));
        costs.sign.push(per_call(50_000, || {
            black_box(signer.sign_at(black_box(&42u64), T0, DEFAULT_MAX_AGE_SECS)).ok();
        }));
        costs.verify.push(per_call(50_000, || {
            black_box(signer.verify_at::<u64>(black_box(Some(&token)), T0, None)).ok();
        }));
        costs.derive.push(per_call(500, || {
            black_box(TokenSigner::new(black_box(SECRET), "user socket")).ok();
        }));
    }
    Ok(costs)
}

/// Seconds per call of `f`, over `n` calls.
fn per_call(n: u32, mut f: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..n {
        f();
    }
    started.elapsed().as_secs_f64() / f64::from(n)
}

fn median(times: &[f64]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn fastest(times: &[f64]) -> f64 {
    times.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Seconds as `215 ns` or `119.3 µs`.
fn duration(secs: f64) -> String {
    if secs < 1e-6 {
        format!("{:.0} ns", secs * 1e9)
    } else {
        format!("{:.1} µs", secs * 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_a_person_writes_them() {
        assert_eq!(thousands(9618.4), "9,618");
        assert_eq!(thousands(612.0), "612");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(thousands(-2048.0), "-2,048");
        assert_eq!(duration(215e-9), "215 ns");
        assert_eq!(duration(119.315e-6), "119.3 µs");
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(fastest(&[3.0, 1.0, 2.0]), 1.0);
    }
}
