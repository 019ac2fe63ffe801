//! Running a node script that drives headless Chromium through playwright-core, for
//! the browser tests of sections 1 and 4 (section 4 includes this file by path).
//!
//! Needs node, `npm ci` in the test's script folder and Debian's `chromium`;
//! `.ci/run` installs them. On a laptop without them a test prints why it skipped;
//! in CI (`CI` set) a missing tool is a failure, never a skip.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Chromium's path: `$CHROMIUM`, or Debian's.
pub fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string())
}

/// Why the scripts in `dir` cannot run here, if they cannot: node, each of
/// `packages` under `dir/node_modules`, Chromium.
fn missing_tool(dir: &Path, packages: &[&str]) -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed (apt-get install nodejs npm)".into());
    }
    for package in packages {
        if !dir.join("node_modules").join(package).exists() {
            return Some(format!(
                "{package} is not installed (npm ci --prefix {})",
                dir.display()
            ));
        }
    }
    if !Path::new(&chromium()).exists() {
        return Some(format!(
            "{} not found (apt-get install chromium)",
            chromium()
        ));
    }
    None
}

/// The scripts' folder `dir`, or `None` (after saying why) where the tools are
/// missing on a laptop. In CI a missing tool fails the test: a skip would hide it.
pub fn browser_dir_or_skip(dir: PathBuf, packages: &[&str], test: &str) -> Option<PathBuf> {
    if let Some(reason) = missing_tool(&dir, packages) {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test} cannot run in CI: {reason}"
        );
        eprintln!("skipped: {test}: {reason}");
        return None;
    }
    Some(dir)
}

/// Runs `node <script> <args>` with Chromium's path, off the runtime's threads.
pub async fn run_script(script: PathBuf, args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .args(args)
            .env("CHROMIUM", chromium())
            .output()
            .expect("run node")
    })
    .await
    .unwrap()
}

/// What the script saw, as JSON; fails with the script's output when it failed.
pub fn seen(output: &std::process::Output, what: &str) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser did not see {what}:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).expect("the script prints JSON")
}
