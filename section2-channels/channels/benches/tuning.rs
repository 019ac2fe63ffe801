//! What `channels::tuning`'s subscriber table buys: one broadcast to 1,000 and 10,000
//! subscribers that deliver like joined channels (into their connection's outbox),
//! through the plain `pubsub::SubscriberMap` and the tuned `tuning::FastLaneMap`.
//!
//! Each round broadcasts once through each table and drains every outbox; the tables
//! take turns round after round, so a busy machine slows both alike. Prints, per
//! subscriber, the median and the fastest round of each, and the ratio of the medians.
//!
//! `cargo bench -p channels --bench tuning` (`ROUNDS=1000` for more rounds).

use std::sync::Arc;
use std::time::{Duration, Instant};

use channels::outbox::{Outbox, OutboxReceiver};
use channels::payload;
use channels::pubsub::{Broadcast, FastLane, Subscriber, SubscriberId, SubscriberMap};
use channels::tuning::FastLaneMap;
use serde_json::json;

/// Delivers like a joined channel that intercepts nothing.
struct Connection(Outbox);

impl Subscriber for Connection {
    fn deliver(&self, broadcast: &Arc<Broadcast>) {
        self.0.send_text(broadcast.frame().clone());
    }

    fn fastlane(&self) -> Option<FastLane> {
        Some(FastLane {
            outbox: self.0.clone(),
            intercepts: &[],
        })
    }
}

/// Median and fastest of `times`, per subscriber, in nanoseconds.
fn summary(times: &mut [Duration], subscribers: usize) -> (f64, f64) {
    times.sort();
    let per = |d: Duration| d.as_nanos() as f64 / subscribers as f64;
    (per(times[times.len() / 2]), per(times[0]))
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(400);
    let payload = payload(json!({"id": 1042, "what": "checkout", "customer_tier": "gold"}));
    let broadcast = Arc::new(Broadcast::new("feed", "activity.created", payload));
    for subscribers in [1_000, 10_000] {
        let mut plain = SubscriberMap::default();
        let mut tuned = FastLaneMap::default();
        let (mut plain_rx, mut tuned_rx) = (Vec::new(), Vec::new());
        // Allocated in turns, so neither table gets the more compact memory.
        for _ in 0..subscribers {
            let (outbox, rx) = Outbox::new(16);
            plain.insert(SubscriberId::next(), Arc::new(Connection(outbox)));
            plain_rx.push(rx);
            let (outbox, rx) = Outbox::new(16);
            tuned.insert(SubscriberId::next(), Arc::new(Connection(outbox)));
            tuned_rx.push(rx);
        }
        let drain = |queues: &[OutboxReceiver]| {
            for rx in queues {
                std::hint::black_box(rx.try_recv().expect("every subscriber receives it"));
            }
        };
        let (mut plain_times, mut tuned_times) = (Vec::new(), Vec::new());
        for round in 0..rounds + 20 {
            let start = Instant::now();
            std::hint::black_box(plain.broadcast(&broadcast));
            let plain_time = start.elapsed();
            drain(&plain_rx);
            let start = Instant::now();
            std::hint::black_box(tuned.broadcast(&broadcast));
            let tuned_time = start.elapsed();
            drain(&tuned_rx);
            // The first rounds warm the caches and grow the queues.
            if round >= 20 {
                plain_times.push(plain_time);
                tuned_times.push(tuned_time);
            }
        }
        let (plain_median, plain_min) = summary(&mut plain_times, subscribers);
        let (tuned_median, tuned_min) = summary(&mut tuned_times, subscribers);
        println!(
            "broadcast to {subscribers} subscribers, per subscriber: plain SubscriberMap \
             {plain_median:.1} ns (fastest {plain_min:.1}), tuned FastLaneMap \
             {tuned_median:.1} ns (fastest {tuned_min:.1}): tuned/plain {:.2}",
            tuned_median / plain_median
        );
    }
}
