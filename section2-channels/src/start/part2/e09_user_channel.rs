//! Exercise s2.e9: a channel only its own user may join.
//!
//! - slide: slides/src/section2/part2/e09_user_channel.md
//! - tests: `mod e09_user_channel` in section2-channels/tests/part2.rs,
//!   run by `cargo xtask check s2.e9`
//! - stuck? `cargo xtask hint s2.e9` (each hint gives away a little more)
//!
//! The socket knows who connected (s2.e8). A channel decides who may join *it*:
//! `user:42` is for user 42's notifications, and anyone else gets `unauthorized`.

use serde_json::json;

use channels::auth::UserId;
use channels::{Channel, ChannelContext, HandleIn, Join, Payload};

/// The channel on topics `user:<id>`.
pub struct UserChannel {
    user_id: i64,
}

impl Channel for UserChannel {
    type Info = ();

    async fn join(topic: &str, _payload: Payload, ctx: &mut ChannelContext<Self>) -> Join<Self> {
        // TODO(s2.e9): join only when the topic's id ("user:<id>") is the socket's own
        // user (`ctx.assign::<UserId>()`); anyone else, and any topic whose id is not
        // a number, gets an error reply {"reason": "unauthorized"}.
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
