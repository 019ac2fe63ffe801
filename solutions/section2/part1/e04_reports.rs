//! Exercise s2.e4: slow vs parallel replies. Slide: slides/src/section2/part1/e04_reports.md
//!
//! A channel handles one message at a time. `slow_report` builds the report inside the
//! handler: five requests take five report-times, one after the other. Make
//! `parallel_report` build it on its own task and reply from there, through a
//! `SocketRef`: five requests then take about one report-time.

use serde_json::json;

use activity::reports::{build_report, report_name};
use channels::{Channel, ChannelContext, HandleIn, Join, Payload, Status};

/// The channel on topic `reports`.
pub struct ReportsChannel;

impl Channel for ReportsChannel {
    type Info = ();

    async fn join(_topic: &str, _payload: Payload, _ctx: &mut ChannelContext<Self>) -> Join<Self> {
        Join::ok(ReportsChannel)
    }

    async fn handle_in(
        &mut self,
        event: &str,
        payload: Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        match event {
            // ANCHOR: slow
            // The channel's task waits here: nothing else on this channel runs meanwhile.
            "slow_report" => HandleIn::ok(build_report(&report_name(&payload)).await),
            // ANCHOR_END: slow
            "status" => HandleIn::ok(json!({ "open": true })),
            // ANCHOR: parallel
            "parallel_report" => {
                let name = report_name(&payload);
                // A handle on this request's reply, usable from any task.
                let socket_ref = ctx.socket_ref();
                tokio::spawn(async move {
                    let report = build_report(&name).await;
                    socket_ref.reply(Status::Ok, report);
                });
                // Free the channel now; the reply comes later.
                HandleIn::no_reply()
            }
            // ANCHOR_END: parallel
            other => HandleIn::error(json!({ "reason": format!("unknown event: {other}") })),
        }
    }
}
