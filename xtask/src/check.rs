//! `cargo xtask check`: the learner's main loop.
//!
//! Runs the exercises' tests in course order against the start code (or the
//! reference with `--solution`), prints where the learner stands, and explains the
//! first exercise that does not pass yet. No progress file: the tests are the truth.
//!
//! A test that needs a tool this machine lacks (redis-server, node packages,
//! Chromium) skips and would look passed; its exercise shows as "can't check here"
//! with the command that installs the tool, and never counts as done.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::args::{Args, usage_error};
use crate::libtest::Outcome;
use crate::manifest::{Exercise, Manifest, Scope, Side};
use crate::runner::{self, Diagnostic, RunResult, TestRun};
use crate::skips::{self, Skip};
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
    /// Tests that returned early for a missing tool (libtest counts them as passed).
    pub skips: Vec<Skip>,
}

impl ExerciseResult<'_> {
    /// Done means: some tests ran, all of them passed, and none skipped.
    pub fn done(&self) -> bool {
        self.all_passed() && self.skips.is_empty()
    }

    /// Nothing failed, but some tests skipped: this machine cannot tell whether the
    /// exercise is done.
    pub fn cant_check(&self) -> bool {
        self.all_passed() && !self.skips.is_empty()
    }

    /// Something to fix: a test failed or did not run.
    pub fn pending(&self) -> bool {
        !self.all_passed()
    }

    fn all_passed(&self) -> bool {
        !self.tests.is_empty() && self.tests.iter().all(|(_, o)| *o == Outcome::Passed)
    }

    /// Why test `name` skipped, if it did: the record naming it, or, for every
    /// test, a record naming none of them (a skip off the test's thread cannot be
    /// placed).
    pub fn skip_of(&self, name: &str) -> Option<&Skip> {
        let placed = |skip: &&Skip| self.tests.iter().any(|(test, _)| *test == skip.test);
        (self.skips.iter().find(|skip| skip.test == name))
            .or_else(|| self.skips.iter().find(|skip| !placed(skip)))
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
            skips: Vec::new(),
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
        let (report, skips) = match runner::run_tests(&run) {
            Ok(RunResult::Ran { report, skips }) => (report, skips),
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
        attribute_skips(&mut results, skips, |e| in_target(e), side);
    }
    Ok(results)
}

/// Gives each skip of one target's run to the exercise whose test skipped; a skip
/// that names no test of the run (off the test's thread) goes to every exercise of
/// the target: better "can't check" than a false "done".
fn attribute_skips(
    results: &mut [ExerciseResult],
    skips: Vec<Skip>,
    in_target: impl Fn(&Exercise) -> bool,
    side: Side,
) {
    for skip in skips {
        let owner = results.iter().position(|r| {
            in_target(r.exercise) && skip.test.starts_with(&r.exercise.test_prefix(side))
        });
        match owner {
            Some(index) => results[index].skips.push(skip),
            None => {
                for result in results.iter_mut().filter(|r| in_target(r.exercise)) {
                    result.skips.push(skip.clone());
                }
            }
        }
    }
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

    print_table(root, manifest, &results);
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
    let cant_check: Vec<&ExerciseResult> = results.iter().filter(|r| r.cant_check()).collect();
    println!(
        "\n{}  {}",
        ui::bold(&progress_line(done, results.len(), cant_check.len())),
        ui::dim(&format!("(about {left} min of work left)"))
    );
    let current = results.iter().find(|r| r.pending());
    if let Some(current) = current {
        explain_current(root, current, options.side);
    }
    if !cant_check.is_empty() {
        explain_cant_check(root, &cant_check, scope, options.side);
    }
    if current.is_some() {
        exit::PENDING
    } else {
        // Nothing failed, but not everything could be checked: the machine's doing.
        exit::ENVIRONMENT
    }
}

/// "7/9 exercises done" and, when some skipped, "2 can't be checked here".
fn progress_line(done: usize, total: usize, cant_check: usize) -> String {
    let progress = format!("{done}/{total} exercises done");
    match cant_check {
        0 => progress,
        1 => format!("{progress}, 1 can't be checked here"),
        n => format!("{progress}, {n} can't be checked here"),
    }
}

/// The exercises whose tests skipped: which tool each needs and how to install it.
fn explain_cant_check(root: &Path, results: &[&ExerciseResult], scope: &Scope, side: Side) {
    println!("\n{}", ui::rule("can't check here"));
    // One entry per command that enables something, in course order of first need.
    struct Need<'a> {
        command: String,
        reason: &'a str,
        ids: Vec<&'a str>,
    }
    let mut needs: Vec<Need> = Vec::new();
    for result in results {
        for skip in &result.skips {
            let command = skips::enable_command(skip, root);
            let id = result.exercise.id.as_str();
            match needs.iter_mut().find(|need| need.command == command) {
                Some(need) if !need.ids.contains(&id) => need.ids.push(id),
                Some(_) => {}
                None => needs.push(Need {
                    command,
                    reason: &skip.reason,
                    ids: vec![id],
                }),
            }
        }
    }
    for Need {
        command,
        reason,
        ids,
    } in &needs
    {
        println!("  {} {}: {reason}", ui::yellow("-"), ids.join(", "));
        println!("      {}   {}", ui::bold("install"), ui::cyan(command));
    }
    if side == Side::Start {
        // The code can still be written; only the check has to wait for the tool.
        for result in results {
            let e = result.exercise;
            for file in &e.files {
                let at = marker_line(&root.join(file), &e.marker())
                    .map_or(file.clone(), |line| format!("{file}:{line}"));
                println!("  {:<6} {}   {}", e.id, ui::bold("edit"), ui::cyan(&at));
            }
        }
    }
    let again = match scope {
        Scope::All => "cargo xtask check".to_string(),
        Scope::Section(id) | Scope::Exercise(id) => format!("cargo xtask check {id}"),
    };
    println!(
        "Their tests skipped, so they do not count as done. Install the tool and run `{again}` \
         again; `cargo xtask doctor` lists every tool the course uses."
    );
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

