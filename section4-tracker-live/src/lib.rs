//! Section 4: presence tracking and live views.
//!
//! - [`tracker`]: a replicated set of "who is here" per topic that every node answers
//!   locally and that converges without a coordinator, gossiping over any PubSub;
//! - [`presence`]: what the room channels track per user and its wire shape;
//! - [`gated`]: sensor readings whose expensive call runs only while someone watches
//!   (exercise s4.e4);
//! - [`app`]: a presence node (endpoint + tracker) serving `room:*` with your channel
//!   ([`start`]) or the reference ([`solution`]).

pub mod app;
pub mod gated;
pub mod live;
pub mod live_app;
pub mod presence;
pub mod solution;
pub mod start;
pub mod tracker;

/// Which code answers the exercises: yours (`start`) or the reference (`solution`).
pub use selector::Implementation;
