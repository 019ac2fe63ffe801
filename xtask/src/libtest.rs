//! Reads libtest's plain (pretty) output.
//!
//! JSON test output needs nightly, and the course runs on stable, so this parses
//! what every stable toolchain prints:
//!
//! ```text
//! running 2 tests
//! test s1_e1::start::a ... FAILED
//! test s1_e1::start::b ... ok
//!
//! failures:
//!
//! ---- s1_e1::start::a stdout ----
//! (the test's captured output and panic message)
//!
//! failures:
//!     s1_e1::start::a
//!
//! test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 3 filtered out
//! ```

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Ignored,
}

#[derive(Debug, Default)]
pub struct Report {
    /// Every `test NAME ... RESULT` line, in the order printed.
    pub tests: Vec<(String, Outcome)>,
    /// The captured output of each failed test, without its header.
    pub failures: Vec<(String, String)>,
    /// Whether a `test result:` line was seen: without one the binary never finished
    /// (it did not build, or it crashed).
    pub finished: bool,
}

impl Report {
    /// The tests whose names start with `prefix`, with their outcomes.
    pub fn tests_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, Outcome)> + 'a {
        self.tests
            .iter()
            .filter(move |(name, _)| name.starts_with(prefix))
            .map(|(name, outcome)| (name.as_str(), *outcome))
    }

    pub fn failure_output(&self, name: &str) -> Option<&str> {
        self.failures
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, out)| out.as_str())
    }
}

pub fn parse(stdout: &str) -> Report {
    let mut report = Report::default();
    // The failure section being read: its test name and lines so far.
    let mut section: Option<(String, Vec<&str>)> = None;

    for line in stdout.lines() {
        if let Some(name) = section_header(line) {
            close(&mut report, section.take());
            section = Some((name.to_string(), Vec::new()));
            continue;
        }
        if line == "failures:" || line.starts_with("test result: ") {
            close(&mut report, section.take());
            if line.starts_with("test result: ") {
                report.finished = true;
            }
            continue;
        }
        if let Some((_, lines)) = section.as_mut() {
            lines.push(line);
            continue;
        }
        if let Some((name, outcome)) = test_line(line) {
            report.tests.push((name.to_string(), outcome));
        }
    }
    close(&mut report, section);
    report
}

/// `---- NAME stdout ----` (or `stderr`) opens a failure section.
fn section_header(line: &str) -> Option<&str> {
    let inner = line.strip_prefix("---- ")?.strip_suffix(" ----")?;
    inner
        .strip_suffix(" stdout")
        .or_else(|| inner.strip_suffix(" stderr"))
}

/// `test NAME ... ok` / `... FAILED` / `... ignored[, reason]`.
fn test_line(line: &str) -> Option<(&str, Outcome)> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.rsplit_once(" ... ")?;
    let outcome = match result.trim_end() {
        "ok" => Outcome::Passed,
        "FAILED" => Outcome::Failed,
        r if r == "ignored" || r.starts_with("ignored, ") => Outcome::Ignored,
        _ => return None,
    };
    Some((name, outcome))
}

fn close(report: &mut Report, section: Option<(String, Vec<&str>)>) {
    let Some((name, lines)) = section else { return };
    let text = lines.join("\n").trim_matches('\n').trim_end().to_string();
    report.failures.push((name, text));
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAILING: &str = "\
running 3 tests
test s1_e1::start::resource_hold_is_the_mock_resource_default ... FAILED
test s1_e2::start::answers_ok ... ok
test s1_e2::start::fifty_clients ... FAILED

failures:

---- s1_e1::start::resource_hold_is_the_mock_resource_default stdout ----

thread 's1_e1::start::resource_hold_is_the_mock_resource_default' panicked at src/x.rs:18:5:
not yet implemented: s1.e1: return the hold time
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

---- s1_e2::start::fifty_clients stdout ----
thread 's1_e2::start::fifty_clients' panicked at tests/part1.rs:9:5:
assertion failed
  ---- not a header ----

failures:
    s1_e1::start::resource_hold_is_the_mock_resource_default
    s1_e2::start::fifty_clients

test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 5 filtered out; finished in 0.01s

";

    #[test]
    fn reads_results_and_failure_sections() {
        let report = parse(FAILING);
        assert!(report.finished);
        assert_eq!(report.tests.len(), 3);
        assert_eq!(
            report
                .tests_with_prefix("s1_e2::start::")
                .collect::<Vec<_>>(),
            vec![
                ("s1_e2::start::answers_ok", Outcome::Passed),
                ("s1_e2::start::fifty_clients", Outcome::Failed),
            ]
        );
        let first = report
            .failure_output("s1_e1::start::resource_hold_is_the_mock_resource_default")
            .unwrap();
        assert!(first.starts_with("thread 's1_e1"), "{first:?}");
        assert!(first.ends_with("display a backtrace"), "{first:?}");
        let second = report
            .failure_output("s1_e2::start::fifty_clients")
            .unwrap();
        assert!(second.ends_with("  ---- not a header ----"), "{second:?}");
        assert!(!second.contains("failures:"));
    }

    #[test]
    fn ignored_tests_and_passing_runs() {
        let out = "\nrunning 2 tests\ntest a::start::x ... ignored, exercise: run cargo xtask check\n\
                   test a::solution::x ... ok\n\ntest result: ok. 1 passed; 0 failed; 1 ignored\n";
        let report = parse(out);
        assert_eq!(
            report.tests,
            vec![
                ("a::start::x".to_string(), Outcome::Ignored),
                ("a::solution::x".to_string(), Outcome::Passed)
            ]
        );
        assert!(report.failures.is_empty());
        assert!(report.finished);
    }

    #[test]
    fn a_crashed_binary_is_not_finished() {
        let report = parse("running 1 test\ntest a::x ... ");
        assert!(!report.finished);
        assert!(report.tests.is_empty());
        assert!(!parse("").finished);
    }

    #[test]
    fn test_result_line_is_not_a_test() {
        let report =
            parse("test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 9 filtered out\n");
        assert!(report.tests.is_empty());
        assert!(report.finished);
    }
}
