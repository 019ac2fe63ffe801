//! Exercise s4.e3: Presence for browsers: `presence_state` after join, `presence_diff` on change, in the shape the official JavaScript `Presence` syncs from.
//!
//! - slide: slides/src/section4/part1/e03_presence_channel.md
//! - tests: `mod e03_presence_channel` in section4-tracker-live/tests/part1.rs,
//!   run by `cargo xtask check s4.e3`
//! - stuck? `cargo xtask hint s4.e3` (each hint gives away a little more)
//!
//! Slide: slides/src/section4/part1/e03_presence_channel.md

use std::time::Duration;

use channels::{Channel, ChannelContext, HandleIn, Handled, Join, Payload};
use serde_json::{Map, Value, json};

use tracker::presence::{PresenceTracker, RoomUser, UserMeta, meta_json, now_unix, user_key};
use tracker::state::Key;
use tracker::{Owner, TopicDiff, Tracked};

/// Messages a chat channel sends itself.
pub enum AfterJoin {
    /// The join reply is out: now send the presence state.
    PushState,
}

/// One user's connection to a `chat:*` topic, visible to the others through Presence.
pub struct ChatChannel {
    /// Dropping the channel drops the owner: the user leaves on every node.
    _owner: Owner,
}

impl Channel for ChatChannel {
    type Info = AfterJoin;

    async fn join(topic: &str, payload: Payload, ctx: &mut ChannelContext<Self>) -> Join<Self> {
        let Some(user) = RoomUser::from_payload(&payload) else {
            return Join::error(json!({"reason": "user_id and name are required"}));
        };
        // TODO(s4.e3): track the user as in s4.e1, then ask for the state push *after*
        // the join reply: `ctx.send_after(Duration::ZERO, AfterJoin::PushState)`.
        todo!("s4.e3: track, schedule AfterJoin::PushState, Join::ok")
    }

    async fn handle_info(&mut self, message: AfterJoin, ctx: &mut ChannelContext<Self>) -> Handled {
        // TODO(s4.e3): push "presence_state" with `group(&tracker.list(topic).await)`.
        todo!("s4.e3: push presence_state")
    }

    async fn handle_in(
        &mut self,
        event: &str,
        _payload: Payload,
        _ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        HandleIn::error(json!({"reason": format!("unknown event {event:?}")}))
    }
}

/// `{KEY: {"metas": [meta, ...]}}`: one entry per key, one meta per connection.
pub fn group(entries: &[(Key, Tracked<UserMeta>)]) -> Value {
    // TODO(s4.e3): group by key; each meta is `meta_json(tracked)` (it adds phx_ref).
    todo!("s4.e3: group presences by key")
}

/// The `presence_diff` payload of one topic's changes. An update arrives as a leave of
/// the old meta and a join of the new one (which carries `phx_ref_prev`).
pub fn presence_diff(diff: &TopicDiff<UserMeta>) -> Value {
    // TODO(s4.e3): {"joins": group(joins), "leaves": group(leaves)}
    todo!("s4.e3: the presence_diff payload")
}
