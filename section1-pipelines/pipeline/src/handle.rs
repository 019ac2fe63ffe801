//! The app's pipeline: a producer the `/part2/pipeline` handler pushes into, and
//! whatever drains it, started with the first event.

use std::sync::{Arc, OnceLock};

use crate::config::PipelineConfig;
use crate::event::Event;
use crate::metrics::PipelineMetrics;
use crate::producer::{Producer, PushError};

type Starter = dyn Fn(&Producer) + Send + Sync;

/// The longest `/part2/pipeline` lets a client wait for room under the wait policy,
/// before answering 503: waiting is back-pressure, waiting forever is a hang.
pub const MAX_PUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What the part 2 handlers share: the producer, its figures and its configuration.
///
/// The drain (consumers or a pool, from the learner's code or the reference) starts
/// on the first push, not when the app is built: a server that never sees `/part2`
/// runs no pipeline tasks, and an unfinished exercise cannot break part 1.
#[derive(Clone)]
pub struct PipelineHandle {
    producer: Producer,
    config: PipelineConfig,
    starter: Arc<Starter>,
    started: Arc<OnceLock<()>>,
}

impl std::fmt::Debug for PipelineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineHandle")
            .field("config", &self.config)
            .field("started", &self.started.get().is_some())
            .finish_non_exhaustive()
    }
}

impl PipelineHandle {
    /// A pipeline configured by `config`; `start` spawns its drain (once, on first push).
    pub fn new(config: PipelineConfig, start: impl Fn(&Producer) + Send + Sync + 'static) -> Self {
        let metrics = PipelineMetrics::new(config.capacity);
        PipelineHandle {
            producer: Producer::new(config.capacity, config.policy, metrics),
            config,
            starter: Arc::new(start),
            started: Arc::new(OnceLock::new()),
        }
    }

    /// Pushes an event into the pipeline (starting its drain if this is the first).
    pub async fn push(&self, event: Event) -> Result<u64, PushError> {
        self.started.get_or_init(|| (self.starter)(&self.producer));
        self.producer.push(event).await
    }

    /// The producer (its buffer, policy and capacity).
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// The pipeline's gauges and counters.
    pub fn metrics(&self) -> &PipelineMetrics {
        self.producer.metrics()
    }

    /// How the pipeline is set up.
    pub fn config(&self) -> PipelineConfig {
        self.config
    }
}
