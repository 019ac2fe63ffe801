//! s3.e14: an observer worth the name: each connection's and channel's rates from two
//! samples, and the busiest by each measure.

use std::collections::HashMap;

pub use observability::observe::{
    Busiest, ChannelRate, ChannelSample, ConnectionRate, ConnectionSample, ConnectionsSample,
};

// ANCHOR: busiest
/// The busiest connections and channels between `previous` and `current`, at most
/// `top` in each list.
pub fn busiest(previous: &ConnectionsSample, current: &ConnectionsSample, top: usize) -> Busiest {
    // Uptime going backwards: the node restarted, and nothing in `previous` can be
    // compared with what it counts now.
    let restarted = current.uptime_ms < previous.uptime_ms;
    let elapsed_ms = if restarted {
        current.uptime_ms
    } else {
        current.uptime_ms - previous.uptime_ms
    };
    // By id: 20,000 connections are matched in one pass, not 20,000 searches.
    let before: HashMap<u64, &ConnectionSample> = if restarted {
        HashMap::new()
    } else {
        previous.connections.iter().map(|c| (c.id, c)).collect()
    };
    let rates: Vec<ConnectionRate> = current
        .connections
        .iter()
        .map(|now| connection_rate(before.get(&now.id).copied(), now, elapsed_ms))
        .collect();

    let deepest: Vec<&ChannelRate> = rates
        .iter()
        .flat_map(|connection| &connection.channels)
        .filter(|channel| channel.mailbox > 0)
        .collect();
    let channels_by_mailbox = keep_top(deepest, top, |a, b| {
        b.mailbox
            .cmp(&a.mailbox)
            .then_with(|| (a.connection, &a.topic).cmp(&(b.connection, &b.topic)))
    });

    Busiest {
        elapsed_ms,
        connections: current.connections.len(),
        by_in: busiest_by(&rates, top, |c| c.in_per_sec),
        by_out: busiest_by(&rates, top, |c| c.out_per_sec),
        by_bytes: busiest_by(&rates, top, |c| c.bytes_in_per_sec + c.bytes_out_per_sec),
        // A gauge, not a rate: it means something even when no time passed.
        by_queue: busiest_by(&rates, top, |c| c.outbound_queued as f64),
        channels_by_mailbox,
    }
}
// ANCHOR_END: busiest

// ANCHOR: rate
/// `now`'s rates since `before` (`None`: it was not in the previous sample).
fn connection_rate(
    before: Option<&ConnectionSample>,
    now: &ConnectionSample,
    elapsed_ms: u64,
) -> ConnectionRate {
    // Younger than the interval: it opened since the previous look, so everything
    // it counted happened within its own age, not within the whole interval.
    let (before, window_ms) = match before {
        Some(before) if now.age_ms >= elapsed_ms => (Some(before), elapsed_ms),
        _ => (None, now.age_ms.min(elapsed_ms)),
    };
    let rate = |counter: fn(&ConnectionSample) -> u64| {
        per_sec(before.map_or(0, counter), counter(now), window_ms)
    };
    let channels = now
        .channels
        .iter()
        .map(|channel| {
            let joined_before =
                before.and_then(|b| b.channels.iter().find(|c| c.topic == channel.topic));
            channel_rate(now.id, joined_before, channel, elapsed_ms)
        })
        .collect();
    ConnectionRate {
        id: now.id,
        socket_id: now.socket_id.clone(),
        age_ms: now.age_ms,
        in_per_sec: rate(|c| c.frames_in),
        out_per_sec: rate(|c| c.frames_out),
        bytes_in_per_sec: rate(|c| c.bytes_in),
        bytes_out_per_sec: rate(|c| c.bytes_out),
        outbound_queued: now.outbound_queued,
        outbound_capacity: now.outbound_capacity,
        channels,
    }
}

/// A channel's rates: the same rule, since a topic left and joined again is a new
/// channel with counters that started from zero (its age says so, whatever they show).
fn channel_rate(
    connection: u64,
    before: Option<&ChannelSample>,
    now: &ChannelSample,
    elapsed_ms: u64,
) -> ChannelRate {
    let (before, window_ms) = match before {
        Some(before) if now.age_ms >= elapsed_ms => (Some(before), elapsed_ms),
        _ => (None, now.age_ms.min(elapsed_ms)),
    };
    ChannelRate {
        connection,
        topic: now.topic.clone(),
        age_ms: now.age_ms,
        in_per_sec: per_sec(before.map_or(0, |b| b.handled), now.handled, window_ms),
        out_per_sec: per_sec(before.map_or(0, |b| b.sent), now.sent, window_ms),
        mailbox: now.mailbox,
        mailbox_capacity: now.mailbox_capacity,
    }
}

/// A counter's increase per second over `window_ms`; zero when no time passed (not
/// NaN), and a counter that went down counts from zero.
fn per_sec(before: u64, now: u64, window_ms: u64) -> f64 {
    if window_ms == 0 {
        return 0.0;
    }
    let increase = if now < before { now } else { now - before };
    increase as f64 * 1000.0 / window_ms as f64
}
// ANCHOR_END: rate

// ANCHOR: keep_top
/// The connections with some of `measure`, most first, ties by id, at most `top`.
fn busiest_by(
    rates: &[ConnectionRate],
    top: usize,
    measure: impl Fn(&ConnectionRate) -> f64,
) -> Vec<ConnectionRate> {
    let busy: Vec<&ConnectionRate> = rates.iter().filter(|c| measure(c) > 0.0).collect();
    keep_top(busy, top, |a, b| {
        measure(b).total_cmp(&measure(a)).then(a.id.cmp(&b.id))
    })
}

/// The first `top` of `items` in `order`, cloned. Sorting 20,000 items to keep ten
/// wastes most of the work: `select_nth_unstable_by` moves the ten to the front in
/// linear time, and only they are sorted (and cloned).
fn keep_top<T: Clone>(
    mut items: Vec<&T>,
    top: usize,
    order: impl Fn(&T, &T) -> std::cmp::Ordering,
) -> Vec<T> {
    if top == 0 {
        return Vec::new();
    }
    if items.len() > top {
        items.select_nth_unstable_by(top - 1, |a, b| order(a, b));
        items.truncate(top);
    }
    items.sort_by(|a, b| order(a, b));
    items.into_iter().cloned().collect()
}
// ANCHOR_END: keep_top
