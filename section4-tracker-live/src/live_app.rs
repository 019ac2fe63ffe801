//! The section's live pages for part 2: the routes that serve your views (start) or
//! the reference (solution), and the demo's store. What the views share
//! (state, messages, templates, the slow load) is provided in the `live` crate:
//! `live::feed` and `live::presence`.
//!
//! | path | view | exercise |
//! |---|---|---|
//! | `/feed` | the activity feed, 3 items static, 25 after a slow load | s4.e6 |
//! | `/feed/async` | the same feed, loading in the background | s4.e7 |
//! | `/presence?name=Ada` | who is online, on every node | s4.e8 |

use activity::ActivityStore;
use channels::CheckOrigin;
use live::feed::FeedDeps;
use live::presence::PresenceDeps;
use live::{LivePages, LiveRoutes};

use crate::Implementation;

/// The live pages of one node, serving `implementation`'s views; `check_origin`
/// decides which web pages may open their socket.
pub fn live_pages(
    implementation: Implementation,
    feed: FeedDeps,
    presence: PresenceDeps,
    secret_key_base: &str,
    check_origin: CheckOrigin,
) -> LivePages {
    live_routes(implementation, secret_key_base)
        .check_origin(check_origin)
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
                .view::<part2::e06_feed_live::FeedLive>("/feed", "Activity feed")
                .view::<part2::e07_async_load::AsyncFeedLive>(
                    "/feed/async",
                    "Activity feed (async load)",
                )
                .view::<part2::e08_presence_live::PresenceLive>("/presence", "Who is online")
        }};
    }
    match implementation {
        Implementation::Start => routes!(start),
        Implementation::Solution => routes!(solution),
    }
}

/// Where `serve` keeps the demo's activities unless told otherwise (`--database`).
pub const DEMO_STORE_URL: &str = "sqlite://target/section4/activities.db";

/// Opens the store at `url` (a SQLite file, created with its folder if missing, or a
/// `postgres://` URL), filling an empty one with 30 made-up activities.
pub async fn open_demo_store(url: &str) -> anyhow::Result<ActivityStore> {
    let store = ActivityStore::open(url).await?;
    if store.count().await? == 0 {
        activity::seed_store(&store, 30, 4).await?;
    }
    Ok(store)
}
