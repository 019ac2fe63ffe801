//! Exercise s2.e3: intercept a broadcast and push it per client. Slide:
//! slides/src/section2/part1/e03_intercept.md
//!
//! An operations console joins `ops`. When the server broadcasts `request_ping`, every
//! joined client should receive `send_ping` naming the node that answered: the same
//! broadcast, rewritten by each channel for its own client.

use serde_json::{Value, json};

use channels::{Channel, ChannelContext, HandleIn, Handled, Join, Payload};

/// The channel on topic `ops`.
pub struct OpsChannel;

impl Channel for OpsChannel {
    type Info = ();

    // ANCHOR: intercepts
    // These events skip the shared, pre-encoded fast path and go to `handle_out`.
    const INTERCEPTS: &'static [&'static str] = &["request_ping"];
    // ANCHOR_END: intercepts

    async fn join(_topic: &str, _payload: Payload, _ctx: &mut ChannelContext<Self>) -> Join<Self> {
        Join::ok(OpsChannel)
    }

    async fn handle_in(
        &mut self,
        event: &str,
        _payload: Payload,
        _ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        HandleIn::error(json!({ "reason": format!("unknown event: {event}") }))
    }

    // ANCHOR: handle_out
    async fn handle_out(
        &mut self,
        event: &str,
        payload: &Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> Handled {
        if event == "request_ping" {
            let mut ping = payload.clone();
            ping.insert("from_node".into(), json!(ctx.pubsub().node_name()));
            ctx.push("send_ping", Value::Object(ping));
        } else {
            ctx.push(event, Value::Object(payload.clone()));
        }
        Handled::Continue
    }
    // ANCHOR_END: handle_out
}
