//! The "who is online" page, provided for s4.e8: what the presence view shares with
//! the node (its state, messages and template), read from the tracker. The view is the
//! exercise.

use std::sync::Arc;

use channels::PubSub;
use channels::pubsub::Broadcast;
use tracker::presence::{PresenceTracker, UserMeta};
use tracker::state::Key;
use tracker::{Diff, Tracked};

use crate::{Comprehension, Rendered, rendered};

/// The topic the presence pages track their users on.
pub const PRESENCE_TOPIC: &str = "live:presence";
/// The event each node broadcasts locally when [`PRESENCE_TOPIC`] changes.
pub const PRESENCE_CHANGED: &str = "presence_changed";

/// What the presence view reads: this node's tracker and its own pubsub.
#[derive(Clone)]
pub struct PresenceDeps {
    /// The node's tracker (answers locally, replicated across nodes).
    pub tracker: PresenceTracker,
    /// The node's own pubsub, where [`PRESENCE_CHANGED`] is broadcast.
    pub pubsub: Arc<dyn PubSub>,
}

/// The presence view's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceMsg {
    /// Someone joined or left [`PRESENCE_TOPIC`], on this node or another.
    Changed,
}

impl PresenceMsg {
    /// [`PRESENCE_CHANGED`] broadcasts as messages.
    pub fn from_broadcast(broadcast: &Broadcast) -> Option<PresenceMsg> {
        (broadcast.event() == PRESENCE_CHANGED).then_some(PresenceMsg::Changed)
    }
}

/// The node's half of `handle_diff` for the presence pages: a change on
/// [`PRESENCE_TOPIC`] (local or replicated) tells this node's pages to list again.
pub fn notify_presence_pages(local: &dyn PubSub, diff: &Diff<UserMeta>) {
    if diff.keys().any(|topic| topic.as_ref() == PRESENCE_TOPIC) {
        local.local_broadcast(Broadcast::new(
            PRESENCE_TOPIC,
            PRESENCE_CHANGED,
            Default::default(),
        ));
    }
}

/// Who is online: one `(name, tabs)` per user, sorted by name.
pub fn online_users(list: &[(Key, Tracked<UserMeta>)]) -> Vec<(String, usize)> {
    let mut users: std::collections::BTreeMap<&str, usize> = Default::default();
    for (_, tracked) in list {
        *users.entry(tracked.meta.name.as_str()).or_default() += 1;
    }
    users
        .into_iter()
        .map(|(name, tabs)| (name.to_owned(), tabs))
        .collect()
}

/// The presence page: who I am and who is online.
pub fn presence_page(me: &str, users: &[(String, usize)]) -> Rendered {
    let items: Comprehension = users
        .iter()
        .map(|(name, tabs)| {
            let tabs = if *tabs == 1 {
                String::new()
            } else {
                format!(" ({tabs} tabs)")
            };
            (
                name.clone(),
                rendered!("<li class=\"user\">" { name } "" { tabs } "</li>"),
            )
        })
        .collect();
    rendered!(
        "<section id=\"presence\"><h1>Who is online</h1><p>You are <strong id=\"me\">" { me }
        "</strong>; <span id=\"count\">" { users.len() } "</span> online.</p><ul id=\"users\">"
        { items } "</ul></section>"
    )
}
