//! s3.e8: scatter-gather. Ask every node, collect the answers that arrive in time,
//! and say who did not answer.
//!
//! The question has already gone out (scattered) to every node the cluster knows;
//! this is the gathering half. It must finish by the deadline whatever the nodes do:
//! a node that crashed, is partitioned away or is merely slow must not hold the
//! answer up, and the caller must learn which nodes are missing from it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

pub use cluster::scatter::{Answer, Gathered};

// ANCHOR: gather
/// Collects answers from `replies` until every node in `expected` has answered, the
/// replies channel closes, or `limit` has passed since the call, whichever comes
/// first. A node answering twice counts once (its first answer); a node that was
/// not expected (it joined after the question went out) is kept too.
pub async fn gather<T>(
    expected: &BTreeSet<String>,
    replies: &mut mpsc::Receiver<Answer<T>>,
    limit: Duration,
) -> Gathered<T> {
    // One deadline for the whole gathering, not a timeout per reply: with a timeout
    // per reply, nodes answering just in time, one after another, could stretch
    // the wait without end.
    let deadline = Instant::now() + limit;
    let mut answered = BTreeMap::new();
    while !expected.iter().all(|node| answered.contains_key(node)) {
        match timeout_at(deadline, replies.recv()).await {
            Ok(Some(answer)) => {
                answered.entry(answer.node).or_insert(answer.value);
            }
            // Closed (nobody can answer any more) or out of time.
            Ok(None) | Err(_) => break,
        }
    }
    let missing = expected
        .iter()
        .filter(|node| !answered.contains_key(*node))
        .cloned()
        .collect();
    Gathered { answered, missing }
}
// ANCHOR_END: gather
