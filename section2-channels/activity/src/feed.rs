//! The feed's write path, provided for part 2: create an activity through the store
//! and tell every dashboard on `feed`. It is the same logic as the reference answer of
//! s2.e2, so part 2 works whether or not you did that exercise.

use std::sync::Arc;

use serde_json::{Value, json};

use channels::pubsub::{Broadcast, PubSub};
use channels::{HandleIn, Payload};

use crate::{ActivityStore, NewActivity, StoreError};

/// The topic every dashboard joins.
pub const FEED_TOPIC: &str = "feed";

/// The event broadcast after each successful create.
pub const CREATED: &str = "activity.created";

/// Creates the activity described by `payload` and broadcasts it on [`FEED_TOPIC`].
///
/// Replies ok with the stored activity; an error `{"reason": "invalid activity data",
/// "errors": {field: [messages]}}` for bad input; an error naming no internals when the
/// database fails (logged).
pub async fn create_activity(
    store: &ActivityStore,
    pubsub: &Arc<dyn PubSub>,
    payload: Payload,
) -> HandleIn {
    let new = match NewActivity::from_payload(&Value::Object(payload)) {
        Ok(new) => new,
        Err(errors) => return invalid(errors.reply_payload()),
    };
    match store.create(new).await {
        Ok(activity) => {
            let value = serde_json::to_value(&activity).expect("an activity serialises");
            pubsub.broadcast(Broadcast::new(
                FEED_TOPIC,
                CREATED,
                channels::payload(value.clone()),
            ));
            HandleIn::ok(value)
        }
        Err(StoreError::Invalid(errors)) => invalid(errors.reply_payload()),
        Err(error) => {
            tracing::error!(%error, "feed: the activity store failed");
            HandleIn::error(json!({ "reason": "the activity store is unavailable, try again" }))
        }
    }
}

fn invalid(errors: Value) -> HandleIn {
    HandleIn::error(json!({ "reason": "invalid activity data", "errors": errors["errors"] }))
}

/// How long one create blocks the next on a rate-limited channel (s2.e6), unless the
/// app says otherwise.
pub const DEFAULT_WINDOW: std::time::Duration = std::time::Duration::from_secs(5);

/// The rate limit window, as router state (tests shorten it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitWindow(pub std::time::Duration);
