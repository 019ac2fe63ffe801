//! Exercise s2.e1: the ping channel. Slide: slides/src/section2/part1/e01_ping.md
//!
//! The smallest useful channel: a client joins `ping` and every event it pushes gets
//! an answer (or, on purpose, none).

use serde_json::{Value, json};

use channels::{Channel, ChannelContext, HandleIn, Join, Payload, Status};

/// The channel on topic `ping`. It keeps no state.
pub struct PingChannel;

impl Channel for PingChannel {
    type Info = ();

    async fn join(_topic: &str, _payload: Payload, _ctx: &mut ChannelContext<Self>) -> Join<Self> {
        Join::ok(PingChannel)
    }

    // ANCHOR: handle_in
    async fn handle_in(
        &mut self,
        event: &str,
        payload: Payload,
        _ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        match event {
            // `ping` answers `pong`, or echoes the phrase the client chose.
            "ping" => match payload.get("ack_phrase") {
                None => HandleIn::ok(json!({ "ping": "pong" })),
                Some(Value::String(phrase)) => HandleIn::ok(json!({ "ping": phrase })),
                Some(_) => HandleIn::error(json!({ "reason": "ack_phrase must be a string" })),
            },
            // No reply: the client's push times out. Replies are optional.
            "pong" => HandleIn::no_reply(),
            // Reply, then stop: the client gets the reply, then phx_close.
            "ding" => HandleIn::stop_with_reply(Status::Ok, json!({ "msg": "shutting down" })),
            // An error reply is an answer too: the channel keeps running.
            "param_ping" => match payload.get("error") {
                Some(Value::Bool(true)) => HandleIn::error(json!({ "reason": "failed" })),
                _ => HandleIn::ok(Value::Object(payload)),
            },
            other => HandleIn::error(json!({ "reason": format!("unknown event: {other}") })),
        }
    }
    // ANCHOR_END: handle_in
}
