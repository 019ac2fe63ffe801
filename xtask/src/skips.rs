//! Tests that could not run here: the records `testkit::skip_or_fail` leaves.
//!
//! A test that needs a missing tool (redis-server, node packages, Chromium,
//! Postgres) returns early on a laptop, and libtest reports it as passed, swallowing
//! its `skipped: ...` line. So every test run of the xtask gets a fresh folder in
//! [`DIR_ENV`]; `skip_or_fail` writes one JSON file per skip there, and the xtask
//! reads them after the run: `check` never shows a skipped exercise as done, and
//! `verify` lists every skipped suite with the command that enables it.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde::Deserialize;

/// The variable naming the folder (testkit's `SKIPS_DIR_ENV`).
pub const DIR_ENV: &str = "COURSE_SKIPS_DIR";

/// One skipped test, as `skip_or_fail` recorded it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub struct Skip {
    /// The test's full name (`s3_e6::start::cross_node_delivery`), from its thread;
    /// empty when the skip happened off the test's thread.
    #[serde(default)]
    pub test: String,
    /// The caller's name for what did not run: `the phoenix client suite`.
    #[serde(default)]
    pub what: String,
    /// The missing tool, short: `redis-server`.
    #[serde(default)]
    pub tool: String,
    /// What is wrong: `redis-server is not installed`.
    #[serde(default)]
    pub reason: String,
    /// The command that makes it runnable: `sudo apt-get install redis-server`.
    #[serde(default)]
    pub enable: String,
    /// The package and test target that ran it (`section3-production`, `part2`).
    #[serde(default)]
    pub package: String,
    #[serde(default)]
    pub target: String,
}

impl Skip {
    /// Reads one record. A file that is not one is still a skip (something
    /// returned early), so it becomes a record that says so rather than nothing.
    pub fn parse(text: &str, file: &str) -> Skip {
        serde_json::from_str(text).unwrap_or_else(|e| Skip {
            what: format!("a test (unreadable skip record {file}: {e})"),
            tool: "a tool".into(),
            reason: "unknown".into(),
            enable: "cargo xtask doctor".into(),
            ..Skip::default()
        })
    }

    /// Where it ran and what, for a list: `section3-production part2:
    /// s3_e6::solution::x (the cluster test)`.
    pub fn describe(&self) -> String {
        let place = [self.package.as_str(), self.target.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let test = match (self.test.as_str(), self.what.as_str()) {
            ("", what) => what.to_string(),
            (test, "") => test.to_string(),
            (test, what) => format!("{test} ({what})"),
        };
        if place.is_empty() {
            test
        } else {
            format!("{place}: {test}")
        }
    }
}

/// A fresh, empty folder for one test run's records, removed when dropped.
pub struct SkipDir {
    path: PathBuf,
}

impl SkipDir {
    pub fn new() -> io::Result<SkipDir> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "course-skips-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // A leftover from a killed run with the same process id must not count.
        if path.exists() {
            fs::remove_dir_all(&path)?;
        }
        fs::create_dir_all(&path)?;
        Ok(SkipDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The records written so far, in a stable order.
    pub fn read(&self) -> Vec<Skip> {
        read_dir(&self.path)
    }
}

impl Drop for SkipDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Every `*.skip` record in `dir`, sorted (tests run in parallel: file order means
/// nothing).
pub fn read_dir(dir: &Path) -> Vec<Skip> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut skips: Vec<Skip> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "skip"))
        .map(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            Skip::parse(&fs::read_to_string(&path).unwrap_or_default(), &name)
        })
        .collect();
    skips.sort();
    skips.dedup();
    skips
}

/// The command to show, with paths under the workspace made relative to it
/// (`npm ci --prefix section2-channels/tests/js`).
pub fn enable_command(skip: &Skip, root: &Path) -> String {
    let root = format!("{}/", root.display());
    skip.enable.replace(&root, "")
}

/// "can't check here: redis-server, install with `sudo apt-get install redis-server`"
/// for the distinct tools of `skips`.
pub fn cant_check_text(skips: &[Skip], root: &Path) -> String {
    let mut tools: Vec<(String, String)> = skips
        .iter()
        .map(|s| (s.tool.clone(), enable_command(s, root)))
        .collect();
    tools.sort();
    tools.dedup();
    let parts: Vec<String> = tools
        .iter()
        .map(|(tool, enable)| {
            let verb = if enable.starts_with("export ") {
                "enable with"
            } else {
                "install with"
            };
            format!("{tool}, {verb} `{enable}`")
        })
        .collect();
    format!("can't check here: {}", parts.join("; "))
}

/// `skips` grouped by the command that enables them (commands sorted), each
/// group's suites described once and in order.
pub fn by_command(skips: &[Skip], root: &Path) -> Vec<(String, Vec<String>)> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for skip in skips {
        groups
            .entry(enable_command(skip, root))
            .or_default()
            .push(skip.describe());
    }
    groups
        .into_iter()
        .map(|(command, mut suites)| {
            suites.sort();
            suites.dedup();
            (command, suites)
        })
        .collect()
}

