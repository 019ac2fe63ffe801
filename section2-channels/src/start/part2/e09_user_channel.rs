//! Exercise s2.e9: a channel only its own user may join.
//!
//! - slide: slides/src/section2/part2/e09_user_channel.md
//! - tests: `mod e09_user_channel` in section2-channels/tests/part2.rs,
//!   run by `cargo xtask check s2.e9`
//! - stuck? `cargo xtask hint s2.e9` (each hint gives away a little more)
//!
//! The socket knows who connected (s2.e8). A channel decides who may join *it*:
//! `user:42` is for user 42's notifications, and anyone else gets `unauthorized`.
//! One user has one topic: the id is written in canonical decimal form only
//! (`user:42`, never `user:042` or `user:+42`).

use serde_json::json;

use channels::auth::UserId;
use channels::{Channel, ChannelContext, HandleIn, Join, Payload};

/// The refusal of a topic whose id is not written as `user:<id>` in decimal.
pub const INVALID_TOPIC: &str =
    "invalid topic: user:<id> takes a decimal id without sign or leading zeros";

/// The channel on topics `user:<id>`.
pub struct UserChannel {
    user_id: i64,
}

impl Channel for UserChannel {
    type Info = ();

    async fn join(topic: &str, _payload: Payload, ctx: &mut ChannelContext<Self>) -> Join<Self> {
        // TODO(s2.e9): join only when the topic's id ("user:<id>") is the socket's own
        // user (`ctx.assign::<UserId>()`); anyone else gets an error reply
        // {"reason": "unauthorized"}. The id must be in canonical decimal form, the one
        // way `i64` prints it: "user:7", never "user:07" or "user:+7" (`parse` reads
        // all three as 7, and one user would hold many aliases of one topic). Any
        // other id, a number or not, gets {"reason": INVALID_TOPIC}.
        todo!("s2.e9: let only the socket's own user join user:<id>")
    }

    async fn handle_in(
        &mut self,
        event: &str,
        _payload: Payload,
        _ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        match event {
            "whoami" => HandleIn::ok(json!({ "user_id": self.user_id })),
            other => HandleIn::error(json!({ "reason": format!("unknown event: {other}") })),
        }
    }
}
