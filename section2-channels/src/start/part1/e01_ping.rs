//! Exercise s2.e1: the ping channel.
//!
//! - slide: slides/src/section2/part1/e01_ping.md
//! - tests: `mod e01_ping` in section2-channels/tests/part1.rs,
//!   run by `cargo xtask check s2.e1`
//! - stuck? `cargo xtask hint s2.e1` (each hint gives away a little more)
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

    async fn handle_in(
        &mut self,
        event: &str,
        payload: Payload,
        _ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        // TODO(s2.e1): answer each event (slide: slides/src/section2/part1/e01_ping.md):
        // - "ping": reply ok {"ping": "pong"}; with a string "ack_phrase" in the payload,
        //   reply ok {"ping": <the phrase>}; an ack_phrase that is not a string gets
        //   an error reply {"reason": "ack_phrase must be a string"};
        // - "pong": no reply at all;
        // - "ding": reply ok {"msg": "shutting down"}, then stop the channel;
        // - "param_ping": error {"reason": "failed"} when the payload has "error": true,
        //   otherwise reply ok with the payload itself;
        // - anything else: error {"reason": "unknown event: <event>"}.
        // `HandleIn` has a constructor for each case; `json!` builds the responses.
        todo!("s2.e1: answer ping, pong, ding and param_ping")
    }
}
