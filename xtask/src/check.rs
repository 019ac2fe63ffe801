//! `cargo xtask check`: the learner's main loop.
//!
//! Runs the exercises' tests in course order against the start code (or the
//! reference with `--solution`), prints where the learner stands, and explains the
//! first exercise that does not pass yet. No progress file: the tests are the truth.
//!
//! Without a scope it goes section by section, building only that section's test
//! targets (cargo's progress showing), and stops after the first section with core
//! work left: a fresh clone's first result waits for one section's build, not four.
//! Extra exercises are shown but optional; `--all` counts them and checks every section.
//!
//! A test that needs a tool this machine lacks (redis-server, node packages,
//! Chromium) skips and would look passed; its exercise shows as "can't check here"
//! with the command that installs the tool, and never counts as done.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::args::{Args, usage_error};
use crate::libtest::Outcome;
use crate::manifest::{Exercise, Kind, Manifest, Scope, Side};
use crate::runner::{self, BuildResult, Diagnostic, RunResult, TestRun};
use crate::skips::{self, Skip};
use crate::{exit, git, ui, workspace};

const USAGE: &str = "cargo xtask check [s1 | s1.e2] [--all] [--solution] [--verbose]";

/// How many compiler errors to show: the first ones are the ones to fix first,
/// and later ones are often caused by them.
const MAX_ERRORS: usize = 3;

pub struct Options {
    pub side: Side,
    pub verbose: bool,
    /// Count the extras like the core exercises, and check every section in scope
    /// instead of stopping after the first one with work left.
    pub all: bool,
}

pub fn command(mut args: Args) -> u8 {
    let side = if args.flag("--solution") {
        Side::Solution
    } else {
        Side::Start
    };
    let verbose = args.flag("--verbose") | args.flag("-v");
    let all = args.flag("--all");
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
        &Options { side, verbose, all },
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
    println!("{}", describe_scope(manifest, scope, &exercises, options));
    warn_if_tests_edited(root, &exercises);

    let counting = Counting::new(scope, options);
    let sections = by_section(&exercises);
    let mut table = Table::default();
    let mut results: Vec<ExerciseResult> = Vec::new();
    let mut stopped_in = None;
    for (index, section) in sections.iter().enumerate() {
        let checked = match check_section(root, manifest, section, options) {
            Ok(checked) => checked,
            Err(stopped) => {
                println!();
                explain_stop(manifest, section, stopped);
                print_not_checked(manifest, &sections[index + 1..], section);
                return exit::PENDING;
            }
        };
        table.print(root, manifest, &checked, &counting);
        results.extend(checked);
        let core_left = results
            .iter()
            .any(|r| counting.counts(r.exercise) && r.pending());
        if core_left && counting.stops_early() && index + 1 < sections.len() {
            print_not_checked(manifest, &sections[index + 1..], section);
            stopped_in = Some(short_title(section_title(manifest, &section[0].section)));
            break;
        }
    }
    summarize(root, scope, options, &counting, &results, stopped_in)
}

/// Which exercises decide the outcome: the core ones, unless `--all` (or naming the
/// exercise) asks for an extra too. Extras are shown either way.
struct Counting {
    extras: bool,
    every_section: bool,
}

impl Counting {
    fn new(scope: &Scope, options: &Options) -> Counting {
        Counting {
            extras: options.all || matches!(scope, Scope::Exercise(_)),
            every_section: options.all || !matches!(scope, Scope::All),
        }
    }

    fn counts(&self, exercise: &Exercise) -> bool {
        self.extras || exercise.kind == Kind::Core
    }

    /// Without a scope, a section is checked once the ones before it are done: the
    /// first result comes after one section's build, not the whole course's.
    fn stops_early(&self) -> bool {
        !self.every_section
    }

    /// "core exercises", or "exercises" when the extras count too.
    fn noun(&self) -> &'static str {
        if self.extras {
            "exercises"
        } else {
            "core exercises"
        }
    }
}

/// The exercises grouped by section, in course order.
fn by_section<'a>(exercises: &[&'a Exercise]) -> Vec<Vec<&'a Exercise>> {
    let mut sections: Vec<Vec<&Exercise>> = Vec::new();
    for e in exercises {
        match sections.last_mut() {
            Some(last) if last[0].section == e.section => last.push(e),
            _ => sections.push(vec![e]),
        }
    }
    sections
}

