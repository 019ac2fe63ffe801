//! Exercise s4.e7 (hard mode): the feed with its slow load in the background, so the Create button answers while the 25 activities are still loading.
//!
//! - slide: slides/src/section4/part2/e07_async_load.md
//! - tests: `mod e07_async_load` in section4-tracker-live/tests/part2.rs,
//!   run by `cargo xtask check s4.e7`
//! - stuck? `cargo xtask hint s4.e7` (each hint gives away a little more)
//!
//! Slide: slides/src/section4/part2/e07_async_load.md
//!
//! This exercise builds on your own s4.e6 view (`feed_live.rs`): do that one first.
//! Then:
//!
//! 1. copy the bodies of your `FeedLive`'s `mount`, `handle_event` and `handle_info`
//!    over the three `todo!()`s below (the struct is `AsyncFeedLive` here, with the
//!    same two fields; copy any helper you added to `FeedLive` too);
//! 2. run `cargo xtask check s4.e7`: the view renders, but a click during the load is
//!    answered only after the load, the button seems dead for a second;
//! 3. change how `mount` starts the load, so the view answers events meanwhile.

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
        // TODO(s4.e7): copy your s4.e6 `mount` body here (`FeedLive { .. }` becomes
        // `AsyncFeedLive { .. }`). It sends itself `FeedMsg::Load`, and handle_info's
        // `Load` then holds the view for the whole one-second load: events wait behind
        // it. Start `slow_load(store)` with `ctx.start_async` instead, its result
        // mapped to a `FeedMsg`, so the view answers events while the load runs.
        // See slides/src/section4/part2/e07_async_load.md
        todo!("s4.e7: copy your s4.e6 mount here, then start the slow load with ctx.start_async")
    }

    fn render(&self) -> Rendered {
        feed_page(&self.activities, self.loading)
    }

    async fn handle_event(&mut self, event: &str, _value: Value, ctx: &mut LiveContext<Self>) {
        // TODO(s4.e7): copy your s4.e6 `handle_event` body here; it does not change.
        todo!("s4.e7: copy your s4.e6 handle_event here")
    }

    async fn handle_info(&mut self, message: FeedMsg, ctx: &mut LiveContext<Self>) {
        // TODO(s4.e7): copy your s4.e6 `handle_info` body here. Once mount starts the
        // load in the background, its result arrives here as a message of its own.
        todo!("s4.e7: copy your s4.e6 handle_info here")
    }
}
