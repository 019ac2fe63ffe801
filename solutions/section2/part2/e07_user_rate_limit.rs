//! Exercise s2.e7 (hard mode): one rate limit per user, across tabs and reconnects.
//! Slide: slides/src/section2/part2/e07_user_rate_limit.md
//!
//! s2.e6 kept the limit in the channel, so each tab (and each reload) got its own.
//! Here the limit belongs to the user: it lives in one [`UserRateLimiter`] shared by
//! every connection (router state), keyed by the socket's user id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use activity::ActivityStore;
use activity::feed::{DEFAULT_WINDOW, RateLimitWindow, create_activity};
use channels::auth::UserId;
use channels::{Channel, ChannelContext, HandleIn, Join, Payload, Status};

/// When each user last created, shared by all connections.
#[derive(Debug, Default)]
pub struct UserRateLimiter {
    last_create: Mutex<HashMap<i64, Instant>>,
}

/// The user created less than a window ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited;

impl UserRateLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    // ANCHOR: try_acquire
    /// Takes the user's one create of this window, or says it is taken.
    ///
    /// Check and set happen under one lock: two tabs clicking at the same instant
    /// cannot both pass the check before either has set.
    pub fn try_acquire(&self, user: i64, window: Duration) -> Result<(), Limited> {
        let now = Instant::now();
        let mut last = self.last_create.lock().unwrap_or_else(|e| e.into_inner());
        if last.get(&user).is_some_and(|at| now < *at + window) {
            return Err(Limited);
        }
        // Forget users whose window has passed, so the map holds only recent creators.
        last.retain(|_, at| now < *at + window);
        last.insert(user, now);
        Ok(())
    }
    // ANCHOR_END: try_acquire

    /// Gives the user's create back (the create failed, so it should not count).
    pub fn release(&self, user: i64) {
        self.last_create
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&user);
    }
}

/// The channel on topic `feed:limited` of the authenticated socket.
pub struct UserLimitedFeedChannel {
    store: ActivityStore,
    user: i64,
}

impl Channel for UserLimitedFeedChannel {
    type Info = ();

    async fn join(_topic: &str, _payload: Payload, ctx: &mut ChannelContext<Self>) -> Join<Self> {
        let Some(UserId(user)) = ctx.assign::<UserId>().copied() else {
            return Join::error(json!({ "reason": "unauthorized" }));
        };
        let store = ctx
            .state::<ActivityStore>()
            .expect("the app gives the feed an ActivityStore")
            .clone();
        Join::ok(UserLimitedFeedChannel { store, user })
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
                let limiter = ctx
                    .state::<Arc<UserRateLimiter>>()
                    .expect("the app shares one UserRateLimiter");
                let window = ctx
                    .state::<RateLimitWindow>()
                    .map_or(DEFAULT_WINDOW, |w| w.0);
                if limiter.try_acquire(self.user, window).is_err() {
                    return HandleIn::error(json!({ "reason": "rate limit exceeded" }));
                }
                let reply = create_activity(&self.store, ctx.pubsub(), payload).await;
                if !matches!(reply, HandleIn::Reply(Status::Ok, _)) {
                    limiter.release(self.user);
                }
                reply
            }
            other => HandleIn::error(json!({ "reason": format!("unknown event: {other}") })),
        }
    }
    // ANCHOR_END: handle_in
}
