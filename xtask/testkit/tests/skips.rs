//! `skip_or_fail` where `cargo xtask` runs the tests: it leaves a record the xtask
//! reads, because libtest swallows the `skipped: ...` line of a passing test.
//!
//! The test runs this binary again with the variables the xtask sets, running only
//! the `#[ignore]`d child below, and reads the folder it wrote to.

use std::path::PathBuf;
use std::process::Command;

use testkit::{Missing, SKIPS_DIR_ENV};

/// Set only for the child run: a plain `cargo test -- --ignored` skips nothing.
const CHILD_ENV: &str = "TESTKIT_SKIP_CHILD";

#[test]
#[ignore = "run by skip_or_fail_leaves_a_record_when_the_xtask_asks"]
fn child_that_skips() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    testkit::skip_or_fail(
        "the child's suite",
        &Missing::new(
            "redis-server",
            "redis-server is not installed",
            "sudo apt-get install redis-server",
        ),
    );
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("testkit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run_child(dir: Option<&PathBuf>) -> std::process::Output {
    let mut command = Command::new(std::env::current_exe().expect("this test binary"));
    command
        .args([
            "--ignored",
            "--exact",
            "child_that_skips",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        // Outside CI, so the skip is a skip and not a failure.
        .env_remove("CI")
        .env_remove(SKIPS_DIR_ENV);
    if let Some(dir) = dir {
        command.env(SKIPS_DIR_ENV, dir);
    }
    command.output().expect("run this test binary again")
}

#[test]
fn skip_or_fail_leaves_a_record_when_the_xtask_asks() {
    let dir = fresh_dir("skips");
    let output = run_child(Some(&dir));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the child passes (skips):\n{stdout}"
    );
    assert!(stdout.contains("test child_that_skips ... ok"), "{stdout}");

    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("skip_or_fail created the folder")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    assert_eq!(files.len(), 1, "one record per skip: {files:?}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    // libtest names the test's thread after the test, even with one thread.
    assert_eq!(record["test"], "child_that_skips");
    assert_eq!(record["what"], "the child's suite");
    assert_eq!(record["tool"], "redis-server");
    assert_eq!(record["reason"], "redis-server is not installed");
    assert_eq!(record["enable"], "sudo apt-get install redis-server");
    assert_eq!(record["package"], "testkit");
    assert_eq!(record["target"], "skips");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_plain_cargo_test_only_prints_the_skip() {
    let output = run_child(None);
    assert!(output.status.success());
    // libtest captures a passing test's stderr; --nocapture would show this line:
    // "skipped: the child's suite: redis-server is not installed (sudo apt-get ...)".
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("test child_that_skips ... ok"), "{stdout}");
}

#[test]
fn in_ci_a_skip_is_a_failure() {
    let mut command = Command::new(std::env::current_exe().expect("this test binary"));
    let output = command
        .args(["--ignored", "--exact", "child_that_skips"])
        .env(CHILD_ENV, "1")
        .env("CI", "true")
        .env_remove(SKIPS_DIR_ENV)
        .output()
        .expect("run this test binary again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("the child's suite cannot run in CI: redis-server is not installed"),
        "{stdout}"
    );
}
