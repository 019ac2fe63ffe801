//! s4.e8: a live dashboard of who is online, on every node, from the tracker.
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

    // ANCHOR: mount
    async fn mount(session: &Session, ctx: &mut LiveContext<Self>) -> Result<Self, MountError> {
        let me = session
            .get("name")
            .filter(|name| !name.trim().is_empty() && name.len() <= MAX_NAME_LEN)
            .unwrap_or("guest")
            .to_owned();
        let deps = ctx
            .state::<PresenceDeps>()
            .cloned()
            .ok_or_else(|| MountError("the dashboard needs PresenceDeps".into()))?;
        let mut owner = None;
        if ctx.connected() {
            // Subscribe first: a change between the track and the list still arrives.
            ctx.subscribe(&deps.pubsub, PRESENCE_TOPIC, PresenceMsg::from_broadcast);
            let tab = deps.tracker.owner();
            let meta = UserMeta {
                name: me.clone(),
                online_at: now_unix(),
            };
            deps.tracker
                .track(&tab, PRESENCE_TOPIC, &user_key(&me), meta)
                .await
                .map_err(|error| MountError(error.to_string()))?;
            owner = Some(tab);
        }
        // The static render shows who is online without counting itself.
        let users = online_users(&deps.tracker.list(PRESENCE_TOPIC).await);
        Ok(PresenceLive {
            me,
            users,
            _owner: owner,
        })
    }
    // ANCHOR_END: mount

    fn render(&self) -> Rendered {
        presence_page(&self.me, &self.users)
    }

    async fn handle_event(&mut self, event: &str, _value: Value, _ctx: &mut LiveContext<Self>) {
        tracing::warn!(event, "the dashboard has no events");
    }

    // ANCHOR: handle_info
    async fn handle_info(&mut self, message: PresenceMsg, ctx: &mut LiveContext<Self>) {
        let PresenceMsg::Changed = message;
        if let Some(deps) = ctx.state::<PresenceDeps>() {
            // The tracker answers locally: listing again is cheap, and always right.
            self.users = online_users(&deps.tracker.list(PRESENCE_TOPIC).await);
        }
    }
    // ANCHOR_END: handle_info
}
