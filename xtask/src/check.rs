//! `cargo xtask check`: the learner's main loop.
//!
//! Runs the exercises' tests in course order against the start code (or the
//! reference with `--solution`), prints where the learner stands, and explains the
//! first exercise that does not pass yet. No progress file: the tests are the truth.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::args::{Args, usage_error};
use crate::libtest::Outcome;
use crate::manifest::{Exercise, Manifest, Scope, Side};
use crate::runner::{self, Diagnostic, RunResult, TestRun};
use crate::{exit, git, ui, workspace};

const USAGE: &str = "cargo xtask check [s1 | s1.e2] [--solution] [--verbose]";

/// How many compiler errors to show: the first ones are the ones to fix first,
/// and later ones are often caused by them.
const MAX_ERRORS: usize = 3;

pub struct Options {
    pub side: Side,
    pub verbose: bool,
}

pub fn command(mut args: Args) -> u8 {
    let side = if args.flag("--solution") {
        Side::Solution
    } else {
        Side::Start
    };
    let verbose = args.flag("--verbose") | args.flag("-v");
    let scope = args.next_positional();
    if let Err(message) = args.finish() {
        return usage_error(&message, USAGE);
    }
    let root = workspace::root();
    let manifest = match Manifest::load(&root) {
        Ok(manifest) => manifest,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::USAGE;
        }
    };
    run(
        &root,
        &manifest,
        &Scope::parse(scope.as_deref()),
        &Options { side, verbose },
    )
}

/// One exercise's tests on one side, after a run.
pub struct ExerciseResult<'a> {
    pub exercise: &'a Exercise,
    pub tests: Vec<(String, Outcome)>,
    pub failures: Vec<(String, String)>,
}

impl ExerciseResult<'_> {
    /// Done means: some tests ran, and all of them passed.
    pub fn done(&self) -> bool {
        !self.tests.is_empty() && self.tests.iter().all(|(_, o)| *o == Outcome::Passed)
    }

    pub fn passed(&self) -> usize {
        self.tests
            .iter()
            .filter(|(_, o)| *o == Outcome::Passed)
            .count()
    }
}

/// Why the tests could not report on every exercise.
pub enum Stopped {
    BuildFailed {
        errors: Vec<Diagnostic>,
        target: String,
    },
    Crashed {
        output: String,
        target: String,
    },
    Io(String),
}

/// Runs the tests of `exercises` on one side: one cargo invocation per test target,
/// results attributed to exercises by test-name prefix.
pub fn run_exercises<'a>(
    root: &Path,
    exercises: &[&'a Exercise],
    side: Side,
    verbose: bool,
) -> Result<Vec<ExerciseResult<'a>>, Stopped> {
    // Group by (crate, test target), keeping course order of first appearance.
    let mut targets: Vec<(&str, &str)> = Vec::new();
    for e in exercises {
        if !targets.contains(&(e.krate.as_str(), e.test.as_str())) {
            targets.push((&e.krate, &e.test));
        }
    }
    let mut results: Vec<ExerciseResult> = exercises
        .iter()
        .map(|e| ExerciseResult {
            exercise: e,
            tests: Vec::new(),
            failures: Vec::new(),
        })
        .collect();
    for (krate, test) in targets {
        let in_target = |e: &Exercise| e.krate == krate && e.test == test;
        let filters = exercises
            .iter()
            .filter(|e| in_target(e))
            .map(|e| e.test_prefix(side))
            .collect();
        let run = TestRun {
            root,
            krate,
            test,
            filters,
            ignored: side == Side::Start,
            verbose,
        };
        let target = format!("{krate}/tests/{test}.rs");
        let report = match runner::run_tests(&run) {
            Ok(RunResult::Ran(report)) => report,
            Ok(RunResult::BuildFailed { errors }) => {
                return Err(Stopped::BuildFailed { errors, target });
            }
            Ok(RunResult::Crashed { output }) => return Err(Stopped::Crashed { output, target }),
            Err(e) => return Err(Stopped::Io(format!("could not run cargo: {e}"))),
        };
        for result in results.iter_mut().filter(|r| in_target(r.exercise)) {
            let prefix = result.exercise.test_prefix(side);
            for (name, outcome) in report.tests_with_prefix(&prefix) {
                // An ignored test did not run: it counts as not passing.
                result.tests.push((name.to_string(), outcome));
                if let Some(output) = report.failure_output(name) {
                    result.failures.push((name.to_string(), output.to_string()));
                }
            }
        }
    }
    Ok(results)
}

