//! The reference answers, compiled from `solutions/section3/` at the workspace root.
//!
//! Same module and item names as [`crate::start`], so one test suite runs against
//! both and `serve --solution` swaps them at runtime. One good answer, not the only
//! one: compare yours with it once your exercise passes.

#[path = "../../../solutions/section3/part1/mod.rs"]
pub mod part1;
#[path = "../../../solutions/section3/part2/mod.rs"]
pub mod part2;
