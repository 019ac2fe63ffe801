//! Runs cargo: the exercises' tests (one invocation per test target), and the
//! pass-through commands.

use std::io;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::libtest::{self, Report};
use crate::skips::{self, Skip, SkipDir};
use crate::{ui, workspace};

/// What one `cargo test` of a test target produced.
pub enum RunResult {
    /// The test binary ran to the end (its tests may have failed); `skips` are the
    /// tests that returned early for a missing tool (they show as passed in `report`).
    Ran { report: Report, skips: Vec<Skip> },
    /// The code did not compile: the errors, in cargo's own rendering.
    BuildFailed { errors: Vec<Diagnostic> },
    /// The binary started but never printed its summary (an abort, a stack overflow).
    Crashed { output: String },
}

/// One compiler error, as cargo rendered it, and where it points.
pub struct Diagnostic {
    pub text: String,
    pub location: Option<(String, u32)>,
}

/// How a test run is invoked.
pub struct TestRun<'a> {
    pub root: &'a Path,
    pub krate: &'a str,
    pub test: &'a str,
    /// Test-name filters; libtest runs a test if any of them matches.
    pub filters: Vec<String>,
    /// Run only the `#[ignore]`d tests (the learner's side).
    pub ignored: bool,
    /// Stream cargo's build output instead of keeping it quiet.
    pub verbose: bool,
}

/// A `cargo` command with the environment every course run needs.
pub fn cargo_command(root: &Path) -> Command {
    let mut command = Command::new(workspace::cargo());
    command
        .current_dir(root)
        // A learner's run must never write `.snap.new` files into the repo, nor
        // "pass" by accepting a snapshot; `cargo insta review` is the maintainer's job.
        .env("INSTA_UPDATE", "no")
        .env("INSTA_FORCE_PASS", "0")
        // Test messages are written to teach; a backtrace would bury them.
        .env("RUST_BACKTRACE", "0");
    command
}

pub fn run_tests(run: &TestRun) -> io::Result<RunResult> {
    let color = if ui::color_enabled() {
        "always"
    } else {
        "never"
    };
    let mut command = test_command(run, color);
    // Where testkit's skip_or_fail records a skip: libtest would report it as a pass.
    let skip_dir = SkipDir::new()?;
    command
        .env(skips::DIR_ENV, skip_dir.path())
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    if run.verbose {
        eprintln!("{}", ui::dim(&format!("$ {}", describe(&command))));
        command.stderr(Stdio::inherit());
    } else {
        command.stderr(Stdio::piped());
    }
    let output = command.output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = libtest::parse(&stdout);
    if report.finished {
        let skips = skip_dir.read();
        return Ok(RunResult::Ran { report, skips });
    }
    let stderr_plain = ui::strip_ansi(&stderr);
    if stdout.trim().is_empty() || stderr_plain.contains("could not compile") {
        return Ok(RunResult::BuildFailed {
            errors: compiler_errors(&stderr),
        });
    }
    Ok(RunResult::Crashed {
        output: format!("{stdout}\n{stderr}").trim().to_string(),
    })
}

/// The `cargo test` of one test target. `-p` and `--test` name exactly what the scope
/// needs: cargo builds that crate (its library, binaries and the one test target) and
/// its dependencies, nothing else of the workspace, so a learner's broken file in
/// another section cannot stop this one (`cargo xtask verify` proves it by experiment).
fn test_command(run: &TestRun, color: &str) -> Command {
    let mut command = cargo_command(run.root);
    command.args([
        "test", "-p", run.krate, "--test", run.test, "--color", color, "--",
    ]);
    if run.ignored {
        command.arg("--ignored");
    }
    // libtest's own colours would get in the way of parsing; we colour the summary.
    command.args(["--color", "never"]).args(&run.filters);
    command
}

