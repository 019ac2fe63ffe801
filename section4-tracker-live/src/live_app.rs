//! The section's live pages, provided for part 2: what the feed and presence views
//! share (their state, messages, templates and slow load), and the routes that serve
//! your views (start) or the reference (solution).
//!
//! | path | view | exercise |
//! |---|---|---|
//! | `/feed` | the activity feed, 3 items static, 25 after a slow load | s4.e6 |
//! | `/feed/async` | the same feed, loading in the background | s4.e7 |
//! | `/presence?name=Ada` | who is online, on every node | s4.e8 |

use std::sync::Arc;
use std::time::Duration;

use crate::Implementation;
use activity::feed::{CREATED, create_activity};
use activity::{Activity, ActivityGenerator, ActivityStore};
use channels::pubsub::Broadcast;
use channels::{HandleIn, PubSub};
use serde_json::Value;

use crate::live::{Comprehension, LivePages, LiveRoutes, Rendered};
use crate::presence::{PresenceTracker, UserMeta};
use crate::rendered;
use crate::tracker::state::Key;
use crate::tracker::{Diff, Tracked};

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

/// The topic the presence pages track their users on.
pub const PRESENCE_TOPIC: &str = "live:presence";
/// The event each node broadcasts locally when [`PRESENCE_TOPIC`] changes.
pub const PRESENCE_CHANGED: &str = "presence_changed";

/// What the presence view reads: this node's tracker and its own pubsub.
#[derive(Clone)]
pub struct PresenceDeps {
    /// The node's tracker (answers locally, replicated across nodes).
    pub tracker: PresenceTracker,
    /// The node's own pubsub, where [`PRESENCE_CHANGED`] is broadcast.
    pub pubsub: Arc<dyn PubSub>,
}

/// The presence view's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceMsg {
    /// Someone joined or left [`PRESENCE_TOPIC`], on this node or another.
    Changed,
}

impl PresenceMsg {
    /// [`PRESENCE_CHANGED`] broadcasts as messages.
    pub fn from_broadcast(broadcast: &Broadcast) -> Option<PresenceMsg> {
        (broadcast.event() == PRESENCE_CHANGED).then_some(PresenceMsg::Changed)
    }
}

/// The node's half of `handle_diff` for the presence pages: a change on
/// [`PRESENCE_TOPIC`] (local or replicated) tells this node's pages to list again.
pub fn notify_presence_pages(local: &dyn PubSub, diff: &Diff<UserMeta>) {
    if diff.keys().any(|topic| topic.as_ref() == PRESENCE_TOPIC) {
        local.local_broadcast(Broadcast::new(
            PRESENCE_TOPIC,
            PRESENCE_CHANGED,
            Default::default(),
        ));
    }
}

/// Who is online: one `(name, tabs)` per user, sorted by name.
pub fn online_users(list: &[(Key, Tracked<UserMeta>)]) -> Vec<(String, usize)> {
    let mut users: std::collections::BTreeMap<&str, usize> = Default::default();
    for (_, tracked) in list {
        *users.entry(tracked.meta.name.as_str()).or_default() += 1;
    }
    users
        .into_iter()
        .map(|(name, tabs)| (name.to_owned(), tabs))
        .collect()
}

/// The presence page: who I am and who is online.
pub fn presence_page(me: &str, users: &[(String, usize)]) -> Rendered {
    let items: Comprehension = users
        .iter()
        .map(|(name, tabs)| {
            let tabs = if *tabs == 1 {
                String::new()
            } else {
                format!(" ({tabs} tabs)")
            };
            (
                name.clone(),
                rendered!("<li class=\"user\">" { name } "" { tabs } "</li>"),
            )
        })
        .collect();
    rendered!(
        "<section id=\"presence\"><h1>Who is online</h1><p>You are <strong id=\"me\">" { me }
        "</strong>; <span id=\"count\">" { users.len() } "</span> online.</p><ul id=\"users\">"
        { items } "</ul></section>"
    )
}

/// The secret the demo signs its live tokens with. A real deployment reads 64 random
/// bytes from its environment instead.
pub const DEMO_SECRET_KEY_BASE: &str = "section 4 live views demo secret, not for production";

/// The live pages of one node, serving `implementation`'s views.
pub fn live_pages(
    implementation: Implementation,
    feed: FeedDeps,
    presence: PresenceDeps,
    secret_key_base: &str,
) -> LivePages {
    live_routes(implementation, secret_key_base)
        .state(feed)
        .state(presence)
        .build()
}

/// `implementation`'s views at their paths, without their state yet (tests give only
/// what they use).
pub fn live_routes(implementation: Implementation, secret_key_base: &str) -> LiveRoutes {
    macro_rules! routes {
        ($imp:ident) => {{
            use crate::$imp::part2;
            LiveRoutes::new(secret_key_base)
                .view::<part2::feed_live::FeedLive>("/feed", "Activity feed")
                .view::<part2::async_feed::AsyncFeedLive>(
                    "/feed/async",
                    "Activity feed (async load)",
                )
                .view::<part2::presence_live::PresenceLive>("/presence", "Who is online")
        }};
    }
    match implementation {
        Implementation::Start => routes!(start),
        Implementation::Solution => routes!(solution),
    }
}

/// Where `serve` keeps the demo's activities.
pub const DEMO_STORE_URL: &str = "sqlite://target/section4/activities.db";

/// Opens the demo's store, filling an empty one with 30 made-up activities.
pub async fn open_demo_store() -> anyhow::Result<ActivityStore> {
    std::fs::create_dir_all("target/section4")?;
    let store = ActivityStore::open(DEMO_STORE_URL).await?;
    if store.count().await? == 0 {
        activity::seed_store(&store, 30, 4).await?;
    }
    Ok(store)
}
