//! The activity feed's page, provided for s4.e6 and s4.e7: what the feed views share
//! (their state, messages, template and slow load). The views are the exercises.

use std::sync::Arc;
use std::time::Duration;

use activity::feed::{CREATED, create_activity};
use activity::{Activity, ActivityGenerator, ActivityStore};
use channels::pubsub::Broadcast;
use channels::{HandleIn, PubSub};
use serde_json::Value;

use crate::{Comprehension, Rendered, rendered};

/// How many activities the static render shows.
pub const STATIC_ITEMS: usize = 3;
/// How many activities the connected view loads.
pub const CONNECTED_ITEMS: usize = 25;
/// The most activities a page keeps (new ones push the oldest out).
pub const MAX_ITEMS: usize = 100;
/// How long the deliberately slow load takes.
pub const SLOW_LOAD: Duration = Duration::from_secs(1);

/// What the feed views read: the store and the pubsub the feed broadcasts on (shared
/// by every node, so a create on one node reaches the pages on all of them).
#[derive(Clone)]
pub struct FeedDeps {
    /// The activities' source of truth.
    pub store: ActivityStore,
    /// Where `activity.created` is broadcast on `feed`.
    pub pubsub: Arc<dyn PubSub>,
}

/// The feed views' messages.
#[derive(Debug)]
pub enum FeedMsg {
    /// Do the slow load now (a view sends this to itself).
    Load,
    /// The slow load's result.
    Loaded(Result<Vec<Activity>, String>),
    /// Someone, on some node, created an activity.
    Created(Activity),
}

impl FeedMsg {
    /// The message for a broadcast on `feed`: `activity.created` carries the
    /// stored activity; anything else is not for the feed.
    pub fn from_broadcast(broadcast: &Broadcast) -> Option<FeedMsg> {
        if broadcast.event() != CREATED {
            return None;
        }
        let value = Value::Object(broadcast.payload().clone());
        serde_json::from_value(value).ok().map(FeedMsg::Created)
    }
}

// ANCHOR: slow_load
/// The newest [`CONNECTED_ITEMS`] activities, after [`SLOW_LOAD`] (a slow query,
/// on tokio's clock so tests can skip the wait).
pub async fn slow_load(store: ActivityStore) -> Result<Vec<Activity>, String> {
    tokio::time::sleep(SLOW_LOAD).await;
    store
        .list_newest(CONNECTED_ITEMS)
        .await
        .map_err(|error| error.to_string())
}
// ANCHOR_END: slow_load

/// Creates a made-up activity through the store and broadcasts it on the feed (what
/// the Create button does).
pub async fn create_random(deps: &FeedDeps) -> Result<Activity, String> {
    let new = ActivityGenerator::from_os_rng().next_activity();
    let payload = serde_json::to_value(&new).map_err(|error| error.to_string())?;
    match create_activity(&deps.store, &deps.pubsub, channels::payload(payload)).await {
        HandleIn::Reply(channels::Status::Ok, activity) => {
            serde_json::from_value(activity).map_err(|error| error.to_string())
        }
        other => Err(format!("the create failed: {other:?}")),
    }
}

/// Puts `activity` at the top of `activities` (unless it is there already: the slow
/// load may have read it), keeping at most [`MAX_ITEMS`].
pub fn prepend(activities: &mut Vec<Activity>, activity: Activity) {
    if activities.iter().any(|a| a.id == activity.id) {
        return;
    }
    activities.insert(0, activity);
    activities.truncate(MAX_ITEMS);
}

// ANCHOR: feed_template
/// The feed page. Static parts are string literals; `{...}` are the dynamics, and
/// the list is keyed by activity id.
pub fn feed_page(activities: &[Activity], loading: bool) -> Rendered {
    let status = if loading {
        format!(
            "{} shown, loading the latest {CONNECTED_ITEMS}…",
            activities.len()
        )
    } else {
        format!("{} activities", activities.len())
    };
    let items: Comprehension = activities
        .iter()
        .map(|a| (a.id.to_string(), activity_item(a)))
        .collect();
    rendered!(
        "<section id=\"feed\"><h1>Activity feed</h1><p><button id=\"create\" phx-click=\"create\">Create</button> <span id=\"status\">"
        { status }
        "</span></p><ul id=\"activities\">"
        { items }
        "</ul></section>"
    )
}

fn activity_item(a: &Activity) -> Rendered {
    rendered!(
        "<li class=\"activity\" id=\"activity-" { a.id } "\"><strong>" { &a.who }
        "</strong> " { &a.what } " <small>" { a.kind.as_str() } "</small></li>"
    )
}
// ANCHOR_END: feed_template