/// The error diagnostics in cargo's stderr, without warnings, progress lines and
/// the closing "could not compile" summary.
pub fn compiler_errors(stderr: &str) -> Vec<Diagnostic> {
    let mut blocks: Vec<(bool, Vec<&str>)> = Vec::new();
    for line in stderr.lines() {
        let plain = ui::strip_ansi(line);
        if plain.starts_with("error") || plain.starts_with("warning") {
            blocks.push((plain.starts_with("error"), vec![line]));
        } else if is_cargo_status(&plain) {
            // "   Compiling x": ends the diagnostic before it, belongs to none.
            blocks.push((false, Vec::new()));
        } else if let Some((_, lines)) = blocks.last_mut() {
            lines.push(line);
        }
    }
    blocks
        .into_iter()
        .filter(|(is_error, lines)| {
            let first = lines.first().map(|l| ui::strip_ansi(l)).unwrap_or_default();
            *is_error
                && !first.starts_with("error: could not compile")
                && !first.starts_with("error: aborting due to")
        })
        .map(|(_, lines)| {
            let location = lines.iter().find_map(|line| {
                let plain = ui::strip_ansi(line);
                let at = plain.trim_start().strip_prefix("--> ")?;
                let mut parts = at.trim().split(':');
                // rustc prints native separators; the manifest uses `/`.
                let path = parts.next()?.replace('\\', "/");
                let line = parts.next()?.parse().ok()?;
                Some((path, line))
            });
            let text = lines.join("\n").trim_end().to_string();
            Diagnostic { text, location }
        })
        .collect()
}

/// Cargo's right-aligned progress lines: `   Compiling foo v0.1.0`.
fn is_cargo_status(line: &str) -> bool {
    let Some(verb_end) = line.get(..12) else {
        return false;
    };
    let verb = verb_end.trim_start();
    !verb.is_empty()
        && verb.len() < 12
        && line.as_bytes().get(12) == Some(&b' ')
        && verb.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && verb.chars().all(|c| c.is_ascii_alphabetic())
}

/// A command line, for `--verbose` and error messages.
pub fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().to_string();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const STDERR: &str = "\
   Compiling section1-pipelines v0.1.0 (/work/main/section1-pipelines)
warning: unused variable: `x`
 --> section1-pipelines/src/app.rs:3:9
  |
3 |     let x = 1;
  |         ^
error[E0308]: mismatched types
  --> section1-pipelines/src/start/part1/serial.rs:12:5
   |
12 |     5
   |     ^ expected `&str`, found integer

\x1b[1m\x1b[31merror[E0425]\x1b[0m: cannot find value `y`
  \x1b[1m\x1b[34m--> \x1b[0msection1-pipelines/src/start/part1/welcome.rs:20:5

error: aborting due to 2 previous errors
error: could not compile `section1-pipelines` (lib) due to 2 previous errors
";

    #[test]
    fn keeps_only_errors_with_their_locations() {
        let errors = compiler_errors(STDERR);
        assert_eq!(errors.len(), 2);
        assert!(errors[0].text.starts_with("error[E0308]"));
        assert!(errors[0].text.contains("expected `&str`"));
        assert_eq!(
            errors[0].location,
            Some((
                "section1-pipelines/src/start/part1/serial.rs".to_string(),
                12
            ))
        );
        assert_eq!(
            errors[1].location,
            Some((
                "section1-pipelines/src/start/part1/welcome.rs".to_string(),
                20
            ))
        );
    }

    #[test]
    fn builds_only_the_crate_and_target_in_scope() {
        let run = TestRun {
            root: Path::new("."),
            krate: "section3-production",
            test: "part1",
            filters: vec!["s3_e1::solution::".into()],
            ignored: false,
            verbose: false,
        };
        let command = test_command(&run, "never");
        assert_eq!(
            describe(&command).split_once(' ').map(|(_, args)| args),
            Some(
                "test -p section3-production --test part1 --color never -- --color never \
                 s3_e1::solution::"
            )
        );
    }

    #[test]
    fn recognises_cargo_progress_lines() {
        assert!(is_cargo_status("   Compiling foo v0.1.0"));
        assert!(is_cargo_status("    Finished `test` profile"));
        assert!(!is_cargo_status("12 |     let x = 1;"));
        assert!(!is_cargo_status("   = note: expected"));
        assert!(!is_cargo_status("  --> src/lib.rs:1:1"));
    }
}
