//! Exercise s2.e3: intercept a broadcast and push it per client.
//!
//! - slide: slides/src/section2/part1/e03_intercept.md
//! - tests: `mod e03_intercept` in section2-channels/tests/part1.rs,
//!   run by `cargo xtask check s2.e3`
//! - stuck? `cargo xtask hint s2.e3` (each hint gives away a little more)
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

    // TODO(s2.e3): list the broadcast event this channel must see first.
    const INTERCEPTS: &'static [&'static str] = &[];

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

    async fn handle_out(
        &mut self,
        event: &str,
        payload: &Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> Handled {
        // TODO(s2.e3): for "request_ping", push "send_ping" to this client with the
        // broadcast's payload plus "from_node": the node's name (ask the pubsub). Push
        // any other intercepted event unchanged. Keep the channel running.
        todo!("s2.e3: push send_ping with from_node")
    }
}
