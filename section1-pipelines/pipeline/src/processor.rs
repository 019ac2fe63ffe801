//! The step that does the work: one event, one use of the resource.

use std::sync::{Arc, Mutex};

use crate::event::Event;
use crate::metrics::PipelineMetrics;
use crate::mock_resource::MockResource;

/// Processes events: counts each in flight, uses the resource, records the latency.
///
/// This is the "consumer's work" of every exercise; how events reach it (one
/// consumer, three, a pool, a supervisor) is what the exercises build. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Processor {
    resource: Option<MockResource>,
    metrics: PipelineMetrics,
    ledger: Option<Ledger>,
}

impl Processor {
    /// Processes events against `resource`, updating `metrics`.
    pub fn new(resource: MockResource, metrics: PipelineMetrics) -> Self {
        Processor {
            resource: Some(resource),
            metrics,
            ledger: None,
        }
    }

    /// A processor whose "resource" costs nothing: the benchmark uses it to measure
    /// the pipeline's own overhead.
    pub fn trivial(metrics: PipelineMetrics) -> Self {
        Processor {
            resource: None,
            metrics,
            ledger: None,
        }
    }

    /// Also writes every processed id into `ledger` (tests check "exactly once" with it).
    pub fn with_ledger(mut self, ledger: Ledger) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// Processes one event.
    ///
    /// # Panics
    /// On a poisoned event ([`Event::poisoned`]), with its reason: the crash a
    /// supervisor has to contain (exercise s1.e8).
    pub async fn process(&self, event: Event) {
        // The guard counts the event out of flight however this ends: done,
        // panicked, or cancelled (an aborted task drops its future).
        let _in_flight = self.metrics.start(&event);
        if let Some(reason) = &event.poison {
            panic!("event {} is poisoned: {reason}", event.id);
        }
        if let Some(resource) = &self.resource {
            resource.use_resource().await;
        }
        if let Some(ledger) = &self.ledger {
            ledger.record(event.id);
        }
        self.metrics.processed(&event);
    }

    /// The figures this processor updates.
    pub fn metrics(&self) -> &PipelineMetrics {
        &self.metrics
    }
}

/// Every event id processed, in completion order: lets a test prove "exactly once".
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    ids: Arc<Mutex<Vec<u64>>>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Ledger::default()
    }

    fn record(&self, id: u64) {
        self.ids.lock().unwrap_or_else(|p| p.into_inner()).push(id);
    }

    /// The ids processed so far, in completion order.
    pub fn ids(&self) -> Vec<u64> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Ids processed more than once, sorted.
    pub fn duplicates(&self) -> Vec<u64> {
        let mut ids = self.ids();
        ids.sort_unstable();
        let mut dups: Vec<u64> = ids
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        dups.dedup();
        dups
    }
}
