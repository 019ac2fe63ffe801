//! Runs cargo: builds a section's test targets (showing cargo's progress), runs the
//! exercises' tests (one invocation per test target), and the pass-through commands.

use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;

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

/// What building one crate's test targets produced.
pub enum BuildResult {
    Built,
    /// The code did not compile: rustc's errors (none when cargo itself failed
    /// before compiling; its message was shown as it came).
    Failed {
        errors: Vec<Diagnostic>,
    },
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

/// Builds test targets `tests` of `krate` without running them, so the learner sees
/// the build happen: cargo's own progress bar on a terminal, a line per crate
/// compiled otherwise. rustc's messages arrive as JSON on stdout: warnings stay quiet
/// (start code is full of unused arguments on purpose) and errors come back.
pub fn build_tests(
    root: &Path,
    krate: &str,
    tests: &[&str],
    verbose: bool,
) -> io::Result<BuildResult> {
    let terminal = io::stderr().is_terminal();
    let mut command = build_command(root, krate, tests, verbose, terminal);
    command.stdin(Stdio::null());
    if verbose {
        eprintln!("{}", ui::dim(&format!("$ {}", describe(&command))));
        let built = command.status()?.success();
        return Ok(build_result(built, Vec::new()));
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let forwarding = thread::spawn(move || forward_progress(stderr, terminal));
    let stdout = child.stdout.take().expect("stdout is piped");
    let errors: Vec<Diagnostic> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| json_error(&line))
        .collect();
    let built = child.wait()?.success();
    let _ = forwarding.join();
    Ok(build_result(built, errors))
}

fn build_result(built: bool, errors: Vec<Diagnostic>) -> BuildResult {
    if built {
        BuildResult::Built
    } else {
        BuildResult::Failed { errors }
    }
}

/// `cargo test --no-run` of the given targets, with the same `-p`/`--test` scoping
/// as the runs that follow, so those find everything built.
fn build_command(
    root: &Path,
    krate: &str,
    tests: &[&str],
    verbose: bool,
    terminal: bool,
) -> Command {
    let mut command = cargo_command(root);
    command.args(["test", "--no-run", "-p", krate]);
    for test in tests {
        command.args(["--test", test]);
    }
    if verbose {
        return command;
    }
    let format = if ui::color_enabled() {
        "json-diagnostic-rendered-ansi"
    } else {
        "json"
    };
    command.args(["--message-format", format]);
    if terminal {
        // cargo draws its progress bar only on a terminal, and it writes to our pipe:
        // ask for the bar anyway, and redraw it on ours.
        command
            .env("CARGO_TERM_PROGRESS_WHEN", "always")
            .env("CARGO_TERM_PROGRESS_WIDTH", progress_width().to_string());
    }
    command
}

/// Room for cargo's progress line: the terminal's width when the shell exports it,
/// else 72 (a longer line would wrap and could no longer be redrawn in place).
fn progress_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .map_or(72, |c| c.saturating_sub(1).clamp(40, 120))
}

/// Shows cargo's stderr as it comes: on a terminal, its progress bar redrawn on one
/// line; elsewhere (CI logs, pipes) its `Compiling` lines. Its other messages (a
/// lock being waited for, a download, a manifest error) are printed as they are;
/// the noise of a successful build (`Finished`, `Executable`) is not.
fn forward_progress(stderr: impl Read, terminal: bool) {
    let mut live = false;
    for piece in pieces(stderr) {
        let plain = ui::strip_ansi(&piece);
        match shown(&plain, terminal) {
            Shown::Hidden => {}
            Shown::Live => {
                eprint!("\r\x1b[K{}", plain.trim_end());
                live = true;
            }
            Shown::Line => {
                if live {
                    eprint!("\r\x1b[K");
                    live = false;
                }
                eprintln!("{}", piece.trim_end());
            }
        }
    }
    if live {
        eprint!("\r\x1b[K");
    }
}

