//! Exercise s4.e1: a room channel that tracks each joined user and lists who is here.
//!
//! - slide: slides/src/section4/part1/e01_presence_room.md
//! - tests: `mod e01_presence_room` in section4-tracker-live/tests/part1.rs,
//!   run by `cargo xtask check s4.e1`
//! - stuck? `cargo xtask hint s4.e1` (each hint gives away a little more)
//!
//! Slide: slides/src/section4/part1/e01_presence_room.md

use channels::{Channel, ChannelContext, HandleIn, Join, Payload};
use serde_json::{Map, Value, json};

use tracker::Owner;
use tracker::presence::{PresenceTracker, RoomUser, UserMeta, meta_json, now_unix, user_key};

/// One user's connection to a `room:*` topic.
pub struct RoomChannel {
    /// Owns this connection's presence: when the channel ends (leave, disconnect,
    /// crash), the channel is dropped, the owner with it, and the tracker untracks.
    _owner: Owner,
}

impl Channel for RoomChannel {
    type Info = ();

    async fn join(topic: &str, payload: Payload, ctx: &mut ChannelContext<Self>) -> Join<Self> {
        let Some(user) = RoomUser::from_payload(&payload) else {
            return Join::error(json!({"reason": "user_id and name are required"}));
        };
        // TODO(s4.e1): track this user in `topic` under `user_key(&user.user_id)`, with a
        // `UserMeta { name, online_at: now_unix() }`, owned by a new `tracker.owner()`
        // that the channel keeps. The tracker is `ctx.state::<PresenceTracker>()`.
        todo!("s4.e1: track the user, then Join::ok(RoomChannel {{ _owner: owner }})")
    }

    async fn handle_in(
        &mut self,
        event: &str,
        _payload: Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        match event {
            // TODO(s4.e1): reply ok with `{KEY: {"metas": [meta_json(..), ...]}}` for every
            // presence `tracker.list(ctx.topic())` returns.
            "list" => todo!("s4.e1: list the room's presences"),
            _ => HandleIn::error(json!({"reason": format!("unknown event {event:?}")})),
        }
    }
}
