//! Exercise s2.e6: a rate limit kept in the channel, cleared by a timer.
//!
//! - slide: slides/src/section2/part2/e06_rate_limit.md
//! - tests: `mod e06_rate_limit` in section2-channels/tests/part2.rs,
//!   run by `cargo xtask check s2.e6`
//! - stuck? `cargo xtask hint s2.e6` (each hint gives away a little more)
//!
//! After a successful `create_activity`, further creates on this channel get
//! `rate limit exceeded` until the window (5 s) has passed. The channel remembers
//! that in its own state, and a message to itself clears it.

use serde_json::json;

use activity::ActivityStore;
use activity::feed::{DEFAULT_WINDOW, RateLimitWindow, create_activity};
use channels::{Channel, ChannelContext, HandleIn, Handled, Join, Payload, Status};

/// The channel on topic `feed:limited`: creates like `feed`, at most one per window.
pub struct RateLimitedFeedChannel {
    store: ActivityStore,
    /// Set after a create, cleared by [`Tick::ClearRateLimit`].
    limited: bool,
}

/// The channel's own timer message.
pub enum Tick {
    /// The window has passed: allow the next create.
    ClearRateLimit,
}

impl Channel for RateLimitedFeedChannel {
    type Info = Tick;

    async fn join(_topic: &str, _payload: Payload, ctx: &mut ChannelContext<Self>) -> Join<Self> {
        let store = ctx
            .state::<ActivityStore>()
            .expect("the app gives the feed an ActivityStore")
            .clone();
        Join::ok(RateLimitedFeedChannel {
            store,
            limited: false,
        })
    }

    async fn handle_in(
        &mut self,
        event: &str,
        payload: Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        match event {
            "create_activity" => {
                // TODO(s2.e6): while `self.limited`, reply error {"reason": "rate limit
                // exceeded"}. Otherwise create (`create_activity(&self.store,
                // ctx.pubsub(), payload).await`); if that replied ok, set `limited` and
                // send yourself Tick::ClearRateLimit after the window
                // (`ctx.state::<RateLimitWindow>()`, DEFAULT_WINDOW if absent).
                todo!("s2.e6: limit creates to one per window")
            }
            other => HandleIn::error(json!({ "reason": format!("unknown event: {other}") })),
        }
    }

    async fn handle_info(&mut self, message: Tick, _ctx: &mut ChannelContext<Self>) -> Handled {
        // TODO(s2.e6): the timer fired: allow creates again.
        todo!("s2.e6: clear the rate limit")
    }
}
