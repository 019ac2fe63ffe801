//! Exercise s2.e5 (hard mode): bound the reports one channel builds at once.
//!
//! - slide: slides/src/section2/part1/e05_bounded_reports.md
//! - tests: `mod e05_bounded_reports` in section2-channels/tests/part1.rs,
//!   run by `cargo xtask check s2.e5`
//! - stuck? `cargo xtask hint s2.e5` (each hint gives away a little more)
//!
//! `parallel_report` from s2.e4 spawns a task per request: a client that sends a
//! thousand requests starts a thousand reports. Here at most [`MAX_IN_FLIGHT`] run at
//! once per channel; further requests wait their turn (and, once the channel's
//! mailbox is full, the socket answers "channel busy": the bound reaches the client).

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Semaphore;

use activity::reports::{build_report, report_name};
use channels::{Channel, ChannelContext, HandleIn, Join, Payload, Status};

/// Reports one channel may build at the same time.
pub const MAX_IN_FLIGHT: usize = 2;

/// The channel on topic `reports:bounded`.
pub struct BoundedReportsChannel {
    /// One permit per report in flight.
    permits: Arc<Semaphore>,
}

impl Channel for BoundedReportsChannel {
    type Info = ();

    async fn join(_topic: &str, _payload: Payload, _ctx: &mut ChannelContext<Self>) -> Join<Self> {
        Join::ok(BoundedReportsChannel {
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        })
    }

    async fn handle_in(
        &mut self,
        event: &str,
        payload: Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        match event {
            "parallel_report" => {
                // TODO(s2.e5): like s2.e4, build the report on its own task and reply
                // through a SocketRef, but with at most MAX_IN_FLIGHT reports running
                // at once: take a permit from `self.permits` before spawning, and let
                // the spawned task hold it until the report is done.
                todo!("s2.e5: bound the reports in flight with the semaphore")
            }
            other => HandleIn::error(json!({ "reason": format!("unknown event: {other}") })),
        }
    }
}
