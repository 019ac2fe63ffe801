//! Broadcast fan-out: one event to 1,000 and 10,000 local subscribers, through the
//! course's `LocalPubSub` (encoded once, one bounded outbox queue per connection, as a
//! joined channel delivers it), beside a raw `tokio::sync::broadcast` channel carrying
//! the same pre-encoded bytes to as many receivers, in the same run.
//!
//! Each iteration sends one event and drains every queue, so both sides pay for
//! delivery and consumption. The ratio (ours / raw) is printed at the end.
//!
//! `cargo bench -p channels --bench fanout`

use std::sync::Arc;
use std::time::{Duration, Instant};

use channels::outbox::{Outbox, OutboxReceiver};
use channels::pubsub::{Broadcast, FastLane, LocalPubSub, PubSub, Subscriber, Subscription};
use channels::{Payload, payload};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use figures::section2::{FanoutBench, FanoutRound};
use serde_json::json;
use tokio::sync::broadcast;

/// Delivers like a joined channel that intercepts nothing: the shared bytes go into
/// the connection's outbox without waiting.
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

struct Ours {
    pubsub: Arc<dyn PubSub>,
    queues: Vec<OutboxReceiver>,
    _subscriptions: Vec<Subscription>,
    payload: Payload,
}

impl Ours {
    fn new(subscribers: usize) -> Self {
        let pubsub: Arc<dyn PubSub> = Arc::new(LocalPubSub::new());
        let mut queues = Vec::new();
        let mut subscriptions = Vec::new();
        for _ in 0..subscribers {
            let (outbox, rx) = Outbox::new(16);
            queues.push(rx);
            subscriptions.push(Subscription::new(
                pubsub.clone(),
                "feed",
                Arc::new(Connection(outbox)),
            ));
        }
        Ours {
            pubsub,
            queues,
            _subscriptions: subscriptions,
            payload: payload(json!({"id": 1042, "what": "checkout", "customer_tier": "gold"})),
        }
    }

    fn round(&mut self) {
        let reached = self.pubsub.broadcast(Broadcast::new(
            "feed",
            "activity.created",
            self.payload.clone(),
        ));
        debug_assert_eq!(reached, self.queues.len());
        for queue in &self.queues {
            let Some(text) = queue.try_recv() else {
                panic!("every subscriber receives the broadcast");
            };
            std::hint::black_box(text);
        }
    }
}

struct Raw {
    tx: broadcast::Sender<axum::extract::ws::Utf8Bytes>,
    receivers: Vec<broadcast::Receiver<axum::extract::ws::Utf8Bytes>>,
    payload: Payload,
}

impl Raw {
    fn new(subscribers: usize) -> Self {
        let (tx, _) = broadcast::channel(16);
        let receivers = (0..subscribers).map(|_| tx.subscribe()).collect();
        Raw {
            tx,
            receivers,
            payload: payload(json!({"id": 1042, "what": "checkout", "customer_tier": "gold"})),
        }
    }

    fn round(&mut self) {
        // The same work up front: encode the frame once.
        let frame = channels::Frame::broadcast(
            "feed",
            "activity.created",
            serde_json::Value::Object(self.payload.clone()),
        )
        .encode();
        self.tx.send(frame.into()).expect("receivers exist");
        for receiver in &mut self.receivers {
            std::hint::black_box(receiver.try_recv().expect("every receiver receives it"));
        }
    }
}

fn time_rounds(round: &mut dyn FnMut()) -> Duration {
    let rounds = 200;
    for _ in 0..20 {
        round();
    }
    let start = Instant::now();
    for _ in 0..rounds {
        round();
    }
    start.elapsed() / rounds
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout");
    group.sample_size(20);
    let mut ratios = Vec::new();
    for subscribers in [1_000, 10_000] {
        let mut ours = Ours::new(subscribers);
        let mut raw = Raw::new(subscribers);
        group.bench_with_input(BenchmarkId::new("LocalPubSub", subscribers), &(), |b, _| {
            b.iter(|| ours.round())
        });
        group.bench_with_input(
            BenchmarkId::new("baseline: tokio broadcast", subscribers),
            &(),
            |b, _| b.iter(|| raw.round()),
        );
        let ours_time = time_rounds(&mut || ours.round());
        let raw_time = time_rounds(&mut || raw.round());
        ratios.push((subscribers, ours_time, raw_time));
    }
    group.finish();
    let mut figures = FanoutBench { rounds: Vec::new() };
    for (subscribers, ours, raw) in ratios {
        println!(
            "fan-out to {subscribers} subscribers: LocalPubSub {ours:?}, raw tokio broadcast {raw:?} per event: ratio {:.2} ({:.0} ns vs {:.0} ns per subscriber)",
            ours.as_secs_f64() / raw.as_secs_f64(),
            ours.as_nanos() as f64 / subscribers as f64,
            raw.as_nanos() as f64 / subscribers as f64,
        );
        figures.rounds.push(FanoutRound {
            subscribers,
            local_pubsub_ns: ours.as_secs_f64() * 1e9,
            raw_broadcast_ns: raw.as_secs_f64() * 1e9,
        });
    }
    // The same figures for the results page (`cargo xtask bench` reads the file).
    let path = figures::write(&figures, None).expect("write the bench's figures");
    eprintln!("figures: {}", path.display());
}

criterion_group!(benches, bench);
criterion_main!(benches);
