//! Exercise s4.e6: the activity feed as a live view.
//!
//! - slide: slides/src/section4/part2/e06_feed_live.md
//! - tests: `mod e06_feed_live` in section4-tracker-live/tests/part2.rs,
//!   run by `cargo xtask check s4.e6`
//! - stuck? `cargo xtask hint s4.e6` (each hint gives away a little more)
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

    async fn mount(_session: &Session, ctx: &mut LiveContext<Self>) -> Result<Self, MountError> {
        // TODO(s4.e6): read the `STATIC_ITEMS` newest activities from the store
        // (`ctx.state::<FeedDeps>()`). Only when `ctx.connected()`: subscribe to
        // `FEED_TOPIC` on `deps.pubsub` (`FeedMsg::from_broadcast` maps the broadcasts)
        // and send yourself `FeedMsg::Load`. `loading` is true while the load is due.
        // See slides/src/section4/part2/e06_feed_live.md
        todo!("s4.e6: mount the feed (3 activities; subscribe and load only when connected)")
    }

    fn render(&self) -> Rendered {
        feed_page(&self.activities, self.loading)
    }

    async fn handle_event(&mut self, event: &str, _value: Value, ctx: &mut LiveContext<Self>) {
        // TODO(s4.e6): on "create", `create_random(deps)` stores a made-up activity and
        // broadcasts it (your own list changes when the broadcast comes back).
        todo!("s4.e6: handle the Create button")
    }

    async fn handle_info(&mut self, message: FeedMsg, ctx: &mut LiveContext<Self>) {
        // TODO(s4.e6): `Load`: `slow_load(store)` gives the newest 25 (after 1 s);
        // `Loaded`: take the result; `Created`: `prepend` it to the list.
        todo!("s4.e6: handle Load, Loaded and Created")
    }
}
