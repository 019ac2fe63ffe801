//! s4.e6: the activity feed as a live view.
//!
//! Slide: slides/src/section4/part2/e06_feed_live.md

use activity::feed::FEED_TOPIC;
use serde_json::Value;

use activity::Activity;
use live::feed::{FeedDeps, FeedMsg, STATIC_ITEMS, create_random, feed_page, prepend, slow_load};
use live::{LiveContext, LiveView, MountError, Rendered, Session};

/// One tab's feed: the activities it shows, and whether the slow load is running.
pub struct FeedLive {
    activities: Vec<Activity>,
    loading: bool,
}

impl LiveView for FeedLive {
    type Info = FeedMsg;

    // ANCHOR: mount
    async fn mount(_session: &Session, ctx: &mut LiveContext<Self>) -> Result<Self, MountError> {
        let deps = ctx
            .state::<FeedDeps>()
            .cloned()
            .ok_or_else(|| MountError("the feed needs FeedDeps".into()))?;
        // Both renders start from the few newest: the static page has content at once.
        let activities = deps
            .store
            .list_newest(STATIC_ITEMS)
            .await
            .map_err(|error| MountError(error.to_string()))?;
        if ctx.connected() {
            // Only a connected view lives on: subscribing or loading during the static
            // render would be work thrown away with it.
            ctx.subscribe(&deps.pubsub, FEED_TOPIC, FeedMsg::from_broadcast);
            // The slow part runs after mount, so the join is answered at once.
            ctx.send(FeedMsg::Load).await;
        }
        Ok(FeedLive {
            activities,
            loading: ctx.connected(),
        })
    }
    // ANCHOR_END: mount

    fn render(&self) -> Rendered {
        feed_page(&self.activities, self.loading)
    }

    // ANCHOR: handle_event
    async fn handle_event(&mut self, event: &str, _value: Value, ctx: &mut LiveContext<Self>) {
        if event != "create" {
            tracing::warn!(event, "the feed has no such event");
            return;
        }
        let Some(deps) = ctx.state::<FeedDeps>() else {
            return;
        };
        // No change to our own list here: the broadcast comes back to every feed,
        // this one included, through handle_info.
        if let Err(error) = create_random(deps).await {
            tracing::warn!(%error, "the feed's create failed");
        }
    }
    // ANCHOR_END: handle_event

    // ANCHOR: handle_info
    async fn handle_info(&mut self, message: FeedMsg, ctx: &mut LiveContext<Self>) {
        match message {
            FeedMsg::Load => {
                let Some(deps) = ctx.state::<FeedDeps>() else {
                    return;
                };
                // Blocks this view for the whole load: events wait (s4.e7 fixes it).
                let loaded = slow_load(deps.store.clone()).await;
                self.loaded(loaded);
            }
            FeedMsg::Loaded(loaded) => self.loaded(loaded),
            FeedMsg::Created(activity) => prepend(&mut self.activities, activity),
        }
    }
    // ANCHOR_END: handle_info
}

impl FeedLive {
    fn loaded(&mut self, loaded: Result<Vec<Activity>, String>) {
        match loaded {
            Ok(activities) => self.activities = activities,
            Err(error) => tracing::warn!(%error, "the feed's load failed"),
        }
        self.loading = false;
    }
}