pub fn run(root: &Path, manifest: &Manifest, scope: &Scope, options: &Options) -> u8 {
    let exercises = match manifest.select(scope) {
        Ok(exercises) => exercises,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::USAGE;
        }
    };
    let against = match options.side {
        Side::Start => "your code",
        Side::Solution => "the reference solutions",
    };
    println!(
        "checking {} against {against}...",
        describe_scope(manifest, scope, &exercises)
    );
    warn_if_tests_edited(root, &exercises);

    let results = match run_exercises(root, &exercises, options.side, options.verbose) {
        Ok(results) => results,
        Err(stopped) => {
            explain_stop(manifest, &exercises, stopped);
            return exit::PENDING;
        }
    };

    print_table(manifest, &results);
    let done = results.iter().filter(|r| r.done()).count();
    let left: u32 = results
        .iter()
        .filter(|r| !r.done())
        .map(|r| r.exercise.minutes)
        .sum();
    let progress = format!("{done}/{} exercises done", results.len());
    if done == results.len() {
        println!("\n{}", ui::green(&ui::bold(&progress)));
        congratulate(options.side, &results);
        return exit::OK;
    }
    println!(
        "\n{}  {}",
        ui::bold(&progress),
        ui::dim(&format!("(about {left} min of work left)"))
    );
    if let Some(current) = results.iter().find(|r| !r.done()) {
        explain_current(root, current, options.side);
    }
    exit::PENDING
}

fn describe_scope(manifest: &Manifest, scope: &Scope, exercises: &[&Exercise]) -> String {
    match scope {
        Scope::Exercise(id) => format!("exercise {id}"),
        Scope::Section(id) => {
            let title = manifest
                .section(id)
                .map_or(id.as_str(), |s| s.title.as_str());
            format!("{} exercises of {}", exercises.len(), short_title(title))
        }
        Scope::All => format!("all {} exercises", exercises.len()),
    }
}

/// "Section 1: pipelines and back-pressure" -> "Section 1".
fn short_title(title: &str) -> &str {
    title.split(':').next().unwrap_or(title)
}

fn warn_if_tests_edited(root: &Path, exercises: &[&Exercise]) {
    let dirs: BTreeSet<String> = exercises
        .iter()
        .map(|e| format!("{}/tests", e.krate))
        .collect();
    let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
    let Some(changed) = git::changed_paths(root, &dirs) else {
        return;
    };
    if changed.is_empty() {
        return;
    }
    let (added, edited): (Vec<_>, Vec<_>) = changed.into_iter().partition(|(new, _)| *new);
    let names = |list: &[(bool, String)]| -> Vec<String> {
        list.iter().map(|(_, path)| path.clone()).collect()
    };
    println!(
        "{} you edited the tests or snapshots: the check now reflects your edited tests, \
         not the course's.",
        ui::yellow("warning:")
    );
    if !edited.is_empty() {
        let edited = names(&edited).join(" ");
        println!("  edited: {edited}\n  `git checkout -- {edited}` restores them.");
    }
    if !added.is_empty() {
        println!(
            "  added: {} (delete them to check as the course does)",
            names(&added).join(" ")
        );
    }
}

fn print_table(manifest: &Manifest, results: &[ExerciseResult]) {
    let width = results
        .iter()
        .map(|r| r.exercise.title.chars().count())
        .max()
        .unwrap_or(0);
    let current = results.iter().position(|r| !r.done());
    let (mut section, mut part) = ("", "");
    for (index, result) in results.iter().enumerate() {
        let e = result.exercise;
        if e.section != section {
            section = &e.section;
            let title = manifest
                .section(section)
                .map_or(section, |s| s.title.as_str());
            println!("\n{}", ui::bold(title));
        }
        if e.part != part {
            part = &e.part;
            println!("  {}", ui::dim(part));
        }
        let status = if result.done() {
            ui::green("✓ done   ")
        } else if Some(index) == current {
            ui::red("✗ current")
        } else {
            ui::dim("· not yet")
        };
        let minutes = format!("{:>3} min", e.minutes);
        println!(
            "    {status}  {:<6} {}  {}",
            e.id,
            ui::pad(&e.title, width),
            ui::dim(&minutes)
        );
    }
}

/// The first exercise not done: what its tests saw, and what to do next.
fn explain_current(root: &Path, current: &ExerciseResult, side: Side) {
    let e = current.exercise;
    println!("\n{}", ui::rule(&format!("{}: {}", e.id, e.title)));
    if current.tests.is_empty() {
        println!(
            "no test matched `{}` in {}.\nThe exercise's `filter` in course.toml must name a \
             `mod` there; this is a course bug, please report it.",
            e.test_prefix(side),
            e.test_file()
        );
        return;
    }
    let prefix = e.test_prefix(side);
    for (name, outcome) in &current.tests {
        let short = name.strip_prefix(&prefix).unwrap_or(name);
        match outcome {
            Outcome::Passed => println!("  {} {short}", ui::green("✓")),
            Outcome::Failed => println!("  {} {short}", ui::red("✗")),
            Outcome::Ignored => println!("  {} {short} (ignored: did not run)", ui::dim("·")),
        }
    }
    for (name, output) in &current.failures {
        let short = name.strip_prefix(&prefix).unwrap_or(name);
        println!("\n{}", ui::bold(&format!("{short} says:")));
        for line in output.lines() {
            // libtest's backtrace hint is noise here: the messages are written to teach.
            if line.starts_with("note: run with `RUST_BACKTRACE=1`") {
                continue;
            }
            println!("  {line}");
        }
        if output.contains("not yet implemented") {
            println!(
                "  {}",
                ui::cyan("-> the `todo!()` is still there: that is where your code goes.")
            );
        }
    }
    println!();
    match side {
        Side::Start => {
            for file in &e.files {
                let at = marker_line(&root.join(file), &e.marker())
                    .map_or(file.clone(), |line| format!("{file}:{line}"));
                println!("{}   {}", ui::bold("edit "), ui::cyan(&at));
            }
            println!("{}   {}", ui::bold("slide"), e.slide);
            println!(
                "{}  {}   {}",
                ui::bold("stuck?"),
                ui::cyan(&format!("cargo xtask hint {}", e.id)),
                ui::dim("(hints go from a nudge to nearly the answer)")
            );
        }
        Side::Solution => {
            println!(
                "The reference fails here: that is a course bug. Please report it, with the \
                 output above ({}).",
                e.solutions.join(", ")
            );
        }
    }
}

