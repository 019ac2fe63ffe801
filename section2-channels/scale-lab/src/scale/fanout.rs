//! Scenario 3: sustained fan-out, delivered messages per second, ours beside a raw
//! tokio-tungstenite broadcast server with the same clients in the same run.
//!
//! For each subscriber count and each server kind: start the server child, join N
//! subscribers, tell it to `run` for S seconds, and count what the subscribers
//! receive over those seconds. The server publishes as fast as the subscribers
//! take it: at most `window` messages beyond what every subscriber has
//! acknowledged (this process sends `ack <min seq>` every 2 ms). Without that bound
//! a publisher outruns the writers and the bounded outboxes disconnect everyone as
//! slow clients, which measures the bound, not the throughput.
//!
//! The subscribers run in this process on the same two cores: their CPU is
//! reported beside the server's.

use std::time::{Duration, Instant};

use super::ScenarioResult;
use super::server::Kind;
use super::subscribers::{ServerChild, Subscribers, cpu_secs};
use crate::lab::WsFlags;

/// The scenario's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct FanoutArgs {
    /// Subscriber counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub subscribers: Vec<usize>,
    /// Seconds of broadcasting per measurement.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Messages in flight beyond the slowest subscriber (below the outbox's 256).
    #[arg(long, default_value_t = 64)]
    pub window: u64,
    /// Size of each message on the wire, in bytes.
    #[arg(long, default_value_t = 200)]
    pub size: usize,
    /// Shorter runs (3 s) and at most 2,000 subscribers, for a quick look.
    #[arg(long)]
    pub quick: bool,
    /// Print the result as one JSON line last.
    #[arg(long)]
    pub json: bool,
    /// The WebSocket settings of both servers (the endpoint's defaults).
    #[command(flatten)]
    pub ws: WsFlags,
}

/// One measurement.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Messages received by all subscribers per second.
    pub per_sec: f64,
    /// Server CPU, cores.
    pub server_cores: f64,
    /// Client (this process) CPU, cores.
    pub client_cores: f64,
    /// Subscribers the server closed during the run.
    pub closed: usize,
    /// Server RSS per subscriber with every subscriber joined, before the run, bytes.
    pub rss_before: f64,
    /// The same after the run, once quiet: what the run's buffers left behind (the
    /// WebSocket's write buffer keeps the capacity a burst grew it to).
    pub rss_after: f64,
}

/// `ours / raw`, 0 when the baseline delivered nothing.
pub fn ratio(ours: f64, raw: f64) -> f64 {
    if raw > 0.0 { ours / raw } else { 0.0 }
}

