//! Exercise s2.e9: a channel only its own user may join. Slide:
//! slides/src/section2/part2/e09_user_channel.md
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

    // ANCHOR: join
    async fn join(topic: &str, _payload: Payload, ctx: &mut ChannelContext<Self>) -> Join<Self> {
        let me = ctx.assign::<UserId>().copied();
        let asked = topic
            .strip_prefix("user:")
            .and_then(|id| id.parse::<i64>().ok());
        match (me, asked) {
            (Some(UserId(me)), Some(asked)) if me == asked => Join::ok(UserChannel { user_id: me }),
            // Not "no such user": the client learns nothing about other users.
            _ => Join::error(json!({ "reason": "unauthorized" })),
        }
    }
    // ANCHOR_END: join

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