/// The last line of `verify`: "verify passed", or "verify passed with 3 suites
/// skipped" (and skipped steps), or the failure count.
pub fn verdict(failed_steps: usize, skipped_suites: usize, skipped_steps: usize) -> String {
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let mut skipped = Vec::new();
    if skipped_suites > 0 {
        skipped.push(plural(skipped_suites, "suite", "suites"));
    }
    if skipped_steps > 0 {
        skipped.push(plural(skipped_steps, "step", "steps"));
    }
    let skipped = if skipped.is_empty() {
        String::new()
    } else {
        format!("{} skipped", skipped.join(" and "))
    };
    match (failed_steps, skipped.is_empty()) {
        (0, true) => "verify passed".into(),
        (0, false) => format!("verify passed with {skipped}"),
        (n, true) => format!("verify failed: {n} step(s)"),
        (n, false) => format!("verify failed: {n} step(s); {skipped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis(test: &str) -> Skip {
        Skip {
            test: test.into(),
            what: "the cluster test".into(),
            tool: "redis-server".into(),
            reason: "redis-server is not installed".into(),
            enable: "sudo apt-get install redis-server".into(),
            package: "section3-production".into(),
            target: "part2".into(),
        }
    }

    fn npm(root: &str) -> Skip {
        Skip {
            test: "phoenix_client_suite".into(),
            what: "the phoenix client suite".into(),
            tool: "npm packages".into(),
            reason: "the phoenix npm package is not installed".into(),
            enable: format!("npm ci --prefix {root}/section2-channels/tests/js"),
            package: "section2-channels".into(),
            target: "js_client".into(),
        }
    }

    #[test]
    fn reads_the_records_testkit_writes() {
        // The exact shape of testkit's record_skip.
        let text = r#"{"enable":"sudo apt-get install redis-server","package":"section3-production","reason":"redis-server is not installed","target":"part2","test":"s3_e6::start::x","tool":"redis-server","what":"the cluster test"}"#;
        assert_eq!(Skip::parse(text, "1-0.skip"), redis("s3_e6::start::x"));
    }

    #[test]
    fn an_unreadable_record_is_still_a_skip() {
        let skip = Skip::parse("{\"test\": ", "7-3.skip");
        assert!(
            skip.what.contains("unreadable skip record 7-3.skip"),
            "{skip:?}"
        );
        assert_eq!(skip.enable, "cargo xtask doctor");
    }

    #[test]
    fn a_folder_of_records_reads_sorted_without_partial_files() {
        let dir = SkipDir::new().unwrap();
        let write = |name: &str, skip: &Skip| {
            let text = format!(
                r#"{{"test":"{}","what":"{}","tool":"{}","reason":"{}","enable":"{}","package":"{}","target":"{}"}}"#,
                skip.test,
                skip.what,
                skip.tool,
                skip.reason,
                skip.enable,
                skip.package,
                skip.target
            );
            fs::write(dir.path().join(name), text).unwrap();
        };
        write("9-1.skip", &redis("s3_e6::start::b"));
        write("9-0.skip", &redis("s3_e6::start::a"));
        write(".9-2.skip.partial", &redis("s3_e6::start::c"));
        assert_eq!(
            dir.read(),
            vec![redis("s3_e6::start::a"), redis("s3_e6::start::b")]
        );
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists(), "the folder goes with the run");
    }

    #[test]
    fn the_check_line_names_each_tool_once_with_its_command() {
        let root = Path::new("/work/course");
        let skips = [
            redis("s3_e6::start::a"),
            redis("s3_e6::start::b"),
            npm("/work/course"),
        ];
        assert_eq!(
            cant_check_text(&skips, root),
            "can't check here: npm packages, install with \
             `npm ci --prefix section2-channels/tests/js`; \
             redis-server, install with `sudo apt-get install redis-server`"
        );
        let postgres = Skip {
            tool: "Postgres".into(),
            enable: "export SECTION2_POSTGRES_URL=postgres://...".into(),
            ..Skip::default()
        };
        assert_eq!(
            cant_check_text(&[postgres], root),
            "can't check here: Postgres, enable with `export SECTION2_POSTGRES_URL=postgres://...`"
        );
    }

    #[test]
    fn the_summary_groups_suites_under_their_command() {
        let root = Path::new("/work/course");
        let skips = [
            redis("s3_e6::solution::b"),
            npm("/work/course"),
            redis("s3_e6::solution::a"),
            redis("s3_e6::solution::a"),
        ];
        assert_eq!(
            by_command(&skips, root),
            vec![
                (
                    "npm ci --prefix section2-channels/tests/js".to_string(),
                    vec![
                        "section2-channels js_client: phoenix_client_suite \
                         (the phoenix client suite)"
                            .to_string()
                    ]
                ),
                (
                    "sudo apt-get install redis-server".to_string(),
                    vec![
                        "section3-production part2: s3_e6::solution::a (the cluster test)"
                            .to_string(),
                        "section3-production part2: s3_e6::solution::b (the cluster test)"
                            .to_string(),
                    ]
                ),
            ]
        );
    }

    #[test]
    fn a_skip_off_the_test_thread_is_described_by_what() {
        let skip = Skip {
            what: "the page test".into(),
            ..Skip::default()
        };
        assert_eq!(skip.describe(), "the page test");
    }

    #[test]
    fn verify_never_says_plain_passed_after_a_skip() {
        assert_eq!(verdict(0, 0, 0), "verify passed");
        assert_eq!(verdict(0, 3, 0), "verify passed with 3 suites skipped");
        assert_eq!(
            verdict(0, 1, 1),
            "verify passed with 1 suite and 1 step skipped"
        );
        assert_eq!(verdict(0, 0, 2), "verify passed with 2 steps skipped");
        assert_eq!(verdict(2, 0, 0), "verify failed: 2 step(s)");
        assert_eq!(
            verdict(1, 4, 0),
            "verify failed: 1 step(s); 4 suites skipped"
        );
    }
}
