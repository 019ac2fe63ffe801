//! The tracker-gated pipeline of s4.e4, run with your `handle_reading` or the
//! reference's. The pipeline itself (readings, stage, worker pool, `sensor:*` channel,
//! the savings experiment) is provided: `tracker::gated`, re-exported here.

pub use tracker::gated::*;

use crate::Implementation;

/// Which code handles each reading: yours (src/start/part1/e04_gated_pipeline.rs) or the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    /// Your `handle_reading`.
    Start,
    /// The reference.
    Solution,
}

impl From<Implementation> for Handler {
    fn from(implementation: Implementation) -> Self {
        match implementation {
            Implementation::Start => Handler::Start,
            Implementation::Solution => Handler::Solution,
        }
    }
}

impl HandleReading for Handler {
    async fn handle(self, stage: &Stage, reading: SensorReading) -> Outcome {
        match self {
            Handler::Start => {
                crate::start::part1::e04_gated_pipeline::handle_reading(stage, reading).await
            }
            Handler::Solution => {
                crate::solution::part1::e04_gated_pipeline::handle_reading(stage, reading).await
            }
        }
    }
}
