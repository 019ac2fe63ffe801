//! Exercise s2.e7 (hard mode): one rate limit per user, across tabs and reconnects.
//!
//! - slide: slides/src/section2/part2/e07_user_rate_limit.md
//! - tests: `mod e07_user_rate_limit` in section2-channels/tests/part2.rs,
//!   run by `cargo xtask check s2.e7`
//! - stuck? `cargo xtask hint s2.e7` (each hint gives away a little more)
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

    /// Takes the user's one create of this window, or says it is taken.
    pub fn try_acquire(&self, user: i64, window: Duration) -> Result<(), Limited> {
        // TODO(s2.e7): if the user created less than `window` ago, Err(Limited);
        // otherwise record now (tokio's Instant) and Ok(()). Check and set under one
        // lock. Keep the map small: drop users whose window has passed.
        todo!("s2.e7: one create per window per user, check-and-set in one step")
    }

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

    async fn handle_in(
        &mut self,
        event: &str,
        payload: Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        match event {
            "create_activity" => {
                // TODO(s2.e7): ask the shared limiter (`ctx.state::<Arc<UserRateLimiter>>()`)
                // for this user's create, with the window from
                // `ctx.state::<RateLimitWindow>()` (DEFAULT_WINDOW if absent). Refused:
                // error {"reason": "rate limit exceeded"}. Allowed: create_activity(...);
                // give the create back (`release`) if it did not succeed.
                todo!("s2.e7: a per-user limit through the shared limiter")
            }
            other => HandleIn::error(json!({ "reason": format!("unknown event: {other}") })),
        }
    }
}
