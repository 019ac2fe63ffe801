//! Exercise s4.e8: a live dashboard of who is online, on every node, from the tracker.
//!
//! - slide: slides/src/section4/part2/e08_presence_live.md
//! - tests: `mod e08_presence_live` in section4-tracker-live/tests/part2.rs,
//!   run by `cargo xtask check s4.e8`
//! - stuck? `cargo xtask hint s4.e8` (each hint gives away a little more)
//!
//! Slide: slides/src/section4/part2/e08_presence_live.md

use serde_json::Value;

use live::presence::{PRESENCE_TOPIC, PresenceDeps, PresenceMsg, online_users, presence_page};
use live::{LiveContext, LiveView, MountError, Rendered, Session};
use tracker::Owner;
use tracker::presence::{UserMeta, now_unix, user_key};

/// The longest name a page may use.
pub const MAX_NAME_LEN: usize = 32;

/// One tab of the dashboard.
pub struct PresenceLive {
    me: String,
    users: Vec<(String, usize)>,
    /// Tracks this tab while the view lives (connected views only): dropping the view
    /// (tab closed, connection lost) drops the owner and the tracker untracks.
    _owner: Option<Owner>,
}

impl LiveView for PresenceLive {
    type Info = PresenceMsg;

    async fn mount(session: &Session, ctx: &mut LiveContext<Self>) -> Result<Self, MountError> {
        // TODO(s4.e8): `me` is the page's `name` parameter (or "guest"). When connected,
        // subscribe to `PRESENCE_TOPIC` on `deps.pubsub` (`PresenceMsg::from_broadcast`)
        // and track this tab in the tracker under `user_key(&me)`, keeping the `Owner`.
        // Both renders list `online_users(&tracker.list(PRESENCE_TOPIC).await)`.
        // See slides/src/section4/part2/e08_presence_live.md
        todo!("s4.e8: mount the dashboard (track only when connected)")
    }

    fn render(&self) -> Rendered {
        presence_page(&self.me, &self.users)
    }

    async fn handle_event(&mut self, event: &str, _value: Value, _ctx: &mut LiveContext<Self>) {
        tracing::warn!(event, "the dashboard has no events");
    }

    async fn handle_info(&mut self, message: PresenceMsg, ctx: &mut LiveContext<Self>) {
        // TODO(s4.e8): someone joined or left (here or on another node): list again.
        todo!("s4.e8: refresh the list of who is online")
    }
}
