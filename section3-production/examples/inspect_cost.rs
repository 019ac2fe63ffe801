//! What s3.e14's counters cost, and what one connection looks like through them.
//!
//! `cargo run -p section3-production --release --example inspect_cost -- 2000`
//!
//! Two endpoints in this process, one with an `Inspector` and one without, each with
//! N WebSocket subscribers of one topic (real loopback sockets, section 2's scale-lab
//! clients). Broadcasts go in bursts of 16; a burst ends when every subscriber has
//! read all of it. The two endpoints take turns, six runs each, and the medians of
//! the time per delivered message are compared: the counters' cost on a fan-out
//! (two relaxed adds per batch a connection's writer flushes, none per broadcast). Then the cost of what
//! `GET /observe/connections` does at N connections: one sample of every connection
//! and s3.e14's reference ranking.
//! Prints a Markdown section for `solutions/section3/part3.md`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use channels::endpoint::Server;
use channels::inspect::Inspector;
use channels::{Channel, ChannelContext, ChannelRouter, Endpoint, HandleIn, Join, Payload};
use futures::StreamExt;
use observability::observe::ConnectionsSample;
use section3_production::solution::part3::e14_observer::busiest;
use serde_json::json;
use tokio::sync::Notify;

/// Broadcasts sent at once, well below the outbox's 256: a burst leaves each
/// connection in a few writes, as in the scale lab's fan-out.
const BURST: usize = 16;

/// Runs of each endpoint, taking turns; the medians are compared.
const RUNS: usize = 6;

/// A topic every subscriber joins; it only answers pushes.
struct Room;

impl Channel for Room {
    type Info = ();

    async fn join(_topic: &str, _payload: Payload, _ctx: &mut ChannelContext<Self>) -> Join<Self> {
        Join::ok(Room)
    }

    async fn handle_in(
        &mut self,
        _event: &str,
        _payload: Payload,
        _ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        HandleIn::ok(json!({}))
    }
}

