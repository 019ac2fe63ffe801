//! # Section 4: presence tracking and live views
//!
//! Your exercises, built on two provided crates beside this one:
//!
//! - `tracker` (`section4-tracker-live/tracker`): a replicated set of "who is here" per
//!   topic that every node answers locally and that converges without a coordinator,
//!   gossiping over any PubSub; with what the room channels track per user
//!   (`tracker::presence`) and the sensor pipeline gated on it (`tracker::gated`);
//! - `live` (`section4-tracker-live/live`): live views on the section 2 channels, and
//!   the feed and presence pages your views are built from.
//!
//! Each has a README listing its files in reading order. Here:
//!
//! - [`app`]: a presence node (endpoint + tracker) serving `room:*` with your channel
//!   ([`start`]) or the reference ([`solution`]);
//! - [`gated`]: the gated pipeline run with your `handle_reading` or the reference's
//!   (exercise s4.e4);
//! - [`live_app`]: the live pages serving your views or the reference's.

pub mod app;
pub mod gated;
pub mod live_app;
pub mod solution;
pub mod start;

/// Which code answers the exercises: yours (`start`) or the reference (`solution`).
pub use selector::Implementation;
