//! Exercise s2.e4: slow vs parallel replies.
//!
//! - slide: slides/src/section2/part1/e04_reports.md
//! - tests: `mod e04_reports` in section2-channels/tests/part1.rs,
//!   run by `cargo xtask check s2.e4`
//! - stuck? `cargo xtask hint s2.e4` (each hint gives away a little more)
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
            // The channel's task waits here: nothing else on this channel runs meanwhile.
            "slow_report" => HandleIn::ok(build_report(&report_name(&payload)).await),
            "status" => HandleIn::ok(json!({ "open": true })),
            "parallel_report" => {
                // TODO(s2.e4): build the report on a task of its own and reply from
                // there, so this handler returns at once and the channel is free for
                // the next request. `ctx.socket_ref()` replies from anywhere; return
                // `HandleIn::no_reply()` here.
                todo!("s2.e4: build the report on its own task, reply through a SocketRef")
            }
            other => HandleIn::error(json!({ "reason": format!("unknown event: {other}") })),
        }
    }
}