/// N subscribers of `room` on a fresh endpoint, and what they have read.
struct Fanout {
    endpoint: Endpoint,
    server: Server,
    delivered: Arc<AtomicU64>,
    target: Arc<AtomicU64>,
    arrived: Arc<Notify>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Fanout {
    async fn start(inspector: Option<Arc<Inspector>>, n: usize) -> anyhow::Result<Fanout> {
        let mut builder = Endpoint::builder(ChannelRouter::new().channel::<Room>("room"));
        if let Some(inspector) = inspector {
            builder = builder.inspector(inspector);
        }
        let endpoint = builder.build();
        let server = Server::bind(0, endpoint.routes("/socket")).await?;
        let url = format!("ws://{}/socket/websocket?vsn=2.0.0", server.addr());
        let (delivered, target, arrived) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(u64::MAX)),
            Arc::new(Notify::new()),
        );
        let mut readers = Vec::with_capacity(n);
        for i in 0..n {
            let mut ws = scale_lab::lab::open_joined(server.addr(), &url, i, "room", None).await?;
            let (delivered, target, arrived) = (delivered.clone(), target.clone(), arrived.clone());
            readers.push(tokio::spawn(async move {
                while let Some(Ok(message)) = ws.next().await {
                    if message.is_text()
                        && delivered.fetch_add(1, Ordering::Relaxed) + 1
                            >= target.load(Ordering::Relaxed)
                    {
                        arrived.notify_one();
                    }
                }
            }));
        }
        Ok(Fanout {
            endpoint,
            server,
            delivered,
            target,
            arrived,
            readers,
        })
    }

    /// Microseconds per delivered message, over `rounds` bursts of [`BURST`]
    /// broadcasts, each burst read by everyone before the next.
    async fn rounds(&self, n: usize, rounds: u64) -> f64 {
        let payload = channels::payload(json!({ "sensor": "t-17", "celsius": 21.5 }));
        let started = Instant::now();
        for _ in 0..rounds {
            let target = self.delivered.load(Ordering::Relaxed) + (n * BURST) as u64;
            self.target.store(target, Ordering::Relaxed);
            for _ in 0..BURST {
                self.endpoint.broadcast("room", "reading", payload.clone());
            }
            loop {
                let arrived = self.arrived.notified();
                if self.delivered.load(Ordering::Relaxed) >= target {
                    break;
                }
                arrived.await;
            }
        }
        started.elapsed().as_secs_f64() * 1e6 / (rounds * (n * BURST) as u64) as f64
    }

    async fn stop(self) {
        for reader in &self.readers {
            reader.abort();
        }
        self.endpoint.shutdown();
        self.server.stop().await;
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(2_000);
    let rounds = 40;
    // Each connection is a file descriptor on each side, in this one process.
    scale_lab::lab::raise_open_files_limit(2 * n as u64 + 256);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        // Each goes first in turn: a run after another one meets a warmer machine.
        let order = if run % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for inspected in order {
            let inspector = inspected.then(Inspector::new);
            let fanout = Fanout::start(inspector, n).await?;
            // Warm-up: buffers grown, tasks scheduled once.
            fanout.rounds(n, 5).await;
            let us = fanout.rounds(n, rounds).await;
            eprintln!(
                "run {run}, {}: {us:.3} us per delivered message ({n} subscribers)",
                if inspected { "counted" } else { "not counted" }
            );
            if inspected { &mut with } else { &mut without }.push(us);
            fanout.stop().await;
        }
    }
    let spread = |runs: &[f64]| {
        let (min, max) = runs
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), &us| (lo.min(us), hi.max(us)));
        format!("{min:.2}-{max:.2}")
    };
    let (with_spread, without_spread) = (spread(&with), spread(&without));
    let (with, without) = (median(with), median(without));

    // What one GET /observe/connections costs the node, at N connections.
    let inspector = Inspector::new();
    let fanout = Fanout::start(Some(inspector.clone()), n).await?;
    fanout.rounds(n, 5).await;
    // The node's uptime, as the node would give it.
    let clock = Instant::now();
    let uptime_ms = || clock.elapsed().as_millis() as u64;
    let previous = ConnectionsSample {
        uptime_ms: uptime_ms(),
        connections: inspector.sample(),
    };
    tokio::time::sleep(Duration::from_millis(1000)).await;
    fanout.rounds(n, 10).await;
    let (mut sample_us, mut rank_us) = (Vec::new(), Vec::new());
    let mut answer = None;
    for _ in 0..20 {
        let t = Instant::now();
        let current = ConnectionsSample {
            uptime_ms: uptime_ms(),
            connections: inspector.sample(),
        };
        sample_us.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        let ranked = busiest(&previous, &current, 10);
        rank_us.push(t.elapsed().as_secs_f64() * 1e6);
        answer = Some(ranked);
    }
    let answer = answer.expect("twenty answers");
    let bytes = serde_json::to_vec(&answer)?.len();
    let one = &answer.by_out[0];
    let channel = &one.channels[0];
    fanout.stop().await;

    let machine = figures::machine::Machine::describe().to_string();
    println!(
        "| fan-out to {n} subscribers, bursts of {BURST} broadcasts | median of {RUNS} runs of {rounds} bursts |\n\
         |---|---|\n\
         | without an inspector, per delivered message | {without:.2} us (runs: {without_spread}) |\n\
         | with an inspector, per delivered message | {with:.2} us ({:+.1}%; runs: {with_spread}) |\n\
         | one sample of {n} connections (`Inspector::sample`) | {:.0} us |\n\
         | ranking them, top 10 by each measure (s3.e14's reference) | {:.0} us |\n\
         | the answer of `GET /observe/connections?top=10` | {bytes} bytes |\n\n\
         One connection as `top` opens it: connection {} out {:.1} msg/s ({:.0} B/s), \
         outbound queue {}/{}; its channel `{}`: mailbox {}/{}, in {:.1}/s, out {:.1}/s.\n\n\
         Machine: {machine}.",
        (with / without - 1.0) * 100.0,
        median(sample_us),
        median(rank_us),
        one.id,
        one.out_per_sec,
        one.bytes_out_per_sec,
        one.outbound_queued,
        one.outbound_capacity,
        channel.topic,
        channel.mailbox,
        channel.mailbox_capacity,
        channel.in_per_sec,
        channel.out_per_sec,
    );
    Ok(())
}
