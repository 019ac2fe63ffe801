//! Scenario 2: one message to 10,000 subscribers of one topic, how long until the
//! last one has it.
//!
//! The server (the course's endpoint in a child process) has N connections joined to
//! one topic, all from this process. Each round arms the wait, writes `pub <seq>` to
//! the server's control pipe, and takes the time from just before that write to the
//! moment the last connection received the frame (both instants from this process's
//! monotonic clock). Rounds are sequential: one broadcast in flight at a time.

use std::time::{Duration, Instant};

use super::server::Kind;
use super::subscribers::{ServerChild, Subscribers};
use super::{ScenarioResult, quantile};
use crate::lab::WsFlags;

/// The scenario's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct BroadcastArgs {
    /// Subscribers joined to the topic.
    #[arg(long, default_value_t = 10_000)]
    pub subscribers: usize,
    /// Broadcasts measured (one at a time).
    #[arg(long, default_value_t = 1_000)]
    pub broadcasts: usize,
    /// Size of each message on the wire, in bytes.
    #[arg(long, default_value_t = 200)]
    pub size: usize,
    /// Also measure the two baselines with the same clients: the raw
    /// tokio-tungstenite server, and the floor (frame bytes written straight to each
    /// socket, no WebSocket library).
    #[arg(long)]
    pub with_raw: bool,
    /// Fewer subscribers and broadcasts (2,000 and 200), for a quick look.
    #[arg(long)]
    pub quick: bool,
    /// Print the result as one JSON line last.
    #[arg(long)]
    pub json: bool,
    /// The WebSocket settings of both servers (the endpoint's defaults).
    #[command(flatten)]
    pub ws: WsFlags,
}

/// Latencies of one server kind, milliseconds, sorted.
struct Latencies {
    sorted: Vec<f64>,
    lost: usize,
    server_cpu_secs: f64,
    client_cpu_secs: f64,
    wall_secs: f64,
    /// Broadcasts sent in the measured part (delivered or not).
    rounds: usize,
}

impl Latencies {
    /// One line for a baseline: the percentiles and where the server's CPU went.
    fn summary(&self) -> String {
        format!(
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, server {:.2} cores, {:.1} ms of CPU \
             per broadcast",
            quantile(&self.sorted, 0.5),
            quantile(&self.sorted, 0.99),
            self.sorted.last().copied().unwrap_or(0.0),
            self.server_cpu_secs / self.wall_secs,
            self.server_cpu_secs * 1e3 / self.rounds.max(1) as f64
        )
    }
}

