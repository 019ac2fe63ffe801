//! Exercise s1.e11: stages of different speed. Slide: slides/src/section1/part2/e11_stages.md
//!
//! Orders go through two stages: checking stock (fast) and printing a shipping label
//! (slow). Each stage has its own workers; between them, the second stage's bounded
//! input is the producer-consumer in the middle. When the label printer lags, that
//! queue fills, the stock checkers wait to hand orders over, and the wait reaches
//! whoever feeds the pipeline. Then: how to divide a team of workers between stages.

use std::time::Duration;

use tokio::task::JoinSet;

use pipeline::{Demand, Stage, failure_reason};

/// Runs `first -> second` until `first.input` is closed and every order it
/// accepted has been through both stages.
///
/// Each stage works on at most its `workers` orders at once. An order done by the
/// first stage is pushed into `second.input` (bounded, wait policy), and the worker
/// takes no new order until the push got in. Once every first-stage worker has
/// ended, `second.input` is closed, so the second stage ends when it is empty.
// ANCHOR: run_stages
pub async fn run_stages(first: Stage, second: Stage) {
    let mut first_workers = JoinSet::new();
    for _ in 0..first.workers.max(1) {
        // One order at a time from the input: a batch would be a queue of the
        // worker's own, which no bound counts.
        let mut orders = first.input.subscribe(Demand::one());
        let processor = first.processor.clone();
        let next = second.input.clone();
        first_workers.spawn(async move {
            while let Some(order) = orders.next().await {
                processor.process(order.clone()).await;
                // Wait for room: while the second stage lags, this worker holds its
                // order and pulls nothing more, so its own input fills and whoever
                // pushes there waits in turn. That is back-pressure, stage by stage.
                if let Err(error) = next.push(order).await {
                    // Only a shutdown closes the next stage early: stop pulling.
                    tracing::warn!(%error, "the next stage is closed; the first stage stops");
                    break;
                }
            }
        });
    }
    let mut second_workers = JoinSet::new();
    for _ in 0..second.workers.max(1) {
        let mut orders = second.input.subscribe(Demand::one());
        let processor = second.processor.clone();
        second_workers.spawn(async move {
            while let Some(order) = orders.next().await {
                processor.process(order).await;
            }
        });
    }
    // Close the queue in the middle only when *every* first-stage worker is done: a
    // worker still holding an order would find it closed and lose that order.
    while let Some(done) = first_workers.join_next().await {
        report(done, "first");
    }
    second.input.close();
    while let Some(done) = second_workers.join_next().await {
        report(done, "second");
    }
}
// ANCHOR_END: run_stages

fn report(done: Result<(), tokio::task::JoinError>, stage: &str) {
    if let Err(error) = done {
        // A crashed worker's stage runs one short from then on (s1.e8 shows how a
        // supervisor would replace it); say so rather than lose it quietly.
        let reason = failure_reason(error);
        tracing::error!(stage, %reason, "a stage worker crashed");
    }
}

/// How to divide a team of `team` workers between two stages whose work takes
/// `first` and `second` per order, for the most orders per second through both.
/// Returns `(first_workers, second_workers)`: each at least 1, together `team`
/// (a team smaller than 2 is taken as 2).
// ANCHOR: balance
pub fn balance(team: usize, first: Duration, second: Duration) -> (usize, usize) {
    let team = team.max(2);
    let (t1, t2) = (first.as_secs_f64(), second.as_secs_f64());
    if t1 + t2 <= 0.0 {
        return (team / 2, team - team / 2);
    }
    // A pipeline moves orders at the rate of its slowest stage, and a stage of c
    // workers whose work takes t each carries c / t orders per second (Little's law:
    // workers busy = rate x time). Both stages keep up with one rate when workers
    // go in proportion to time: c1 / c2 = t1 / t2.
    let rate = |c1: usize| f64::min(c1 as f64 / t1, (team - c1) as f64 / t2);
    let ideal = team as f64 * t1 / (t1 + t2);
    // Whole workers only: the best split is just below or just above the ideal.
    let below = (ideal.floor() as usize).clamp(1, team - 1);
    let above = (ideal.ceil() as usize).clamp(1, team - 1);
    let first_workers = if rate(above) > rate(below) {
        above
    } else {
        below
    };
    (first_workers, team - first_workers)
}
// ANCHOR_END: balance
