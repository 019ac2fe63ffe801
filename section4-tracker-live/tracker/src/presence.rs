//! What the presence channels track for each user, and how one tracked presence looks
//! on the wire (the shape the official JavaScript `Presence` reads).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Tracked, Tracker};

/// The meta tracked for each connected user: who, and since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMeta {
    /// The display name the client joined with.
    pub name: String,
    /// When this connection came online, in seconds since the Unix epoch.
    pub online_at: u64,
}

/// The tracker the presence channels share (one per node).
pub type PresenceTracker = Tracker<UserMeta>;

/// The presence key of a user: `user:<id>`. One key, one metas entry per connection.
pub fn user_key(user_id: &str) -> String {
    format!("user:{user_id}")
}

/// Seconds since the Unix epoch (the wall clock: `online_at` is for people to read).
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// One meta as clients see it: the user's fields plus `phx_ref` (and `phx_ref_prev`
/// after an update), which is how the JavaScript `Presence` tells connections apart.
pub fn meta_json(tracked: &Tracked<UserMeta>) -> Value {
    let mut meta = Map::new();
    meta.insert("name".into(), Value::String(tracked.meta.name.clone()));
    meta.insert("online_at".into(), Value::from(tracked.meta.online_at));
    meta.insert("phx_ref".into(), Value::String(tracked.phx_ref.to_string()));
    if let Some(prev) = &tracked.phx_ref_prev {
        meta.insert("phx_ref_prev".into(), Value::String(prev.to_string()));
    }
    Value::Object(meta)
}

/// Who joins a room: the join payload `{"user_id": "42", "name": "Alice"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomUser {
    /// The user's id (a string or a number in the payload).
    pub user_id: String,
    /// The display name.
    pub name: String,
}

impl RoomUser {
    /// Reads the join payload; `None` when `user_id` or `name` is missing or empty.
    pub fn from_payload(payload: &Map<String, Value>) -> Option<RoomUser> {
        let user_id = match payload.get("user_id")? {
            Value::String(id) if !id.is_empty() && id.len() <= 64 => id.clone(),
            Value::Number(id) => id.to_string(),
            _ => return None,
        };
        let name = payload.get("name")?.as_str()?;
        if name.is_empty() || name.len() > 64 {
            return None;
        }
        Some(RoomUser {
            user_id,
            name: name.to_owned(),
        })
    }
}
