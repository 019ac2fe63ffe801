//! s3.e7: the backend node. No web server: it creates activities (an import job, a
//! payment webhook consumer, an admin tool) and every browser connected to any node
//! sees them.

use activity::feed::{CREATED as ACTIVITY_CREATED, FEED_TOPIC};
use activity::{Activity, ActivityStore, NewActivity, StoreError};
use channels::pubsub::{Broadcast, PubSub};

// ANCHOR: create_activity
/// Stores `new`, then broadcasts the stored activity (with its id and time) as
/// `activity.created` on `feed`, to every node. Returns what was stored.
///
/// Store first: the database is the truth. A client that misses the broadcast (it
/// was reconnecting, or Redis was down) finds the activity when it fetches again;
/// a broadcast of something that then failed to store would show users an activity
/// that does not exist.
pub async fn create_activity(
    store: &ActivityStore,
    pubsub: &dyn PubSub,
    new: NewActivity,
) -> Result<Activity, StoreError> {
    let stored = store.create(new).await?;
    let payload = match serde_json::to_value(&stored) {
        Ok(serde_json::Value::Object(payload)) => payload,
        _ => unreachable!("an activity serializes to a JSON object"),
    };
    pubsub.broadcast(Broadcast::new(FEED_TOPIC, ACTIVITY_CREATED, payload));
    Ok(stored)
}
// ANCHOR_END: create_activity
