//! Exercise s2.e6: a rate limit kept in the channel, cleared by a timer. Slide:
//! slides/src/section2/part2/e06_rate_limit.md
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

    // ANCHOR: handle_in
    async fn handle_in(
        &mut self,
        event: &str,
        payload: Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        match event {
            "create_activity" => {
                if self.limited {
                    return HandleIn::error(json!({ "reason": "rate limit exceeded" }));
                }
                let reply = create_activity(&self.store, ctx.pubsub(), payload).await;
                // Only a create that happened counts against the limit.
                if matches!(reply, HandleIn::Reply(Status::Ok, _)) {
                    self.limited = true;
                    let window = ctx
                        .state::<RateLimitWindow>()
                        .map_or(DEFAULT_WINDOW, |w| w.0);
                    ctx.send_after(window, Tick::ClearRateLimit);
                }
                reply
            }
            other => HandleIn::error(json!({ "reason": format!("unknown event: {other}") })),
        }
    }
    // ANCHOR_END: handle_in

    // ANCHOR: handle_info
    async fn handle_info(&mut self, message: Tick, _ctx: &mut ChannelContext<Self>) -> Handled {
        match message {
            Tick::ClearRateLimit => self.limited = false,
        }
        Handled::Continue
    }
    // ANCHOR_END: handle_info
}
