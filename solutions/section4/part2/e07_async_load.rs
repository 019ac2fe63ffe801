//! s4.e7 (hard mode): the feed with its slow load in the background, so the Create
//! button answers while the 25 activities are still loading. The learner starts from
//! their own s4.e6 view, copied here; the change is in `mount` (and the `Load` arm).
//!
//! Slide: slides/src/section4/part2/e07_async_load.md

use activity::Activity;
use activity::feed::FEED_TOPIC;
use serde_json::Value;

use live::feed::{FeedDeps, FeedMsg, STATIC_ITEMS, create_random, feed_page, prepend, slow_load};
use live::{LiveContext, LiveView, MountError, Rendered, Session};

/// One tab's feed, loading in the background.
pub struct AsyncFeedLive {
    activities: Vec<Activity>,
    loading: bool,
}

impl LiveView for AsyncFeedLive {
    type Info = FeedMsg;

    async fn mount(_session: &Session, ctx: &mut LiveContext<Self>) -> Result<Self, MountError> {
        let deps = ctx
            .state::<FeedDeps>()
            .cloned()
            .ok_or_else(|| MountError("the feed needs FeedDeps".into()))?;
        let activities = deps
            .store
            .list_newest(STATIC_ITEMS)
            .await
            .map_err(|error| MountError(error.to_string()))?;
        if ctx.connected() {
            ctx.subscribe(&deps.pubsub, FEED_TOPIC, FeedMsg::from_broadcast);
            // ANCHOR: start_async
            // The load runs on a task of its own; its result comes back as a message,
            // and meanwhile this view handles events as they come.
            let store = deps.store.clone();
            ctx.start_async(async move { FeedMsg::Loaded(slow_load(store).await) });
            // ANCHOR_END: start_async
        }
        Ok(AsyncFeedLive {
            activities,
            loading: ctx.connected(),
        })
    }

    fn render(&self) -> Rendered {
        feed_page(&self.activities, self.loading)
    }

    async fn handle_event(&mut self, event: &str, _value: Value, ctx: &mut LiveContext<Self>) {
        if event != "create" {
            tracing::warn!(event, "the feed has no such event");
            return;
        }
        let Some(deps) = ctx.state::<FeedDeps>() else {
            return;
        };
        if let Err(error) = create_random(deps).await {
            tracing::warn!(%error, "the feed's create failed");
        }
    }

    async fn handle_info(&mut self, message: FeedMsg, _ctx: &mut LiveContext<Self>) {
        match message {
            // Nothing sends Load here any more: the load started in mount.
            FeedMsg::Load => {}
            FeedMsg::Loaded(Ok(activities)) => {
                // Anything created during the load is in the store, so in this list.
                self.activities = activities;
                self.loading = false;
            }
            FeedMsg::Loaded(Err(error)) => {
                tracing::warn!(%error, "the feed's load failed");
                self.loading = false;
            }
            FeedMsg::Created(activity) => prepend(&mut self.activities, activity),
        }
    }
}
