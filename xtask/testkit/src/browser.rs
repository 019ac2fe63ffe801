//! Headless Chromium driven by playwright-core from a node script, for the browser
//! tests (dashboards, the demo page, live views).
//!
//! Needs node, `npm ci` in the scripts' folder (with `playwright-core` in its
//! `package.json`) and Debian's `chromium`; `.ci/run` installs them. A script gets
//! Chromium's path in `CHROMIUM` and prints what the page showed as JSON.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::Missing;

/// Chromium's path: `$CHROMIUM`, or Debian's.
pub fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string())
}

/// Why the scripts in `dir` cannot run here, if they cannot: node, each of
/// `packages` under `dir/node_modules`, Chromium.
pub fn missing(dir: &Path, packages: &[&str]) -> Option<Missing> {
    if let Some(missing) = crate::node::missing(dir, packages) {
        return Some(missing);
    }
    let chromium = chromium();
    if !Path::new(&chromium).exists() {
        return Some(Missing::new(
            "Chromium",
            format!("{chromium} not found"),
            "sudo apt-get install chromium",
        ));
    }
    None
}

/// The scripts' folder `dir`, or `None` after a skip line naming `what` where a
/// tool is missing on a laptop. In CI a missing tool fails the test.
pub fn dir_or_skip(dir: impl Into<PathBuf>, packages: &[&str], what: &str) -> Option<PathBuf> {
    let dir = dir.into();
    if let Some(missing) = missing(&dir, packages) {
        crate::skip_or_fail(what, &missing);
        return None;
    }
    Some(dir)
}

/// Runs `node <script> <args>` with Chromium's path in `CHROMIUM`, off the
/// runtime's threads.
pub async fn run_script(script: PathBuf, args: Vec<String>) -> Output {
    crate::node::run_script(script, args, vec![("CHROMIUM".into(), chromium())]).await
}

/// What the browser saw, as JSON; fails with the script's output when it did not
/// see `what`.
pub fn seen(output: &Output, what: &str) -> serde_json::Value {
    crate::node::parse_stdout(output, &format!("the browser did not see {what}"))
}
