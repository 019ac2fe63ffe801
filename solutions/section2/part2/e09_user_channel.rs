//! Exercise s2.e9: a channel only its own user may join. Slide:
//! slides/src/section2/part2/e09_user_channel.md
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

/// `id` as a user id, if it is written the one way `i64` prints it.
// ANCHOR: canonical_id
fn canonical_id(id: &str) -> Option<i64> {
    id.parse::<i64>().ok().filter(|n| n.to_string() == id)
}
// ANCHOR_END: canonical_id

/// The channel on topics `user:<id>`.
pub struct UserChannel {
    user_id: i64,
}

impl Channel for UserChannel {
    type Info = ();

    // ANCHOR: join
    async fn join(topic: &str, _payload: Payload, ctx: &mut ChannelContext<Self>) -> Join<Self> {
        // One spelling per user: `parse` also reads "042" and "+42" as 42, and each
        // would be another topic (another channel, another set of subscribers) for
        // the same user.
        let Some(asked) = topic.strip_prefix("user:").and_then(canonical_id) else {
            return Join::error(json!({ "reason": INVALID_TOPIC }));
        };
        match ctx.assign::<UserId>() {
            Some(&UserId(me)) if me == asked => Join::ok(UserChannel { user_id: me }),
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
