//! Exercise s2.e5 (hard mode): bound the reports one channel builds at once. Slide:
//! slides/src/section2/part1/e05_bounded_reports.md
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
            // ANCHOR: bounded
            "parallel_report" => {
                // Wait for a permit *here*, in the channel's task: while all are taken
                // the channel takes no new request, and its bounded mailbox fills up
                // instead of an unbounded crowd of waiting tasks.
                let permit = self
                    .permits
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed");
                let name = report_name(&payload);
                let socket_ref = ctx.socket_ref();
                tokio::spawn(async move {
                    let report = build_report(&name).await;
                    socket_ref.reply(Status::Ok, report);
                    // The permit goes back when the report is done.
                    drop(permit);
                });
                HandleIn::no_reply()
            }
            // ANCHOR_END: bounded
            other => HandleIn::error(json!({ "reason": format!("unknown event: {other}") })),
        }
    }
}
