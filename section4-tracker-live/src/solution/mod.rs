//! The reference answers, compiled from `solutions/section4/` at the workspace root.
//!
//! Same module and item names as [`crate::start`], so one test suite runs against
//! both and `serve --solution` swaps them at runtime.

#[path = "../../../solutions/section4/part1/mod.rs"]
pub mod part1;

#[path = "../../../solutions/section4/part2/mod.rs"]
pub mod part2;
