//! s4.e3: Presence for browsers: `presence_state` after join, `presence_diff` on change,
//! in the shape the official JavaScript `Presence` syncs from.

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

    // ANCHOR: join
    async fn join(topic: &str, payload: Payload, ctx: &mut ChannelContext<Self>) -> Join<Self> {
        let Some(user) = RoomUser::from_payload(&payload) else {
            return Join::error(json!({"reason": "user_id and name are required"}));
        };
        let Some(tracker) = ctx.state::<PresenceTracker>() else {
            return Join::error(json!({"reason": "presence is not available"}));
        };
        let owner = tracker.owner();
        let meta = UserMeta {
            name: user.name,
            online_at: now_unix(),
        };
        if let Err(error) = tracker
            .track(&owner, topic, &user_key(&user.user_id), meta)
            .await
        {
            return Join::error(json!({"reason": error.to_string()}));
        }
        // A push from `join` would reach the client before its join reply; a message to
        // ourselves is handled after the reply is sent.
        ctx.send_after(Duration::ZERO, AfterJoin::PushState);
        Join::ok(ChatChannel { _owner: owner })
    }
    // ANCHOR_END: join

    // ANCHOR: push_state
    async fn handle_info(&mut self, message: AfterJoin, ctx: &mut ChannelContext<Self>) -> Handled {
        match message {
            AfterJoin::PushState => {
                if let Some(tracker) = ctx.state::<PresenceTracker>() {
                    let list = tracker.list(ctx.topic()).await;
                    ctx.push("presence_state", group(&list));
                }
                Handled::Continue
            }
        }
    }
    // ANCHOR_END: push_state

    async fn handle_in(
        &mut self,
        event: &str,
        _payload: Payload,
        _ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        HandleIn::error(json!({"reason": format!("unknown event {event:?}")}))
    }
}

// ANCHOR: presence_diff
/// `{KEY: {"metas": [meta, ...]}}`: one entry per key, one meta per connection.
pub fn group(entries: &[(Key, Tracked<UserMeta>)]) -> Value {
    let mut presences = Map::new();
    for (key, tracked) in entries {
        let entry = presences
            .entry(key.to_string())
            .or_insert_with(|| json!({"metas": []}));
        if let Some(Value::Array(metas)) = entry.get_mut("metas") {
            metas.push(meta_json(tracked));
        }
    }
    Value::Object(presences)
}

/// The `presence_diff` payload of one topic's changes. An update arrives as a leave of
/// the old meta and a join of the new one (which carries `phx_ref_prev`).
pub fn presence_diff(diff: &TopicDiff<UserMeta>) -> Value {
    json!({"joins": group(&diff.joins), "leaves": group(&diff.leaves)})
}
// ANCHOR_END: presence_diff
