//! One unit of work travelling through the pipeline.

use std::sync::Arc;

use tokio::time::Instant;

/// An event: one job for the slow resource (think "write this order to the ledger").
///
/// It carries the moment it was enqueued, so the pipeline can measure what a user
/// feels: the time from "accepted" to "done", queueing included. Cloning is cheap
/// (a poisoned event shares its reason), which a supervisor needs to retry one.
#[derive(Clone, Debug)]
pub struct Event {
    /// A number unique within one producer, in push order.
    pub id: u64,
    /// When it was made to be enqueued, just before the push (tokio's clock, so
    /// paused-time tests are exact). Stamped once: under the wait policy the time
    /// spent waiting for room counts, as the client waited it too.
    pub enqueued_at: Instant,
    /// `Some(reason)` makes the processor panic on this event: a stand-in for the
    /// malformed order or the bug that crashes a worker in production.
    pub poison: Option<Arc<str>>,
}

impl Event {
    /// A healthy event, stamped now; the producer gives it its `id` when it accepts it.
    pub fn new() -> Self {
        Event {
            id: 0,
            enqueued_at: Instant::now(),
            poison: None,
        }
    }

    /// An event that crashes whichever worker processes it, for the given reason.
    pub fn poisoned(reason: &str) -> Self {
        Event {
            poison: Some(reason.into()),
            ..Event::new()
        }
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}