/// Runs the scenario and prints its result.
pub async fn run(args: BroadcastArgs) -> anyhow::Result<()> {
    let (subscribers, broadcasts) = if args.quick {
        (args.subscribers.min(2_000), args.broadcasts.min(200))
    } else {
        (args.subscribers, args.broadcasts)
    };
    crate::lab::raise_open_files_limit(subscribers as u64 + 512);
    let ws = args.ws.clone();
    let ours = measure(Kind::Ours, &ws, subscribers, broadcasts, args.size).await?;
    let (raw, floor) = if args.with_raw {
        (
            Some(measure(Kind::Raw, &ws, subscribers, broadcasts, args.size).await?),
            Some(measure(Kind::Floor, &ws, subscribers, broadcasts, args.size).await?),
        )
    } else {
        (None, None)
    };

    let mut result = ScenarioResult::new("broadcast");
    result
        .param("subscribers", subscribers)
        .param("broadcasts", broadcasts)
        .param("message_bytes", args.size)
        .param("write_buffer_bytes", args.ws.write_buffer)
        .param("server", "reference endpoint (ping channel), child process");
    let figures = |l: &Latencies| {
        [
            ("p50_ms", quantile(&l.sorted, 0.5)),
            ("p99_ms", quantile(&l.sorted, 0.99)),
            ("max_ms", l.sorted.last().copied().unwrap_or(0.0)),
            ("lost_broadcasts", l.lost as f64),
            ("server_cpu_cores", l.server_cpu_secs / l.wall_secs),
            // Server CPU per broadcast: what other load on the cores changes least.
            (
                "server_cpu_ms_per_broadcast",
                l.server_cpu_secs * 1e3 / l.rounds.max(1) as f64,
            ),
            ("client_cpu_cores", l.client_cpu_secs / l.wall_secs),
        ]
    };
    for (name, value) in figures(&ours) {
        result.figure(name, value);
    }
    println!(
        "broadcast to {subscribers} subscribers, {} broadcasts of {} B: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} not delivered to all within 5 s)",
        ours.sorted.len(),
        args.size,
        quantile(&ours.sorted, 0.5),
        quantile(&ours.sorted, 0.99),
        ours.sorted.last().copied().unwrap_or(0.0),
        ours.lost
    );
    println!(
        "cpu: server {:.2} cores, clients {:.2} cores (of {}); server {:.1} ms of CPU per broadcast",
        ours.server_cpu_secs / ours.wall_secs,
        ours.client_cpu_secs / ours.wall_secs,
        result.machine.cores,
        ours.server_cpu_secs * 1e3 / ours.rounds.max(1) as f64
    );
    if let Some(raw) = &raw {
        result.baseline = Some(
            figures(raw)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        );
        println!("raw tokio-tungstenite: {}", raw.summary());
    }
    if let Some(floor) = &floor {
        // Not a baseline to match: the cost of the system calls alone, below which
        // no WebSocket server on these cores can go.
        for (name, value) in figures(floor) {
            result.figure(&format!("floor_{name}"), value);
        }
        println!(
            "floor (frame bytes written straight to each socket): {}",
            floor.summary()
        );
        result.notes.push(
            "floor = no WebSocket library: the publisher writes the pre-encoded frame's \
             bytes to every socket itself, one write each, no task woken; the same \
             clients parse them"
                .into(),
        );
    }
    // The latency distribution as a chart: percentile -> ms.
    result.series = Some(
        [0.0f64, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0]
            .iter()
            .map(|&q| [q * 100.0, quantile(&ours.sorted, q.max(0.001))])
            .collect(),
    );
    result.notes.push(format!(
        "target p99 <= 20 ms: {}",
        if quantile(&ours.sorted, 0.99) <= 20.0 {
            "met"
        } else {
            "missed"
        }
    ));
    result.notes.push(
        "the subscribers run in the measuring process on the same cores as the server; \
         latency is from the control write to the last subscriber's receipt, one clock"
            .into(),
    );
    result.finish(args.json)?;
    Ok(())
}

async fn measure(
    kind: Kind,
    ws: &WsFlags,
    subscribers: usize,
    broadcasts: usize,
    size: usize,
) -> anyhow::Result<Latencies> {
    // Half a second a round: a busy machine's rounds to 10,000 take 0.3-0.5 s.
    let limit = Duration::from_secs(60 + subscribers as u64 / 100 + broadcasts as u64 / 2);
    let server = ServerChild::start(kind, ws, size, limit).await?;
    let clients = Subscribers::open(&server.url(), subscribers).await?;
    let control = server.control();
    // Warm-up: the first broadcasts grow every queue and buffer once.
    let mut seq = 0;
    for _ in 0..20 {
        seq += 1;
        clients.expect(seq);
        control.send(&format!("pub {seq}")).await?;
        clients.last_arrival(Duration::from_secs(5)).await;
    }
    let cpu_server = server.cpu_secs();
    let cpu_client = super::subscribers::cpu_secs("/proc/self/stat");
    let started = Instant::now();
    let mut sorted = Vec::with_capacity(broadcasts);
    let mut lost = 0;
    for _ in 0..broadcasts {
        seq += 1;
        clients.expect(seq);
        let sent = Instant::now();
        control.send(&format!("pub {seq}")).await?;
        match clients.last_arrival(Duration::from_secs(5)).await {
            Some(at) => sorted.push(at.duration_since(sent).as_secs_f64() * 1e3),
            None => lost += 1,
        }
    }
    let wall_secs = started.elapsed().as_secs_f64();
    let latencies = Latencies {
        lost,
        server_cpu_secs: server.cpu_secs() - cpu_server,
        client_cpu_secs: super::subscribers::cpu_secs("/proc/self/stat") - cpu_client,
        wall_secs,
        rounds: broadcasts,
        sorted: {
            sorted.sort_by(f64::total_cmp);
            sorted
        },
    };
    let closed = clients.closed();
    if closed > 0 {
        eprintln!("{kind:?}: {closed} subscribers were closed during the run");
    }
    clients.close();
    server.stop().await;
    Ok(latencies)
}
