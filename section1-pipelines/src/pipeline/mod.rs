//! The part 2 pipeline's provided pieces: events, a bounded producer that
//! consumers pull from with demand, the step that uses the resource, and the
//! gauges and counters that say what the pipeline is doing.
//!
//! GenStage's ideas, mapped onto tokio:
//!
//! | GenStage | here |
//! |---|---|
//! | producer with a buffer | [`Producer`]: a bounded buffer with an explicit [`OverflowPolicy`] |
//! | consumer asking for `max_demand`, re-asking at `min_demand` | [`Subscription`] with a [`Demand`] |
//! | ConsumerSupervisor (`max_demand` = children in flight) | a worker pool: one task per event, at most N at once (exercise s1.e7) |
//! | the work a consumer does | [`Processor::process`] |
//! | `:observer` and telemetry | [`PipelineMetrics`], shown in `/stats` and on `/part2` |
//!
//! How events get from the producer to the processor is the exercises' job
//! (`src/start/part2/`); everything here is meant to be read.

pub mod config;
pub mod event;
pub mod handle;
pub mod latency;
pub mod metrics;
pub mod processor;
pub mod producer;
pub mod supervision;

pub use config::{Drain, PipelineConfig};
pub use event::Event;
pub use handle::{MAX_PUSH_WAIT, PipelineHandle};
pub use metrics::{PipelineMetrics, PipelineSnapshot};
pub use processor::{Ledger, Processor};
pub use producer::{Demand, OverflowPolicy, Producer, PushError, Subscription};
pub use supervision::{CrashLoop, RestartIntensity, failure_reason};
