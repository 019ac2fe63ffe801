//! The course's test kit, a dev-dependency of every section crate.
//!
//! - [`exercise`]: writes an exercise's tests once, for the learner's `start` code
//!   (ignored by a plain `cargo test`, run by `cargo xtask check`) and the reference
//!   `solution`.
//! - [`Implementation`]: which of the two runs; the section crates re-export the
//!   same type, so `IMPLEMENTATION` goes straight into their apps.
//! - Helpers for tests that need a tool from outside Rust: [`redis::RedisServer`],
//!   [`node`] suites and scripts, a [`browser`] (playwright-core + Chromium), and the
//!   [`postgres`] switch.
//!
//! A test that needs a missing tool follows one rule, in [`skip_or_fail`]: on a
//! laptop it prints a `skipped: ...` line and returns early; in CI (`CI` set) it
//! fails, because there a skip would hide a broken setup.
//!
//! Paths are the caller's: helpers take a directory, usually
//! `Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")` written in the test.

pub mod browser;
pub mod node;
pub mod postgres;
pub mod redis;

pub use selector::{Implementation, ParseImplementationError};
pub use testkit_macros::exercise;

/// How every skip line starts, so `cargo xtask` can find them in a test's output.
pub const SKIP_PREFIX: &str = "skipped: ";

/// `true` in CI (the `CI` variable is set), where nothing may skip.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Says that `what` (a test, a suite) cannot run here because of `reason`.
///
/// On a laptop it prints `skipped: <what>: <reason>` on stderr and the caller
/// returns early. In CI it panics: `.ci/run` installs every tool, so a missing one
/// is a broken setup, never something to skip.
pub fn skip_or_fail(what: &str, reason: &str) {
    assert!(!in_ci(), "{what} cannot run in CI: {reason}");
    eprintln!("{SKIP_PREFIX}{what}: {reason}");
}
