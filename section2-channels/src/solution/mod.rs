//! The reference answers, compiled from `solutions/section2/` at the workspace root.
//!
//! Same module and item names as [`crate::start`], so one test suite runs against
//! both and `serve --solution` swaps them at runtime. This is one good answer, not
//! the only one: compare yours with it once your exercise passes.

#[path = "../../../solutions/section2/part1/mod.rs"]
pub mod part1;

#[path = "../../../solutions/section2/part2/mod.rs"]
pub mod part2;
