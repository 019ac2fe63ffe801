//! The reference answers, compiled from `solutions/section3/` at the workspace root by
//! the `section3-reference` crate (so later sections use them without compiling your
//! code).
//!
//! Same module and item names as [`crate::start`], so one test suite runs against
//! both and `serve --solution` swaps them at runtime. One good answer, not the only
//! one: compare yours with it once your exercise passes.

pub use section3_reference::{part1, part2, part3};
