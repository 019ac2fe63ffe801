//! Your code. Each file here has a `todo!()` beside a `TODO(<exercise id>)` comment;
//! `cargo xtask check` tells you which one is next and how to get a hint.
//!
//! The reference answers live in `solutions/section3/` at the workspace root and are
//! compiled as [`crate::solution`], with the same names, so the tests and the server
//! can run either.

// Untouched exercises leave parameters unused; that is expected, not a warning to fix.
#![allow(
    unused_variables,
    unused_imports,
    unused_mut,
    unreachable_code,
    dead_code
)]

pub mod part1;
pub mod part2;
pub mod part3;
