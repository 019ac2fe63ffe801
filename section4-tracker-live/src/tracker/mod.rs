//! A distributed presence tracker in the style of Phoenix.Tracker.
//!
//! The pure layers (no I/O, no clock reads, no tokio) come first, each testable alone:
//! - [`clock`]: version vectors and the minimal clock set used to pick transfer sources;
//! - [`replica`]: replica identity (fresh per start) and up/down/permdown with `now` passed in;
//! - [`state`]: the add-wins observed-remove set with dots, clouds and deltas;
//! - [`delta_generation`]: recent deltas kept for cheap catch-up.

pub mod clock;
pub mod delta_generation;
pub mod replica;
pub mod state;
