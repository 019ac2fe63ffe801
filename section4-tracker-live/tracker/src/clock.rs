//! Version vectors ("clocks"): one counter per replica, compared entry by entry.
//!
//! A clock says "I have seen every change of replica `r` up to number `n`". Two clocks
//! are compared pointwise; a missing entry counts as 0. These helpers are pure and
//! generic over the replica identifier, so they are tested with plain strings.

use std::collections::BTreeMap;

/// A version vector: replica -> highest contiguous event number seen.
pub type Clock<R> = BTreeMap<R, u64>;

fn get<R: Ord>(clock: &Clock<R>, replica: &R) -> u64 {
    clock.get(replica).copied().unwrap_or(0)
}

// ANCHOR: dominates
/// `c1` has seen at least everything `c2` has, and knows at least as many replicas.
///
/// The size check matters when the key sets differ: `{a: 2}` does not dominate
/// `{a: 1, b: 1}`, because it has never heard of `b`.
pub fn dominates<R: Ord>(c1: &Clock<R>, c2: &Clock<R>) -> bool {
    c1.len() >= c2.len() && c2.iter().all(|(r, &n)| get(c1, r) >= n)
}
// ANCHOR_END: dominates

/// `c1` is at least `c2` on every replica `c1` knows (replicas only `c2` knows are ignored).
pub fn dominates_or_equal<R: Ord>(c1: &Clock<R>, c2: &Clock<R>) -> bool {
    c1.iter().all(|(r, &n)| n >= get(c2, r))
}

/// Pointwise maximum over the union of replicas.
pub fn upperbound<R: Ord + Clone>(c1: &Clock<R>, c2: &Clock<R>) -> Clock<R> {
    let mut out = c1.clone();
    for (r, &n) in c2 {
        let slot = out.entry(r.clone()).or_insert(0);
        *slot = (*slot).max(n);
    }
    out
}

/// Pointwise minimum over the union of replicas (a replica missing on one side keeps the
/// other side's value, as "not mentioned" means "no constraint" for a range start).
pub fn lowerbound<R: Ord + Clone>(c1: &Clock<R>, c2: &Clock<R>) -> Clock<R> {
    let mut out = c1.clone();
    for (r, &n) in c2 {
        out.entry(r.clone())
            .and_modify(|m| *m = (*m).min(n))
            .or_insert(n);
    }
    out
}

/// The clock restricted to the given replicas.
pub fn filter_replicas<'a, R: Ord + Clone + 'a>(
    clock: &Clock<R>,
    replicas: impl IntoIterator<Item = &'a R>,
) -> Clock<R> {
    replicas
        .into_iter()
        .filter_map(|r| clock.get(r).map(|&n| (r.clone(), n)))
        .collect()
}

/// The replicas a clock mentions.
pub fn replicas<R: Ord + Clone>(clock: &Clock<R>) -> Vec<R> {
    clock.keys().cloned().collect()
}

// ANCHOR: append_clock
/// Adds `(node, clock)` to a set of clocks kept minimal: afterwards no member is
/// dominated by the others together, so asking each remaining member (other than
/// ourselves) for a transfer fetches everything we lack, from as few nodes as possible.
pub fn append_clock<N: PartialEq, R: Ord + Clone>(
    clockset: &mut Vec<(N, Clock<R>)>,
    node: N,
    clock: Clock<R>,
) {
    if clock.is_empty() {
        return;
    }
    let combined = clockset
        .iter()
        .fold(Clock::new(), |acc, (_, c)| upperbound(&acc, c));
    if dominates(&clock, &combined) {
        // The newcomer alone knows everything the set knew.
        clockset.clear();
        clockset.push((node, clock));
    } else if dominates(&combined, &clock) {
        // Nothing new: someone in the set can already answer for it.
    } else {
        clockset.retain(|(n, c)| *n != node && !dominates(&clock, c));
        clockset.push((node, clock));
    }
}
// ANCHOR_END: append_clock
