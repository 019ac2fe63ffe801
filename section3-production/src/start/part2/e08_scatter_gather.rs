//! Exercise s3.e8: scatter-gather.
//!
//! Ask every node, collect the answers that arrive in time, and say who did not answer.
//!
//! - slide: slides/src/section3/part2/e08_scatter_gather.md
//! - tests: `mod e08_scatter_gather` in section3-production/tests/part2.rs,
//!   run by `cargo xtask check s3.e8`
//! - stuck? `cargo xtask hint s3.e8` (each hint gives away a little more)
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

/// Collects answers from `replies` until every node in `expected` has answered, the
/// replies channel closes, or `limit` has passed since the call, whichever comes
/// first. A node answering twice counts once (its first answer); a node that was
/// not expected (it joined after the question went out) is kept too.
pub async fn gather<T>(
    expected: &BTreeSet<String>,
    replies: &mut mpsc::Receiver<Answer<T>>,
    limit: Duration,
) -> Gathered<T> {
    // TODO(s3.e8): slides/src/section3/part2/e08_scatter_gather.md
    todo!("collect answers until all expected nodes answered, the channel closes, or the deadline")
}