/// Runs the scenario and prints its result.
pub async fn run(args: FanoutArgs) -> anyhow::Result<()> {
    let (counts, seconds) = if args.quick {
        let counts: Vec<usize> = args.subscribers.iter().map(|&n| n.min(2_000)).collect();
        (counts, args.seconds.min(3))
    } else {
        (args.subscribers.clone(), args.seconds)
    };
    let largest = counts.iter().copied().max().unwrap_or(0);
    crate::lab::raise_open_files_limit(largest as u64 + 512);
    let ws = args.ws.clone();
    let mut result = ScenarioResult::new("fanout");
    result
        .param("subscribers", counts.clone())
        .param("seconds", seconds)
        .param("window", args.window)
        .param("message_bytes", args.size)
        .param("write_buffer_bytes", args.ws.write_buffer);
    let mut baseline = std::collections::BTreeMap::new();
    let mut series = Vec::new();
    for &n in &counts {
        let ours = measure(Kind::Ours, &ws, n, seconds, args.window, args.size).await?;
        let raw = measure(Kind::Raw, &ws, n, seconds, args.window, args.size).await?;
        let r = ratio(ours.per_sec, raw.per_sec);
        println!(
            "{n} subscribers: ours {:.0} msg/s (server {:.2} cores, clients {:.2}), raw {:.0} msg/s (server {:.2}, clients {:.2}): ratio {r:.2}",
            ours.per_sec,
            ours.server_cores,
            ours.client_cores,
            raw.per_sec,
            raw.server_cores,
            raw.client_cores
        );
        // CPU per delivered message: what a busy machine changes least.
        let us = |rate: &Rate, cores: f64| cores * 1e6 / rate.per_sec.max(1.0);
        println!(
            "  server cpu per message: ours {:.2} us, raw {:.2} us; server RSS per subscriber before/after the run: ours {:.0}/{:.0} B, raw {:.0}/{:.0} B",
            us(&ours, ours.server_cores),
            us(&raw, raw.server_cores),
            ours.rss_before,
            ours.rss_after,
            raw.rss_before,
            raw.rss_after
        );
        for (kind, rate) in [("ours", ours), ("raw", raw)] {
            if rate.closed > 0 {
                result.notes.push(format!(
                    "{kind} at {n}: {} subscribers closed during the run",
                    rate.closed
                ));
            }
        }
        result
            .figure(&format!("msgs_per_sec_{n}"), ours.per_sec)
            .figure(&format!("ratio_{n}"), r)
            .figure(&format!("server_cpu_cores_{n}"), ours.server_cores)
            .figure(&format!("client_cpu_cores_{n}"), ours.client_cores)
            .figure(
                &format!("server_cpu_per_msg_{n}_us"),
                us(&ours, ours.server_cores),
            )
            .figure(&format!("rss_after_run_per_sub_{n}_bytes"), ours.rss_after);
        baseline.insert(
            format!("server_cpu_per_msg_{n}_us"),
            us(&raw, raw.server_cores),
        );
        baseline.insert(format!("rss_after_run_per_sub_{n}_bytes"), raw.rss_after);
        baseline.insert(format!("msgs_per_sec_{n}"), raw.per_sec);
        baseline.insert(format!("server_cpu_cores_{n}"), raw.server_cores);
        baseline.insert(format!("client_cpu_cores_{n}"), raw.client_cores);
        series.push([n as f64, ours.per_sec]);
        let verdict = |met: bool| if met { "met" } else { "missed" };
        result.notes.push(format!(
            "{n} subscribers: target >= 1M msg/s {}, >= 0.8x raw {}",
            verdict(ours.per_sec >= 1e6),
            verdict(r >= 0.8)
        ));
    }
    // The headline figure the results page judges: the largest subscriber count,
    // where the fan-out work dominates, beside the raw server's at the same count.
    if let Some(&[n, ours]) = series.last() {
        let raw = baseline
            .get(&format!("msgs_per_sec_{n}"))
            .copied()
            .unwrap_or(0.0);
        result.figure("delivered_per_sec", ours);
        baseline.insert("delivered_per_sec".to_owned(), raw);
    }
    result.baseline = Some(baseline);
    result.series = Some(series);
    result.notes.push(
        "raw = tokio-tungstenite, one task per connection on a tokio broadcast of \
         pre-encoded frames, writing what is ready before one flush; same clients, \
         same window"
            .into(),
    );
    result.notes.push(
        "the subscribers (this process) share the 2 cores with the server; their CPU \
         is reported as client_cpu_cores"
            .into(),
    );
    result.finish(args.json)?;
    Ok(())
}

/// Delivered messages per second from `kind` to `n` subscribers over `seconds`.
pub async fn measure(
    kind: Kind,
    ws: &WsFlags,
    n: usize,
    seconds: u64,
    window: u64,
    size: usize,
) -> anyhow::Result<Rate> {
    let limit = Duration::from_secs(90 + n as u64 / 100 + seconds * 2);
    let mut server = ServerChild::start(kind, ws, size, limit).await?;
    let clients = std::sync::Arc::new(Subscribers::open(&server.url(), n).await?);
    let control = server.control();
    let rss_before = server.rss_kib() as f64 * 1024.0 / n.max(1) as f64;
    // Flow control: tell the server how far every subscriber has got.
    let acking = {
        let (clients, control) = (clients.clone(), control.clone());
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_millis(2)).await;
                let min = clients.min_last();
                if min > last {
                    last = min;
                    if control.send(&format!("ack {min}")).await.is_err() {
                        return;
                    }
                }
            }
        })
    };
    control
        .send(&format!("run {} {window}", (seconds + 2) * 1000))
        .await?;
    // One second of warm-up, then the measured seconds.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (d0, t0) = (clients.delivered(), Instant::now());
    let (s0, c0) = (server.cpu_secs(), cpu_secs("/proc/self/stat"));
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (d1, wall) = (clients.delivered(), t0.elapsed().as_secs_f64());
    let (s1, c1) = (server.cpu_secs(), cpu_secs("/proc/self/stat"));
    let _ = server.done(Duration::from_secs(10)).await;
    acking.abort();
    // Let the last frames drain before reading what stays resident.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = server.rss_kib() as f64 * 1024.0 / n.max(1) as f64;
    let closed = clients.closed();
    if let Ok(clients) = std::sync::Arc::try_unwrap(clients) {
        clients.close();
    }
    server.stop().await;
    Ok(Rate {
        per_sec: (d1 - d0) as f64 / wall,
        server_cores: (s1 - s0) / wall,
        client_cores: (c1 - c0) / wall,
        closed,
        rss_before,
        rss_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_ours_over_raw_and_zero_without_a_baseline() {
        assert_eq!(ratio(800.0, 1000.0), 0.8);
        assert_eq!(ratio(5.0, 0.0), 0.0);
    }
}
