//! s3.e9: rates from two snapshots of a node's counters, and the busiest channels.

pub use observability::observe::{Rates, Snapshot, TopicRate};

// ANCHOR: rates
/// Rates between `previous` and `current`, and the `top` busiest topics.
pub fn rates(previous: &Snapshot, current: &Snapshot, top: usize) -> Rates {
    // The node's uptime going backwards means it restarted between the two looks:
    // its counters started again from zero, so measure from the restart instead.
    let restarted = current.uptime_ms < previous.uptime_ms;
    let elapsed_ms = if restarted {
        current.uptime_ms
    } else {
        current.uptime_ms - previous.uptime_ms
    };
    if elapsed_ms == 0 {
        // No time passed: no rate can be known. Zero, not a division by zero.
        return Rates {
            broadcasts_per_sec: 0.0,
            busiest: Vec::new(),
        };
    }
    let seconds = elapsed_ms as f64 / 1000.0;
    // A counter that went down was reset (the node restarted, or the topic was
    // forgotten and came back): everything it counts now happened since the reset.
    let delta = |before: u64, now: u64| {
        if restarted || now < before {
            now
        } else {
            now - before
        }
    };

    let mut busiest: Vec<TopicRate> = current
        .topics
        .iter()
        .filter_map(|(topic, stats)| {
            let before = previous.topics.get(topic).map_or(0, |s| s.broadcasts);
            let sent = delta(before, stats.broadcasts);
            (sent > 0).then(|| TopicRate {
                topic: topic.clone(),
                per_sec: sent as f64 / seconds,
                subscribers: stats.subscribers,
            })
        })
        .collect();
    // Busiest first; equal rates by name, so the table does not shuffle every second.
    busiest.sort_by(|a, b| {
        b.per_sec
            .total_cmp(&a.per_sec)
            .then_with(|| a.topic.cmp(&b.topic))
    });
    busiest.truncate(top);

    Rates {
        broadcasts_per_sec: delta(previous.broadcasts, current.broadcasts) as f64 / seconds,
        busiest,
    }
}
// ANCHOR_END: rates
