//! # `pipeline`: section 1's provided infrastructure
//!
//! Everything the section's exercises stand on, meant to be read: the slow shared
//! resource ([`mock_resource::MockResource`]), the part 2 pipeline (events, a bounded
//! producer that consumers pull from with demand, the step that uses the resource,
//! the gauges and counters that say what the pipeline is doing), and the pieces the
//! section's web app serves (the live dashboards, `/stats`).
//!
//! GenStage's ideas, mapped onto tokio:
//!
//! | GenStage | here |
//! |---|---|
//! | producer with a buffer | [`Producer`]: a bounded buffer with an explicit [`OverflowPolicy`] |
//! | consumer asking for `max_demand`, re-asking at `min_demand` | [`Subscription`] with a [`Demand`] |
//! | ConsumerSupervisor (`max_demand` = children in flight) | a worker pool: one task per event, at most N at once (exercise s1.e7) |
//! | producer-consumer stage between two consumers | [`Stage`]: a stage's bounded input is the queue the stage before it pushes into (exercise s1.e11) |
//! | the work a consumer does | [`Processor::process`] |
//! | `:observer` and telemetry | [`PipelineMetrics`], shown in `/stats` and on `/part2` |
//!
//! How events get from the producer to the processor is the exercises' job
//! (`section1-pipelines/src/start/part2/`); nothing in this crate is an exercise.

// Part 1: the resource, and the gate the shedding exercise uses.
pub mod mock_resource;
pub mod shed_gate;

// Part 2: the pipeline (README.md gives the reading order).
pub mod config;
pub mod event;
pub mod handle;
pub mod latency;
pub mod metrics;
pub mod processor;
pub mod producer;
pub mod stage;
pub mod supervision;

// Part 2's case studies: the steps of s1.e5 and the upstream of s1.e10.
pub mod composition;
pub mod portal;

// What the section's server shows.
pub mod dashboard;
pub mod stats;

pub use config::{Drain, PipelineConfig};
pub use event::Event;
pub use handle::{MAX_PUSH_WAIT, PipelineHandle};
pub use metrics::{PipelineMetrics, PipelineSnapshot};
pub use mock_resource::MockResource;
pub use processor::{Ledger, Processor};
pub use producer::{Demand, OverflowPolicy, Producer, PushError, Subscription};
pub use stage::Stage;
pub use supervision::{CrashLoop, RestartIntensity, failure_reason};
