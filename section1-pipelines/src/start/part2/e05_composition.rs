//! Exercise s1.e5: composition.
//!
//! - slide: slides/src/section1/part2/e05_composition.md
//! - tests: `mod e05_composition` in section1-pipelines/tests/part2.rs,
//!   run by `cargo xtask check s1.e5`
//! - stuck? `cargo xtask hint s1.e5` (each hint gives away a little more)
//!
//! The same three steps (price, ship, receipt) composed three ways. The results are
//! identical; the order of the calls and how many run at once are not.

#[allow(unused_imports)]
use futures::StreamExt;

use pipeline::composition::{AsyncSteps, Steps};

/// Eager: each stage runs over *every* order before the next stage starts
/// (a `Vec` collected per stage). All prices, then all shipping, then all receipts.
pub fn eager(steps: &Steps, quantities: &[u32]) -> Vec<String> {
    // TODO(s1.e5): map every quantity through `steps.price`, collect; then every
    // price through `steps.ship`, collect; then every total through `steps.receipt`.
    todo!("s1.e5: compose the three steps eagerly, one collected Vec per stage")
}

/// Lazy: an iterator chain. Nothing runs until someone pulls, and each order goes
/// through all three steps before the next order starts.
pub fn lazy<'a>(steps: &'a Steps, quantities: &'a [u32]) -> impl Iterator<Item = String> + 'a {
    // TODO(s1.e5): return an iterator chain (three `map`s), without collecting.
    todo!("s1.e5: compose the three steps as one lazy iterator chain");
    std::iter::empty()
}

/// Concurrent: a stream where up to `limit` orders are in progress at once, each
/// going through its three async steps; receipts come out in input order.
pub async fn concurrent(steps: &AsyncSteps, quantities: Vec<u32>, limit: usize) -> Vec<String> {
    // TODO(s1.e5): turn the quantities into a stream of futures (one per order,
    // awaiting price, ship, receipt in turn) and poll at most `limit` at once.
    todo!("s1.e5: a stream of per-order futures with bounded concurrency")
}
