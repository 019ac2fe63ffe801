//! s4.e1: a room channel that tracks each joined user and lists who is here.

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
        // One owner per channel, so a second join of the same topic on the same
        // connection is a new channel with its own owner, never `AlreadyTracked`.
        match tracker
            .track(&owner, topic, &user_key(&user.user_id), meta)
            .await
        {
            Ok(_) => Join::ok(RoomChannel { _owner: owner }),
            Err(error) => Join::error(json!({"reason": error.to_string()})),
        }
    }
    // ANCHOR_END: join

    // ANCHOR: list
    async fn handle_in(
        &mut self,
        event: &str,
        _payload: Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        match event {
            "list" => {
                let Some(tracker) = ctx.state::<PresenceTracker>() else {
                    return HandleIn::error(json!({"reason": "presence is not available"}));
                };
                // Group by key: one user with two tabs is one key with two metas.
                let mut presences = Map::new();
                for (key, tracked) in tracker.list(ctx.topic()).await {
                    let entry = presences
                        .entry(key.to_string())
                        .or_insert_with(|| json!({"metas": []}));
                    if let Some(Value::Array(metas)) = entry.get_mut("metas") {
                        metas.push(meta_json(&tracked));
                    }
                }
                HandleIn::ok(Value::Object(presences))
            }
            _ => HandleIn::error(json!({"reason": format!("unknown event {event:?}")})),
        }
    }
    // ANCHOR_END: list
}