/// cargo's stderr cut at `\n` and at the `\r` its progress bar redraws with.
fn pieces(stderr: impl Read) -> impl Iterator<Item = String> {
    let mut reader = BufReader::new(stderr);
    std::iter::from_fn(move || {
        let mut piece = Vec::new();
        loop {
            let mut byte = [0u8];
            match reader.read(&mut byte) {
                Ok(1) if byte[0] == b'\n' || byte[0] == b'\r' => {
                    return Some(String::from_utf8_lossy(&piece).into_owned());
                }
                Ok(1) => piece.push(byte[0]),
                _ if piece.is_empty() => return None,
                _ => {
                    return Some(String::from_utf8_lossy(&std::mem::take(&mut piece)).into_owned());
                }
            }
        }
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Shown {
    Hidden,
    /// Redrawn in place on a terminal.
    Live,
    Line,
}

/// How one piece of cargo's stderr (colours stripped) is shown.
fn shown(plain: &str, terminal: bool) -> Shown {
    let text = plain.trim();
    let verb = text.split(' ').next().unwrap_or("");
    let noise = text.is_empty()
        || matches!(verb, "Finished" | "Executable" | "Fresh" | "Running")
        // Said better by check's own summary of the errors.
        || text.starts_with("error: could not compile")
        || text.starts_with("warning: build failed, waiting for other jobs")
        || (text.starts_with("warning: `") && text.contains(" generated "));
    match verb {
        _ if noise => Shown::Hidden,
        "Building" if text.contains('[') && terminal => Shown::Live,
        "Building" if text.contains('[') => Shown::Hidden,
        // A line per crate in a log; on a terminal the bar already names them.
        "Compiling" | "Checking" if terminal => Shown::Hidden,
        _ => Shown::Line,
    }
}

/// The error in one line of cargo's JSON output, if it holds one (warnings, notes,
/// the "aborting due to" summary and build artifacts are not errors to show).
fn json_error(line: &str) -> Option<Diagnostic> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    if value["reason"] != "compiler-message" {
        return None;
    }
    let message = &value["message"];
    let summary = message["message"].as_str().unwrap_or("");
    if message["level"] != "error" || summary.starts_with("aborting due to") {
        return None;
    }
    let text = message["rendered"].as_str()?.trim_end().to_string();
    let location = message["spans"].as_array().and_then(|spans| {
        let primary = spans.iter().find(|s| s["is_primary"] == true)?;
        // rustc prints native separators; the manifest uses `/`.
        let path = primary["file_name"].as_str()?.replace('\\', "/");
        let line = u32::try_from(primary["line_start"].as_u64()?).ok()?;
        Some((path, line))
    });
    Some(Diagnostic { text, location })
}

/// Whether cargo has built `krate` in this target directory before. The first build
/// compiles every dependency and takes minutes: the learner is told why it waits.
pub fn built_before(root: &Path, krate: &str) -> bool {
    let prefix = format!("{krate}-");
    let fingerprints = target_dir(root).join("debug").join(".fingerprint");
    std::fs::read_dir(fingerprints).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
    })
}

/// Where cargo builds: `CARGO_TARGET_DIR` if set, else the workspace's `target/`.
fn target_dir(root: &Path) -> PathBuf {
    ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"]
        .iter()
        .find_map(|name| std::env::var_os(name).filter(|dir| !dir.is_empty()))
        .map_or_else(|| root.join("target"), |dir| root.join(dir))
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
    fn builds_the_targets_in_scope_with_json_messages() {
        let command = build_command(
            Path::new("."),
            "section1-pipelines",
            &["part1", "part2"],
            false,
            false,
        );
        let args = describe(&command);
        assert!(
            args.contains("test --no-run -p section1-pipelines --test part1 --test part2"),
            "{args}"
        );
        assert!(args.contains("--message-format json"), "{args}");
    }

    #[test]
    fn shows_progress_and_hides_the_noise() {
        let bar = "    Building [=====>    ] 57/172: tokio, axum";
        assert_eq!(shown(bar, true), Shown::Live);
        assert_eq!(shown(bar, false), Shown::Hidden);
        let compiling = "   Compiling tokio v1.54.1";
        assert_eq!(shown(compiling, true), Shown::Hidden);
        assert_eq!(shown(compiling, false), Shown::Line);
        let lock = "    Blocking waiting for file lock on build directory";
        assert_eq!(shown(lock, true), Shown::Line);
        for noise in [
            "    Finished `test` profile [unoptimized] target(s) in 3.2s",
            "  Executable tests/part1.rs (target/debug/deps/part1-1234)",
            "error: could not compile `section1-pipelines` (lib) due to 1 previous error",
            "warning: `section1-pipelines` (lib) generated 2 warnings",
            "   ",
        ] {
            assert_eq!(shown(noise, false), Shown::Hidden, "{noise}");
        }
        assert_eq!(shown("error: failed to parse manifest", true), Shown::Line);
    }

    #[test]
    fn cuts_cargo_stderr_at_returns_and_newlines() {
        let stderr = "   Compiling a\n    Building [>] 1/2: a\r    Building [=>] 2/2\rtail";
        let pieces: Vec<String> = pieces(stderr.as_bytes()).collect();
        assert_eq!(
            pieces,
            [
                "   Compiling a",
                "    Building [>] 1/2: a",
                "    Building [=>] 2/2",
                "tail"
            ]
        );
    }

    #[test]
    fn reads_errors_from_json_messages() {
        let error = r#"{"reason":"compiler-message","message":{"message":"mismatched types","level":"error","spans":[{"file_name":"section1-pipelines/src/start/part1/e02_serial.rs","line_start":12,"is_primary":true}],"rendered":"error[E0308]: mismatched types\n  --> here\n"}}"#;
        let diagnostic = json_error(error).expect("an error");
        assert_eq!(
            diagnostic.text,
            "error[E0308]: mismatched types\n  --> here"
        );
        assert_eq!(
            diagnostic.location,
            Some((
                "section1-pipelines/src/start/part1/e02_serial.rs".to_string(),
                12
            ))
        );
        let warning = error.replace(r#""level":"error""#, r#""level":"warning""#);
        assert!(json_error(&warning).is_none());
        let abort = r#"{"reason":"compiler-message","message":{"message":"aborting due to 2 previous errors","level":"error","spans":[],"rendered":"error: aborting due to 2 previous errors"}}"#;
        assert!(json_error(abort).is_none());
        assert!(json_error(r#"{"reason":"build-finished","success":false}"#).is_none());
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