/// The 1-based line of `marker` in `path` (or of the `todo!(` if the marker is gone).
pub fn marker_line(path: &Path, marker: &str) -> Option<usize> {
    let text = fs::read_to_string(path).ok()?;
    let find = |needle: &str| text.lines().position(|l| l.contains(needle)).map(|i| i + 1);
    find(marker).or_else(|| find("todo!("))
}

fn congratulate(side: Side, results: &[ExerciseResult]) {
    if side == Side::Solution {
        println!("The reference passes every exercise in scope.");
        return;
    }
    let what = if results.len() == 1 {
        "This exercise passes"
    } else {
        "Every exercise here passes"
    };
    println!("{what}. Well done!");
    println!("Now compare your code with the reference (one good answer, not the only one):");
    for result in results {
        let e = result.exercise;
        for (mine, reference) in e.files.iter().zip(&e.solutions) {
            println!("  {}  {mine}  <->  {}", e.id, ui::cyan(reference));
        }
    }
}

fn explain_stop(manifest: &Manifest, scope: &[&Exercise], stopped: Stopped) {
    match stopped {
        Stopped::Io(message) => eprintln!("error: {message}"),
        Stopped::Crashed { output, target } => {
            let lines: Vec<&str> = output.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            println!(
                "{}",
                ui::red(&format!(
                    "✗ the tests of {target} crashed before finishing:"
                ))
            );
            for line in tail {
                println!("  {line}");
            }
            println!(
                "\nThe last `test ... ` line above is the test that was running. An abort or a \
                 stack overflow in your code (endless recursion?) does this."
            );
        }
        Stopped::BuildFailed { errors, target } => {
            if errors.is_empty() {
                println!(
                    "{}",
                    ui::red(&format!("✗ cargo could not build {target} (see above)"))
                );
                return;
            }
            let shown = errors.len().min(MAX_ERRORS);
            let count = if errors.len() > shown {
                format!("{} errors, the first {shown} shown", errors.len())
            } else if errors.len() == 1 {
                "1 error".to_string()
            } else {
                format!("{} errors", errors.len())
            };
            println!(
                "{}\n",
                ui::red(&format!("✗ your code does not compile yet ({count})"))
            );
            for error in &errors[..shown] {
                println!("{}\n", error.text);
            }
            explain_error_location(manifest, scope, &errors[0]);
        }
    }
}

/// Names the exercise the first error is in, so the learner knows what to fix.
fn explain_error_location(manifest: &Manifest, scope: &[&Exercise], first: &Diagnostic) {
    let Some((path, line)) = &first.location else {
        println!("Fix the errors above, save, and run `cargo xtask check` again.");
        return;
    };
    let owner = manifest.exercises.iter().find(|e| e.files.contains(path));
    if let Some(e) = manifest
        .exercises
        .iter()
        .find(|e| e.solutions.contains(path))
    {
        println!(
            "The first error is in {}, the reference of {}: a course bug if you did not edit it \
             (`git diff {path}` shows your changes).",
            ui::cyan(&format!("{path}:{line}")),
            e.id
        );
        return;
    }
    match owner {
        Some(e) => println!(
            "Fix {} (exercise {}: {}), save, and run `cargo xtask check` again.\n\
             Every exercise's tests need the whole crate to compile; `cargo xtask hint {}` helps.",
            ui::cyan(&format!("{path}:{line}")),
            e.id,
            e.title,
            e.id
        ),
        None => {
            let current = scope
                .first()
                .map_or(String::new(), |e| format!(" (current: {})", e.id));
            println!(
                "The first error is in {}, which is not an exercise file{current}.\n\
                 Did you edit it? `git diff {path}` shows your changes, `git checkout -- {path}` \
                 undoes them.",
                ui::cyan(&format!("{path}:{line}"))
            );
        }
    }
}
