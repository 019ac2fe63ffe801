//! Exercise s1.e11: stages of different speed.
//!
//! - slide: slides/src/section1/part2/e11_stages.md
//! - tests: `mod e11_stages` in section1-pipelines/tests/part2.rs,
//!   run by `cargo xtask check s1.e11`
//! - stuck? `cargo xtask hint s1.e11` (each hint gives away a little more)
//!
//! Orders go through two stages: checking stock (fast) and printing a shipping label
//! (slow). Each stage has its own workers; between them, the second stage's bounded
//! input is the producer-consumer in the middle. When the label printer lags, that
//! queue fills, the stock checkers wait to hand orders over, and the wait reaches
//! whoever feeds the pipeline. Then: how to divide a team of workers between stages.

use std::time::Duration;

#[allow(unused_imports)]
use tokio::task::JoinSet;

#[allow(unused_imports)]
use pipeline::{Demand, Stage, failure_reason};

/// Runs `first -> second` until `first.input` is closed and every order it
/// accepted has been through both stages.
///
/// Each stage works on at most its `workers` orders at once. An order done by the
/// first stage is pushed into `second.input` (bounded, wait policy), and the worker
/// takes no new order until the push got in. Once every first-stage worker has
/// ended, `second.input` is closed, so the second stage ends when it is empty.
pub async fn run_stages(first: Stage, second: Stage) {
    // TODO(s1.e11): start `first.workers` tasks that loop: next order from
    // `first.input` -> `first.processor.process(..)` -> `second.input.push(..).await`;
    // and `second.workers` tasks that loop: next order from `second.input` -> process.
    // When every first-stage task has ended, close `second.input`; then wait for the
    // second stage's tasks.
    todo!("s1.e11: two sets of workers, the second stage's input between them")
}

/// How to divide a team of `team` workers between two stages whose work takes
/// `first` and `second` per order, for the most orders per second through both.
/// Returns `(first_workers, second_workers)`: each at least 1, together `team`
/// (a team smaller than 2 is taken as 2).
pub fn balance(team: usize, first: Duration, second: Duration) -> (usize, usize) {
    // TODO(s1.e11): a pipeline is as fast as its slowest stage. How many orders per
    // second does a stage of `c` workers carry when each order takes `t`?
    todo!("s1.e11: split the team so neither stage holds the other up")
}