/// Builds one section's test targets (cargo's progress showing), then runs them.
fn check_section<'a>(
    root: &Path,
    manifest: &Manifest,
    exercises: &[&'a Exercise],
    options: &Options,
) -> Result<Vec<ExerciseResult<'a>>, Stopped> {
    let title = section_title(manifest, &exercises[0].section);
    for (krate, tests) in targets_by_crate(exercises) {
        let why = if runner::built_before(root, krate) {
            String::new()
        } else {
            // The wait the learner is most likely to give up on: say it is expected.
            " (the first build compiles the dependencies too, tokio and axum among them: \
             a few minutes; later checks take seconds)"
                .to_string()
        };
        println!(
            "{}",
            ui::dim(&format!("building {}'s tests{why}", short_title(title)))
        );
        let target = format!("{krate} (tests {})", tests.join(", "));
        match runner::build_tests(root, krate, &tests, options.verbose) {
            Ok(BuildResult::Built) => {}
            Ok(BuildResult::Failed { errors }) => {
                return Err(Stopped::BuildFailed { errors, target });
            }
            Err(e) => return Err(Stopped::Io(format!("could not run cargo: {e}"))),
        }
    }
    run_exercises(root, exercises, options.side, options.verbose)
}

/// Each crate of `exercises` with its test targets, in course order.
fn targets_by_crate<'a>(exercises: &[&'a Exercise]) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut crates: Vec<(&str, Vec<&str>)> = Vec::new();
    for e in exercises {
        let index = match crates.iter().position(|(krate, _)| *krate == e.krate) {
            Some(index) => index,
            None => {
                crates.push((&e.krate, Vec::new()));
                crates.len() - 1
            }
        };
        if !crates[index].1.contains(&e.test.as_str()) {
            crates[index].1.push(&e.test);
        }
    }
    crates
}

/// The sections left unchecked after `stopped_at`, and how to check one anyway.
fn print_not_checked(manifest: &Manifest, later: &[Vec<&Exercise>], stopped_at: &[&Exercise]) {
    let Some(first) = later.first() else { return };
    println!();
    for section in later {
        let id = &section[0].section;
        println!(
            "{}  {}",
            ui::bold(section_title(manifest, id)),
            ui::dim("· not checked yet")
        );
    }
    println!(
        "{}",
        ui::dim(&format!(
            "(finish {} first, or check one now: `cargo xtask check {}`)",
            short_title(section_title(manifest, &stopped_at[0].section)),
            first[0].section
        ))
    );
}

