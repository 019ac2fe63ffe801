//! The course's test kit, a dev-dependency of every section crate.
//!
//! - [`exercise`]: writes an exercise's tests once, for the learner's `start` code
//!   (ignored by a plain `cargo test`, run by `cargo xtask check`) and the reference
//!   `solution`.
//! - [`Implementation`]: which of the two runs; the section crates re-export the
//!   same type, so `IMPLEMENTATION` goes straight into their apps.
//! - Helpers for tests that need a tool from outside Rust: [`redis::RedisServer`],
//!   [`node`] suites and scripts, a [`browser`] (playwright-core + Chromium), and the
//!   [`postgres`] switch, and a server binary run as a [`process`] (its address,
//!   SIGTERM, its exit).
//! - [`panics`]: the text of a panic payload (`Any { .. }` is never a message), and
//!   a hook that remembers panics no payload reached the test for (a spawned task,
//!   a server's connection, a layer that answers 500).
//!
//! A test that needs a missing tool follows one rule, in [`skip_or_fail`]: on a
//! laptop it says so and returns early; in CI (`CI` set) it fails, because there a
//! skip would hide a broken setup. "Says so" is twice: a `skipped: ...` line on
//! stderr for a plain `cargo test`, and, when `cargo xtask` runs the tests, a small
//! record in [`SKIPS_DIR_ENV`]'s folder, so `check` never shows a skipped exercise
//! as done and `verify` lists every skipped suite (libtest swallows the stderr line
//! of a passing test, so the xtask cannot rely on it).
//!
//! Paths are the caller's: helpers take a directory, usually
//! `Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")` written in the test.

pub mod browser;
pub mod node;
pub mod panics;
pub mod postgres;
pub mod process;
pub mod redis;

pub use selector::{Implementation, ParseImplementationError};
pub use testkit_macros::exercise;

/// How every skip line starts, for a person reading `cargo test` output.
pub const SKIP_PREFIX: &str = "skipped: ";

/// The folder `cargo xtask` gives a test run for its skip records (one JSON file per
/// skip, see [`skip_or_fail`]). Unset in a plain `cargo test`.
pub const SKIPS_DIR_ENV: &str = "COURSE_SKIPS_DIR";

/// `true` in CI (the `CI` variable is set), where nothing may skip.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// A tool a test needs and does not find here, and how to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The tool, short, for a status line: `redis-server`, `Chromium`, `npm packages`.
    pub tool: String,
    /// What is wrong, as a sentence: `redis-server is not installed`.
    pub reason: String,
    /// The one command that makes the test runnable: `sudo apt-get install redis-server`.
    pub enable: String,
}

impl Missing {
    pub fn new(
        tool: impl Into<String>,
        reason: impl Into<String>,
        enable: impl Into<String>,
    ) -> Self {
        Missing {
            tool: tool.into(),
            reason: reason.into(),
            enable: enable.into(),
        }
    }
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.reason, self.enable)
    }
}

/// Says that `what` (a test, a suite) cannot run here because `missing` is.
///
/// On a laptop it prints `skipped: <what>: <reason> (<enable>)` on stderr and the
/// caller returns early; when [`SKIPS_DIR_ENV`] names a folder (`cargo xtask` sets
/// it) it also writes a record there, so the skip is never taken for a pass. In CI
/// it panics: `.ci/run` installs every tool, so a missing one is a broken setup,
/// never something to skip.
pub fn skip_or_fail(what: &str, missing: &Missing) {
    assert!(!in_ci(), "{what} cannot run in CI: {missing}");
    eprintln!("{SKIP_PREFIX}{what}: {missing}");
    if let Some(dir) = std::env::var_os(SKIPS_DIR_ENV) {
        let test = std::thread::current().name().unwrap_or("").to_string();
        // A skip the xtask asked to hear about and cannot: failing is honest, a
        // silent return would be counted as a pass.
        if let Err(e) = record_skip(std::path::Path::new(&dir), &test, what, missing) {
            panic!(
                "{what} skipped ({missing}), and the skip could not be recorded in {}: {e}",
                std::path::Path::new(&dir).display()
            );
        }
    }
}

/// Writes one skip record into `dir`: a JSON object with the test's name (libtest
/// names each test's thread after it), `what`, the [`Missing`] fields, and the
/// package and test target that ran it. Returns the file written.
pub fn record_skip(
    dir: &std::path::Path,
    test: &str,
    what: &str,
    missing: &Missing,
) -> std::io::Result<std::path::PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);

    let record = serde_json::json!({
        "test": test,
        "what": what,
        "tool": missing.tool,
        "reason": missing.reason,
        "enable": missing.enable,
        // Cargo sets it for the test process it runs.
        "package": std::env::var("CARGO_PKG_NAME").unwrap_or_default(),
        "target": test_target(),
    });
    std::fs::create_dir_all(dir)?;
    // Unique across the test binaries of one run (process id) and the threads of one.
    let name = format!(
        "{}-{}.skip",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    // Written aside and renamed: a reader never sees half a record.
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, format!("{record}\n"))?;
    let path = dir.join(name);
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

/// The running test binary's target name: `part2` for `target/debug/deps/part2-<hash>`.
fn test_target() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((target, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            target.to_string()
        }
        _ => stem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_names_the_test_the_tool_and_the_command() {
        let dir = std::env::temp_dir().join(format!("testkit-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let missing = Missing::new(
            "redis-server",
            "redis-server is not installed",
            "sudo apt-get install redis-server",
        );
        let first = record_skip(
            &dir,
            "e06_redis_pubsub::start::x",
            "the cluster test",
            &missing,
        )
        .unwrap();
        let second = record_skip(
            &dir,
            "e06_redis_pubsub::start::y",
            "the cluster test",
            &missing,
        )
        .unwrap();
        assert_ne!(first, second, "one file per skip");
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&first).unwrap()).unwrap();
        assert_eq!(record["test"], "e06_redis_pubsub::start::x");
        assert_eq!(record["what"], "the cluster test");
        assert_eq!(record["tool"], "redis-server");
        assert_eq!(record["reason"], "redis-server is not installed");
        assert_eq!(record["enable"], "sudo apt-get install redis-server");
        assert_eq!(record["package"], "testkit");
        assert_eq!(record["target"], "testkit");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| n.ends_with(".skip")), "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_stderr_line_keeps_the_install_command() {
        let missing = Missing::new(
            "Chromium",
            "/usr/bin/chromium not found",
            "sudo apt-get install chromium",
        );
        assert_eq!(
            missing.to_string(),
            "/usr/bin/chromium not found (sudo apt-get install chromium)"
        );
    }
}
