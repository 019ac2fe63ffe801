//! One stage of a multi-stage pipeline (s1.e11): where its events wait, what it does
//! to each, and how many it works on at once.
//!
//! The original training's "bricklayers and painters": a fast stage feeds a slow one,
//! each with its own crew. Between them sits a producer-consumer: a bounded buffer the
//! first stage pushes into and the second pulls from. Here that buffer is simply the
//! second stage's [`Stage::input`], a [`Producer`] under the wait policy, so a full
//! buffer makes the first stage's workers wait, they stop pulling from their own
//! input, and the wait travels back to whoever feeds the pipeline: back-pressure.

use crate::metrics::PipelineMetrics;
use crate::mock_resource::MockResource;
use crate::processor::{Ledger, Processor};
use crate::producer::{OverflowPolicy, Producer};

/// A stage: a bounded input, the work, and its number of workers.
///
/// Cheap to clone (every field is a handle). The input and the processor share one
/// [`PipelineMetrics`], so [`Stage::metrics`] adds up for the stage alone: accepted
/// into its input = processed + waiting + in flight.
#[derive(Clone, Debug)]
pub struct Stage {
    /// Where the stage's events wait, bounded. For a stage after the first, this is
    /// the queue in the middle: the stage before pushes into it, this one pulls.
    pub input: Producer,
    /// The work: one event, one use of this stage's resource.
    pub processor: Processor,
    /// How many events this stage works on at once.
    pub workers: usize,
}

impl Stage {
    /// A stage whose every event holds `resource` once, `workers` at a time, behind an
    /// input of `capacity` events under the wait policy: a push into a full input
    /// waits for room instead of failing or dropping, which is what carries the
    /// pressure back to the stage (or the client) that pushes.
    pub fn new(resource: MockResource, workers: usize, capacity: usize) -> Stage {
        let metrics = PipelineMetrics::new(capacity);
        Stage {
            input: Producer::new(capacity, OverflowPolicy::Wait, metrics.clone()),
            processor: Processor::new(resource, metrics),
            workers,
        }
    }

    /// Also writes every event this stage processes into `ledger` (ids as this
    /// stage's input numbered them), so a test can prove "exactly once".
    pub fn with_ledger(mut self, ledger: Ledger) -> Stage {
        self.processor = self.processor.with_ledger(ledger);
        self
    }

    /// The stage's figures: accepted into its input, waiting, in flight, processed,
    /// and latency since each event was first enqueued (at the first stage).
    pub fn metrics(&self) -> &PipelineMetrics {
        self.input.metrics()
    }
}
