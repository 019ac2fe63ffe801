//! Node for the JavaScript-client tests: is node here, are a folder's npm packages
//! installed, run a `node --test` suite or a script and read what it printed.
//!
//! The folders are the caller's (`tests/js` beside the test file), with their own
//! `package.json`; `npm ci --prefix <folder>` installs them and `.ci/run` does it
//! for every folder. Where node or a package is missing, a test skips on a laptop and
//! fails in CI (see [`crate::skip_or_fail`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::Missing;

/// Why node scripts in `dir` cannot run here, if they cannot: node is missing, or
/// one of `packages` is not under `dir/node_modules`.
pub fn missing(dir: &Path, packages: &[&str]) -> Option<Missing> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some(Missing::new(
            "node",
            "node is not installed",
            "sudo apt-get install nodejs npm",
        ));
    }
    packages
        .iter()
        .find(|package| !dir.join("node_modules").join(package).exists())
        .map(|package| {
            Missing::new(
                "npm packages",
                format!("the {package} npm package is not installed"),
                format!("npm ci --prefix {}", dir.display()),
            )
        })
}

/// `dir`, or `None` after a skip line (a panic in CI) naming `what` when node or one
/// of `packages` is missing.
pub fn dir_or_skip(dir: impl Into<PathBuf>, packages: &[&str], what: &str) -> Option<PathBuf> {
    let dir = dir.into();
    if let Some(missing) = missing(&dir, packages) {
        crate::skip_or_fail(what, &missing);
        return None;
    }
    Some(dir)
}

/// `node --test --test-reporter=spec <dir>/<suite>` run from `dir`, its output
/// piped and the process killed if the test drops it (a failed test must not leave
/// node running). Add the suite's environment (`.env("SERVER", ...)`), then
/// [`run_suite`] it or spawn it yourself.
pub fn test_command(dir: &Path, suite: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("node");
    command
        .arg("--test")
        .arg("--test-reporter=spec")
        .arg(dir.join(suite))
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs a [`test_command`] to the end within `limit`; fails with node's output when
/// the suite (`what`) failed or ran over. The spec reporter's lines go to stdout,
/// shown by `cargo test -- --nocapture`.
pub async fn run_suite(
    mut command: tokio::process::Command,
    limit: Duration,
    what: &str,
) -> Output {
    let output = tokio::time::timeout(limit, command.output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
        .expect("run node");
    println!("{}", String::from_utf8_lossy(&output.stdout));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs `node <script> <args>` with `envs`, off the runtime's threads (the script
/// may talk to a server this test serves), and returns what it printed.
pub async fn run_script(script: PathBuf, args: Vec<String>, envs: Vec<(String, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .args(args)
            .envs(envs)
            .output()
            .expect("run node")
    })
    .await
    .expect("the node script's thread")
}

/// What a script printed on stdout, as JSON; fails with the script's output when it
/// failed, saying it did not report `what`.
pub fn json_output(output: &Output, what: &str) -> serde_json::Value {
    parse_stdout(output, &format!("the script did not report {what}"))
}

/// `output`'s stdout as JSON, or a panic starting with `failure` and showing all
/// the script printed.
pub(crate) fn parse_stdout(output: &Output, failure: &str) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{failure}:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("the script prints JSON ({e}), not:\n{stdout}"))
}
