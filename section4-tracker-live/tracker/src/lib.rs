//! A distributed presence tracker in the style of Phoenix.Tracker.
//!
//! The pure layers (no I/O, no clock reads, no tokio) come first, each testable alone:
//! - [`clock`]: version vectors and the minimal clock set used to pick transfer sources;
//! - [`replica`]: replica identity (fresh per start) and up/down/permdown with `now` passed in;
//! - [`state`]: the add-wins observed-remove set with dots, clouds and deltas;
//! - [`delta_generation`]: recent deltas kept for cheap catch-up.
//!
//! Then the parts that run:
//! - [`transport`]: the three PubSub primitives a shard needs, as a trait;
//! - [`hub`]: an in-memory network with partitions, drops and suspends, for tests;
//! - [`pubsub_transport`]: the transport over section 2's PubSub (local, or Redis in section 3);
//! - the shard task (private) and the [`Tracker`] handle that routes by topic.
//!
//! Then what section 4 builds on it:
//! - [`presence`]: what the presence channels track per user, and its wire shape;
//! - [`gated`]: a pipeline that makes its expensive call only for topics someone watches.
//!
//! And what it costs, measured: [`costs`] (the bench's and the walkthrough's loops).

pub mod clock;
pub mod costs;
pub mod delta_generation;
pub mod gated;
pub mod hub;
pub mod presence;
pub mod pubsub_transport;
pub mod replica;
pub mod state;
pub mod transport;

mod handle;
mod shard;

pub use handle::{
    ConfigError, Diff, DiffHandler, Owner, TopicDiff, TrackError, Tracked, Tracker, TrackerConfig,
    TrackerEvent, shard_for,
};