fn print_table(root: &Path, manifest: &Manifest, results: &[ExerciseResult]) {
    let width = results
        .iter()
        .map(|r| r.exercise.title.chars().count())
        .max()
        .unwrap_or(0);
    let current = results.iter().position(|r| r.pending());
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
        } else if result.cant_check() {
            ui::yellow("- no tool")
        } else if Some(index) == current {
            ui::red("✗ current")
        } else {
            ui::dim("· not yet")
        };
        let minutes = format!("{:>3} min", e.minutes);
        let note = if result.cant_check() {
            format!(
                "  {}",
                ui::yellow(&skips::cant_check_text(&result.skips, root))
            )
        } else {
            String::new()
        };
        println!(
            "    {status}  {:<6} {}  {}{note}",
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
            Outcome::Passed if current.skip_of(name).is_some() => {
                let reason = current.skip_of(name).map_or("", |s| s.reason.as_str());
                println!("  {} {short} (skipped: {reason})", ui::yellow("-"));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"
        [course]
        title = "T"
        [[section]]
        id = "s3"
        title = "Section 3"
        crate = "section3"
        [[exercise]]
        id = "s3.e6"
        section = "s3"
        part = "Part 2"
        title = "Fan out"
        crate = "section3"
        test = "part2"
        filter = "s3_e6"
        files = ["a.rs"]
        solutions = ["b.rs"]
        slide = "x.md"
        minutes = 5
        kind = "core"
        hints = ["one", "two"]
        [[exercise]]
        id = "s3.e7"
        section = "s3"
        part = "Part 2"
        title = "Demo"
        crate = "section3"
        test = "part2"
        filter = "s3_e7"
        files = ["c.rs"]
        solutions = ["d.rs"]
        slide = "y.md"
        minutes = 5
        kind = "core"
        hints = ["one", "two"]
    "#;

    fn redis_skip(test: &str) -> Skip {
        Skip {
            test: test.into(),
            tool: "redis-server".into(),
            reason: "redis-server is not installed".into(),
            enable: "sudo apt-get install redis-server".into(),
            ..Skip::default()
        }
    }

    fn result<'a>(exercise: &'a Exercise, tests: &[(&str, Outcome)]) -> ExerciseResult<'a> {
        ExerciseResult {
            exercise,
            tests: tests.iter().map(|(n, o)| (n.to_string(), *o)).collect(),
            failures: Vec::new(),
            skips: Vec::new(),
        }
    }

    #[test]
    fn a_skipped_exercise_is_never_done() {
        let manifest = Manifest::parse(TWO).unwrap();
        let e = &manifest.exercises[0];
        let mut r = result(e, &[("s3_e6::start::a", Outcome::Passed)]);
        assert!(r.done() && !r.cant_check() && !r.pending());
        r.skips.push(redis_skip("s3_e6::start::a"));
        assert!(!r.done() && r.cant_check() && !r.pending());
        // A failure is something to fix here and now: pending, not "can't check".
        r.tests.push(("s3_e6::start::b".into(), Outcome::Failed));
        assert!(!r.done() && !r.cant_check() && r.pending());
        assert!(r.skip_of("s3_e6::start::a").is_some());
        assert!(r.skip_of("s3_e6::start::b").is_none());
    }

    #[test]
    fn skips_go_to_their_exercise_or_to_every_exercise_of_the_run() {
        let manifest = Manifest::parse(TWO).unwrap();
        let (e6, e7) = (&manifest.exercises[0], &manifest.exercises[1]);
        let mut results = vec![
            result(e6, &[("s3_e6::start::a", Outcome::Passed)]),
            result(e7, &[("s3_e7::start::b", Outcome::Passed)]),
        ];
        attribute_skips(
            &mut results,
            vec![redis_skip("s3_e6::start::a")],
            |_| true,
            Side::Start,
        );
        assert_eq!(results[0].skips.len(), 1);
        assert!(results[1].done(), "s3.e7 did not skip");

        // Off the test's thread: the name is a runtime worker's, so nobody is done.
        attribute_skips(
            &mut results,
            vec![redis_skip("tokio-runtime-worker")],
            |_| true,
            Side::Start,
        );
        assert!(results[0].cant_check() && results[1].cant_check());
        assert!(results[1].skip_of("s3_e7::start::b").is_some());

        // The solution side's names do not place a start run's skip.
        let mut results = vec![result(e6, &[("s3_e6::solution::a", Outcome::Passed)])];
        attribute_skips(
            &mut results,
            vec![redis_skip("s3_e6::solution::a")],
            |e| e.id == "s3.e6",
            Side::Start,
        );
        assert!(results[0].cant_check());
    }

    #[test]
    fn progress_counts_what_cannot_be_checked() {
        assert_eq!(progress_line(7, 9, 0), "7/9 exercises done");
        assert_eq!(
            progress_line(7, 9, 1),
            "7/9 exercises done, 1 can't be checked here"
        );
        assert_eq!(
            progress_line(5, 9, 2),
            "5/9 exercises done, 2 can't be checked here"
        );
    }

    #[test]
    fn the_table_note_names_the_tool_and_its_command() {
        let root = Path::new("/w");
        assert_eq!(
            skips::cant_check_text(&[redis_skip("s3_e6::start::a")], root),
            "can't check here: redis-server, install with `sudo apt-get install redis-server`"
        );
    }
}
