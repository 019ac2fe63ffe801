//! The reference answers, compiled from `solutions/section2/` at the workspace root by
//! the `section2-reference` crate (so later sections use them without compiling your
//! code).
//!
//! Same module and item names as [`crate::start`], so one test suite runs against
//! both and `serve --solution` swaps them at runtime. This is one good answer, not
//! the only one: compare yours with it once your exercise passes.

pub use section2_reference::{part1, part2};