/// The progress count, then the current exercise or the congratulations; the exit code.
fn summarize(
    root: &Path,
    scope: &Scope,
    options: &Options,
    counting: &Counting,
    results: &[ExerciseResult],
    stopped_in: Option<&str>,
) -> u8 {
    let (counted, extras): (Vec<&ExerciseResult>, Vec<&ExerciseResult>) =
        results.iter().partition(|r| counting.counts(r.exercise));
    let done = counted.iter().filter(|r| r.done()).count();
    let cant_check: Vec<&ExerciseResult> =
        counted.iter().copied().filter(|r| r.cant_check()).collect();
    let mut progress = progress_line(done, counted.len(), cant_check.len(), counting.noun());
    if !extras.is_empty() {
        let extras_done = extras.iter().filter(|r| r.done()).count();
        progress.push_str(&format!(
            "; extras (optional): {extras_done}/{} done",
            extras.len()
        ));
    }
    if done == counted.len() {
        println!("\n{}", ui::green(&ui::bold(&progress)));
        congratulate(options.side, &counted, &extras);
        return exit::OK;
    }
    let left: u32 = (counted.iter().filter(|r| !r.done()))
        .map(|r| r.exercise.minutes)
        .sum();
    let work = if counting.extras { "work" } else { "core work" };
    let place = stopped_in.map_or(String::new(), |title| format!(" in {title}"));
    println!(
        "\n{}  {}",
        ui::bold(&progress),
        ui::dim(&format!("(about {left} min of {work} left{place})"))
    );
    let current = counted.iter().find(|r| r.pending());
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

/// "7/9 core exercises done" and, when some skipped, "2 can't be checked here".
fn progress_line(done: usize, total: usize, cant_check: usize, noun: &str) -> String {
    let progress = format!("{done}/{total} {noun} done");
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

/// The first line: what is checked, against what.
fn describe_scope(
    manifest: &Manifest,
    scope: &Scope,
    exercises: &[&Exercise],
    options: &Options,
) -> String {
    let against = match options.side {
        Side::Start => "your code",
        Side::Solution => "the reference solutions",
    };
    match scope {
        Scope::Exercise(id) => format!("checking exercise {id} against {against}..."),
        Scope::Section(id) => format!(
            "checking the {} exercises of {} against {against}...",
            exercises.len(),
            short_title(section_title(manifest, id))
        ),
        Scope::All if options.all => format!(
            "checking all {} exercises, extras included, against {against}...",
            exercises.len()
        ),
        Scope::All => format!(
            "checking {against} section by section (the next section once this one's core \
             exercises pass)..."
        ),
    }
}

/// A section's title from the manifest, or its id if the manifest lacks it.
fn section_title<'a>(manifest: &'a Manifest, id: &'a str) -> &'a str {
    manifest.section(id).map_or(id, |s| s.title.as_str())
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

/// The table of results, printed a section at a time as each is checked.
#[derive(Default)]
struct Table {
    /// Whether the current exercise (the first pending one that counts) was shown.
    current_shown: bool,
}

impl Table {
    fn print(
        &mut self,
        root: &Path,
        manifest: &Manifest,
        results: &[ExerciseResult],
        counting: &Counting,
    ) {
        let width = (results.iter())
            .map(|r| r.exercise.title.chars().count())
            .max()
            .unwrap_or(0);
        let (mut section, mut part) = ("", "");
        for result in results {
            let e = result.exercise;
            if e.section != section {
                section = &e.section;
                println!("\n{}", ui::bold(section_title(manifest, section)));
            }
            if e.part != part {
                part = &e.part;
                println!("  {}", ui::dim(part));
            }
            let counts = counting.counts(e);
            let status = if result.done() {
                ui::green("✓ done   ")
            } else if result.cant_check() {
                ui::yellow("- no tool")
            } else if counts && !self.current_shown {
                self.current_shown = true;
                ui::red("✗ current")
            } else {
                ui::dim("· not yet")
            };
            let minutes = format!("{:>3} min", e.minutes);
            let mut note = String::new();
            if e.kind == Kind::Extra {
                let extra = if counts { "extra" } else { "extra (optional)" };
                note = format!("  {}", ui::dim(extra));
            }
            if result.cant_check() {
                let text = skips::cant_check_text(&result.skips, root);
                note.push_str(&format!("  {}", ui::yellow(&text)));
            }
            println!(
                "    {status}  {:<6} {}  {}{note}",
                e.id,
                ui::pad(&e.title, width),
                ui::dim(&minutes)
            );
        }
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
            println!("{}   {}", ui::bold("tests"), tests_at(root, e));
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

/// Where the exercise's tests are, to read what they expect:
/// `section1-pipelines/tests/part1.rs:19 (mod e01_welcome)`.
fn tests_at(root: &Path, e: &Exercise) -> String {
    let file = e.test_file();
    // The filter names the module (its last segment, if it is a path).
    let module = e.filter.rsplit("::").next().unwrap_or(&e.filter);
    let line = fs::read_to_string(root.join(&file))
        .ok()
        .and_then(|text| text.lines().position(|l| declares(l, module)))
        .map(|index| index + 1);
    let at = line.map_or(file.clone(), |line| format!("{file}:{line}"));
    format!("{} (mod {module})", ui::cyan(&at))
}

/// Whether `line` declares `mod module` (not `mod module_two`).
fn declares(line: &str, module: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("pub ").unwrap_or(line);
    (line
        .strip_prefix("mod ")
        .and_then(|rest| rest.strip_prefix(module)))
    .is_some_and(|rest| !rest.starts_with(|c: char| c == '_' || c.is_alphanumeric()))
}

/// The 1-based line of `marker` in `path` (or of the `todo!(` if the marker is gone).
pub fn marker_line(path: &Path, marker: &str) -> Option<usize> {
    let text = fs::read_to_string(path).ok()?;
    let find = |needle: &str| text.lines().position(|l| l.contains(needle)).map(|i| i + 1);
    find(marker).or_else(|| find("todo!("))
}

fn congratulate(side: Side, counted: &[&ExerciseResult], extras: &[&ExerciseResult]) {
    if side == Side::Solution {
        println!("The reference passes every exercise in scope.");
        return;
    }
    let what = match (counted.len(), extras.is_empty()) {
        (1, _) => "This exercise passes",
        (_, true) => "Every exercise here passes",
        (_, false) => "Every core exercise here passes",
    };
    println!("{what}. Well done!");
    let open: Vec<&str> = (extras.iter().filter(|r| !r.done()))
        .map(|r| r.exercise.id.as_str())
        .collect();
    if let Some(first) = open.first() {
        println!(
            "The extras are optional, for when you want more: {} (`cargo xtask check {first}` \
             checks one, `--all` counts them all).",
            open.join(", ")
        );
    }
    println!("Now compare your code with the reference (one good answer, not the only one):");
    for result in counted.iter().chain(extras).filter(|r| r.done()) {
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
        assert_eq!(progress_line(7, 9, 0, "exercises"), "7/9 exercises done");
        assert_eq!(
            progress_line(7, 9, 1, "core exercises"),
            "7/9 core exercises done, 1 can't be checked here"
        );
        assert_eq!(
            progress_line(5, 9, 2, "exercises"),
            "5/9 exercises done, 2 can't be checked here"
        );
    }

    fn options(all: bool) -> Options {
        Options {
            side: Side::Start,
            verbose: false,
            all,
        }
    }

    #[test]
    fn extras_count_only_when_asked_for() {
        let text = TWO.replacen(
            "kind = \"core\"\n        hints",
            "kind = \"extra\"\n        hints",
            1,
        );
        let manifest = Manifest::parse(&text).unwrap();
        let (extra, core) = (&manifest.exercises[0], &manifest.exercises[1]);
        assert_eq!(extra.kind, Kind::Extra);

        let plain = Counting::new(&Scope::All, &options(false));
        assert!(!plain.counts(extra) && plain.counts(core));
        assert!(plain.stops_early());
        assert_eq!(plain.noun(), "core exercises");

        let all = Counting::new(&Scope::All, &options(true));
        assert!(all.counts(extra) && !all.stops_early());

        // Naming an extra asks for it; naming a section checks just that section.
        let named = Counting::new(&Scope::parse(Some("s3.e6")), &options(false));
        assert!(named.counts(extra) && !named.stops_early());
        let section = Counting::new(&Scope::parse(Some("s3")), &options(false));
        assert!(!section.counts(extra) && !section.stops_early());
    }

    #[test]
    fn sections_and_targets_keep_course_order() {
        let text = format!(
            "{TWO}{}",
            r#"
        [[exercise]]
        id = "s4.e1"
        section = "s4"
        part = "Part 1"
        title = "Later"
        crate = "section4"
        test = "gate"
        filter = "e01_later"
        files = ["e.rs"]
        solutions = ["f.rs"]
        slide = "z.md"
        minutes = 5
        kind = "core"
        hints = ["one", "two"]
        "#
        );
        let manifest = Manifest::parse(&text).unwrap();
        let all: Vec<&Exercise> = manifest.exercises.iter().collect();
        let sections = by_section(&all);
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].len(), 2);
        assert_eq!(
            targets_by_crate(&sections[0]),
            vec![("section3", vec!["part2"])]
        );
        assert_eq!(targets_by_crate(&all).len(), 2);
    }

    #[test]
    fn finds_the_test_module_declaration() {
        assert!(declares("mod e01_welcome {", "e01_welcome"));
        assert!(declares("    pub mod e01_welcome{", "e01_welcome"));
        assert!(!declares("mod e01_welcome_two {", "e01_welcome"));
        assert!(!declares("// mod e01_welcome", "e01_welcome"));
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
