//! `cargo xtask verify`: everything CI checks, in one command a maintainer can run.
//!
//! Every step runs even after one fails, so a single run lists every problem; the
//! summary at the end says which steps failed, and the exit code is 1 if any did.
//!
//! Tests that skipped for a missing tool (testkit's `skip_or_fail` records them, see
//! `skips`) are listed in the summary under the command that enables them, and the
//! verdict says "passed with N suites skipped". Outside CI that still exits 0, so a
//! laptop without Chromium can verify; in CI a skip is a failure.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::args::{Args, usage_error};
use crate::check::{self, ExerciseResult, Stopped};
use crate::libtest::Outcome;
use crate::manifest::{Exercise, Manifest, Side};
use crate::skips::{self, Skip, SkipDir};
use crate::slides::{self, MDBOOK_INSTALL};
use crate::{exit, git, runner, standalone, ui, workspace};

pub(crate) enum Status {
    Passed,
    /// Passed, with a figure worth seeing in the summary (how long it took).
    PassedNote(String),
    Failed(String),
    Skipped(String),
}

const USAGE: &str = "cargo xtask verify [--only STEP]";

pub fn command(mut args: Args) -> u8 {
    let only = match args.value("--only") {
        Ok(only) => only,
        Err(message) => return usage_error(&message, USAGE),
    };
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
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    // verify checks the course, not a learner's progress. On a branch where start
    // files hold someone's answers, those files are left out of the checks that
    // judge the course's own start code, and the log says so up front.
    let answers = Answers::find(&root, &manifest);
    answers.announce();
    // Every skip record of the steps' test runs.
    let skipped: RefCell<Vec<Skip>> = RefCell::new(Vec::new());

    // (the name `--only` takes, the title in the log, the step)
    type Step<'a> = (&'a str, &'a str, Box<dyn Fn() -> Status + 'a>);
    let mut steps: Vec<Step> = vec![
        (
            "tests",
            "cargo test --workspace",
            Box::new(|| tests(&root, &skipped)),
        ),
        (
            "clippy",
            "clippy, warnings denied",
            Box::new(|| clippy(&root, &answers)),
        ),
        (
            "fmt",
            "rustfmt (workspace and solutions/)",
            Box::new(|| rustfmt(&root, &answers)),
        ),
        (
            "honesty",
            "honesty: start fails, solution passes",
            Box::new(|| honesty(&root, &manifest, &skipped)),
        ),
        (
            "manifest",
            "manifest completeness",
            Box::new(|| manifest_complete(&root, &manifest, &answers)),
        ),
        (
            "snapshots",
            "no pending snapshots",
            Box::new(|| pending_snapshots(&root)),
        ),
        (
            "standalone",
            "sections stand alone",
            Box::new(|| match standalone::run(&root, &manifest) {
                Ok(note) => Status::PassedNote(note),
                Err(why) => Status::Failed(why),
            }),
        ),
        (
            "slides",
            "slides",
            Box::new(|| slides_build(&root, &manifest, in_ci)),
        ),
    ];
    if let Some(only) = &only {
        let known: Vec<&str> = steps.iter().map(|(key, _, _)| *key).collect();
        if !known.contains(&only.as_str()) {
            let message = format!("no step `{only}`; the steps are: {}", known.join(", "));
            return usage_error(&message, USAGE);
        }
        steps.retain(|(key, _, _)| key == only);
    }
    let total = steps.len();
    let mut summary = Vec::new();
    for (index, (_, name, step)) in steps.into_iter().enumerate() {
        println!("\n{}", ui::rule(&format!("{}/{total} {name}", index + 1)));
        let before = skipped.borrow().len();
        let status = step();
        match &status {
            Status::Passed => println!("{}", ui::green("✓ passed")),
            Status::PassedNote(note) => println!("{}", ui::green(&format!("✓ passed: {note}"))),
            Status::Failed(why) => println!("{}", ui::red(&format!("✗ failed: {why}"))),
            Status::Skipped(why) => println!("{}", ui::yellow(&format!("- skipped: {why}"))),
        }
        let skips = skipped.borrow().len() - before;
        if skips > 0 {
            println!(
                "{}",
                ui::yellow(&format!(
                    "- {skips} test(s) skipped for a missing tool (listed in the summary)"
                ))
            );
        }
        summary.push((name, status, skips));
    }
    let mut skipped = skipped.take();
    skipped.sort();
    skipped.dedup();

    println!("\n{}", ui::rule("summary"));
    let width = summary
        .iter()
        .map(|(name, _, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    let (mut failed, mut skipped_steps) = (0, 0);
    for (name, status, skips) in &summary {
        let padded = ui::pad(name, width);
        let skips = match skips {
            0 => String::new(),
            n => format!("  {}", ui::yellow(&format!("({n} test(s) skipped)"))),
        };
        match status {
            Status::Passed => println!("  {} {padded}{skips}", ui::green("✓")),
            Status::PassedNote(note) => {
                println!("  {} {padded}  {note}{skips}", ui::green("✓"))
            }
            Status::Failed(why) => {
                failed += 1;
                println!("  {} {padded}  {why}{skips}", ui::red("✗"));
            }
            Status::Skipped(why) => {
                skipped_steps += 1;
                println!("  {} {padded}  skipped: {why}", ui::yellow("-"));
            }
        }
    }
    if !skipped.is_empty() {
        println!(
            "\n{}",
            ui::yellow(&format!(
                "skipped: {} suite(s) could not run here; each command below enables its \
                 suites (`cargo xtask doctor` lists every tool):",
                skipped.len()
            ))
        );
        for (command, suites) in skips::by_command(&skipped, &root) {
            println!("  {}", ui::cyan(&command));
            for suite in suites {
                println!("    {} {suite}", ui::yellow("-"));
            }
        }
        if in_ci {
            // skip_or_fail panics in CI; a record here means a test got around it.
            failed += 1;
            println!(
                "{}",
                ui::red(
                    "✗ in CI nothing may be skipped: `cargo xtask setup` must install the tools above"
                )
            );
        }
    }
    if !answers.is_empty() {
        println!(
            "\n{}",
            ui::yellow(&format!(
                "this verdict is about the course: your answers in {} start file(s) were left \
                 out (`cargo xtask check` shows your progress)",
                answers.files.len()
            ))
        );
    }
    let verdict = skips::verdict(failed, skipped.len(), skipped_steps);
    if failed == 0 {
        let paint = if verdict == "verify passed" {
            ui::green
        } else {
            ui::yellow
        };
        println!("\n{}", paint(&verdict));
        exit::OK
    } else {
        println!("\n{}", ui::red(&verdict));
        exit::PENDING
    }
}

/// Runs a command with its output going straight to the log.
fn run_visible(mut command: Command) -> Result<bool, String> {
    println!("{}", ui::dim(&format!("$ {}", runner::describe(&command))));
    command
        .stdin(Stdio::null())
        .status()
        .map(|status| status.success())
        .map_err(|e| {
            format!(
                "could not run {}: {e}",
                command.get_program().to_string_lossy()
            )
        })
}

fn status_of(result: Result<bool, String>, failure: &str) -> Status {
    match result {
        Ok(true) => Status::Passed,
        Ok(false) => Status::Failed(failure.to_string()),
        Err(message) => Status::Failed(message),
    }
}

fn tests(root: &Path, skipped: &RefCell<Vec<Skip>>) -> Status {
    let dir = match SkipDir::new() {
        Ok(dir) => dir,
        Err(e) => return Status::Failed(format!("could not make a folder for skip records: {e}")),
    };
    let mut command = runner::cargo_command(root);
    command
        .args(["test", "--workspace"])
        .env(skips::DIR_ENV, dir.path());
    let status = status_of(run_visible(command), "some tests failed (see above)");
    skipped.borrow_mut().extend(dir.read());
    status
}

/// Optional features that change only a binary's allocator, for the measurements
/// that compare allocators (s3.e10's hibernation, the scale lab's idle scenario). No
/// test builds them, so clippy does, or they would rot unseen; each compiles its
/// allocator's C sources once (jemalloc: about a minute on two cores).
const ALLOCATOR_FEATURES: [(&str, &str); 2] = [
    ("section3-production", "jemalloc"),
    ("scale-lab", "mimalloc"),
];

fn clippy(root: &Path, answers: &Answers) -> Status {
    let status = clippy_workspace(root, answers);
    if matches!(status, Status::Failed(_)) {
        return status;
    }
    for (package, feature) in ALLOCATOR_FEATURES {
        let mut command = runner::cargo_command(root);
        command.args(["clippy", "-p", package, "--features", feature, "--bins"]);
        command.args(["--message-format", "short"]);
        // A learner's answers may warn (see clippy_workspace); compiling is enough then.
        if answers.is_empty() {
            command.args(["--", "-D", "warnings"]);
        }
        let failure = format!("clippy found problems with `-p {package} --features {feature}`");
        if let failed @ Status::Failed(_) = status_of(run_visible(command), &failure) {
            return failed;
        }
    }
    status
}

fn clippy_workspace(root: &Path, answers: &Answers) -> Status {
    let mut command = runner::cargo_command(root);
    command.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--message-format",
        "short",
    ]);
    if answers.is_empty() {
        command.args(["--", "-D", "warnings"]);
        return status_of(run_visible(command), "clippy found problems (see above)");
    }
    // With answers in the tree, warnings are not denied (a denied warning in a
    // learner's file would stop the crates that depend on it from being linted at
    // all); every finding is read instead, and the ones in a learner's own files are
    // theirs to take or leave, not a defect of the course.
    println!("{}", ui::dim(&format!("$ {}", runner::describe(&command))));
    let output = match command.stdin(Stdio::null()).output() {
        Ok(output) => output,
        Err(e) => return Status::Failed(format!("could not run cargo clippy: {e}")),
    };
    let log = String::from_utf8_lossy(&output.stderr);
    print!("{log}");
    let findings: Vec<&str> = log.lines().filter(|l| is_finding(l)).collect();
    let (theirs, ours): (Vec<&str>, Vec<&str>) =
        findings.iter().partition(|line| answers.holds(line));
    match (output.status.success(), ours.is_empty(), theirs.len()) {
        (true, true, 0) => Status::Passed,
        (true, true, n) => Status::PassedNote(format!(
            "{n} finding(s) in your own answers only (not course defects)"
        )),
        (false, true, _) => Status::Failed(
            "clippy could not finish: does your code compile? (`cargo xtask check`)".into(),
        ),
        (_, false, _) => Status::Failed(format!(
            "clippy found {} problem(s) in the course's code (see above)",
            ours.len()
        )),
    }
}

/// A `--message-format short` diagnostic line: `path:line:col: warning: ...`.
fn is_finding(line: &str) -> bool {
    let mut parts = line.splitn(4, ':');
    let (Some(path), Some(row), Some(col)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    path.ends_with(".rs")
        && row.chars().all(|c| c.is_ascii_digit())
        && col.chars().all(|c| c.is_ascii_digit())
}

fn rustfmt(root: &Path, answers: &Answers) -> Status {
    let workspace_ok = if answers.is_empty() {
        let mut command = runner::cargo_command(root);
        command.args(["fmt", "--all", "--check"]);
        run_visible(command)
    } else {
        rustfmt_around_answers(root, answers)
    };
    // The solutions are compiled through `#[path]`; check them directly as well, so
    // a solution file is formatted even if no module path reaches it.
    let files: Vec<String> = workspace::walk_files(&root.join("solutions"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| workspace::display(root, &p))
        .collect();
    let solutions_ok = if files.is_empty() {
        Ok(true)
    } else {
        let mut command = Command::new("rustfmt");
        command
            .current_dir(root)
            .args(["--check", "--edition", "2024"])
            .args(&files);
        run_visible(command)
    };
    match (workspace_ok, solutions_ok) {
        (Ok(true), Ok(true)) => Status::Passed,
        (Err(e), _) | (_, Err(e)) => Status::Failed(e),
        _ => Status::Failed("not formatted: run `cargo fmt --all` (see the diff above)".into()),
    }
}

/// `cargo fmt --check` over the workspace, leaving out a learner's answers: lists
/// the unformatted files, then shows the diff of the course's own ones only.
fn rustfmt_around_answers(root: &Path, answers: &Answers) -> Result<bool, String> {
    let mut command = runner::cargo_command(root);
    command.args(["fmt", "--all", "--check", "--", "-l"]);
    println!("{}", ui::dim(&format!("$ {}", runner::describe(&command))));
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run cargo fmt: {e}"))?;
    let listed = String::from_utf8_lossy(&output.stdout);
    let files: Vec<String> = listed
        .lines()
        .map(|line| workspace::display(root, Path::new(line.trim())))
        .collect();
    let (theirs, ours): (Vec<String>, Vec<String>) =
        files.into_iter().partition(|file| answers.holds(file));
    for file in &theirs {
        println!(
            "{}",
            ui::dim(&format!(
                "  {file}: your answer, not formatted (`cargo fmt` tidies it; not a course defect)"
            ))
        );
    }
    if ours.is_empty() {
        return Ok(output.status.success() || !theirs.is_empty());
    }
    let mut diff = Command::new("rustfmt");
    diff.current_dir(root)
        .args(["--check", "--edition", "2024"])
        .args(&ours);
    run_visible(diff).map(|_| false)
}

/// Start files that hold someone's work: they differ from the newest committed
/// version that still has the exercise's marker (or, without git, no longer hold
/// their `todo!()`). Empty on a clean clone of main, which is what CI checks.
struct Answers {
    /// (exercise id, start file, the pristine start code if git has it)
    files: Vec<(String, String, Option<String>)>,
}

impl Answers {
    fn find(root: &Path, manifest: &Manifest) -> Answers {
        let mut files = Vec::new();
        for e in &manifest.exercises {
            for file in &e.files {
                let Ok(now) = fs::read_to_string(root.join(file)) else {
                    continue;
                };
                let pristine = git::pristine(root, file, &e.marker());
                let answered = match &pristine {
                    Some(start) => start.replace("\r\n", "\n") != now.replace("\r\n", "\n"),
                    None => !now.contains(&e.marker()) || !now.contains("todo!("),
                };
                if answered {
                    files.push((e.id.clone(), file.clone(), pristine));
                }
            }
        }
        Answers { files }
    }

    fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Does this path (or diagnostic line starting with a path) belong to an answer?
    fn holds(&self, path_or_line: &str) -> bool {
        self.files
            .iter()
            .any(|(_, file, _)| path_or_line.starts_with(file.as_str()))
    }

    fn pristine(&self, file: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|(_, f, _)| f == file)
            .and_then(|(_, _, pristine)| pristine.as_deref())
    }

    fn announce(&self) {
        if self.is_empty() {
            return;
        }
        let mut ids: Vec<&str> = self.files.iter().map(|(id, _, _)| id.as_str()).collect();
        ids.dedup();
        println!(
            "{}",
            ui::yellow(&format!(
                "verify checks the course itself (what CI runs on main), not your answers.\n\
                 {} start file(s) hold your work ({}): the honesty, manifest, fmt and clippy\n\
                 steps leave those files out and judge the start code they came from.\n\
                 For your progress, run `cargo xtask check`.",
                self.files.len(),
                ids.join(", ")
            ))
        );
    }
}

/// Can the start half of an exercise be judged? Only on the committed start code.
fn start_is_pristine(root: &Path, exercise: &Exercise) -> Result<(), String> {
    for file in &exercise.files {
        match git::differs_from_head(root, file) {
            None => return Err("git cannot tell whether the start code is pristine".into()),
            Some(true) => return Err(format!("your answer ({file} differs from HEAD)")),
            Some(false) => {}
        }
        let head = git::show(root, "HEAD", file).unwrap_or_default();
        if !head.contains(&exercise.marker()) {
            return Err(format!(
                "your answer (HEAD's {file} has no {})",
                exercise.marker()
            ));
        }
    }
    Ok(())
}

fn honesty(root: &Path, manifest: &Manifest, skipped: &RefCell<Vec<Skip>>) -> Status {
    let all: Vec<&Exercise> = manifest
        .select(&crate::manifest::Scope::All)
        .unwrap_or_default();
    let mut skipped_start = Vec::new();
    let pristine: Vec<&Exercise> = all
        .iter()
        .copied()
        .filter(|e| match start_is_pristine(root, e) {
            Ok(()) => true,
            Err(why) => {
                skipped_start.push((e.id.clone(), why));
                false
            }
        })
        .collect();
    println!(
        "{}",
        ui::dim("running the start tests (ignored by plain cargo test)...")
    );
    let start = match check::run_exercises(root, &pristine, Side::Start, false) {
        Ok(results) => results,
        Err(stopped) => return Status::Failed(describe_stop(stopped, "start")),
    };
    println!("{}", ui::dim("running the solution tests..."));
    let solution = match check::run_exercises(root, &all, Side::Solution, false) {
        Ok(results) => results,
        Err(stopped) => return Status::Failed(describe_stop(stopped, "solution")),
    };
    let skips = start
        .iter()
        .chain(&solution)
        .flat_map(|r| r.skips.iter().cloned());
    skipped.borrow_mut().extend(skips);

    let mut problems = Vec::new();
    for exercise in &all {
        let start = start.iter().find(|r| r.exercise.id == exercise.id);
        let solution = solution.iter().find(|r| r.exercise.id == exercise.id);
        let start_text = match start {
            Some(result) => judge_start(result, &mut problems),
            None => {
                let why = skipped_start
                    .iter()
                    .find(|(id, _)| id == &exercise.id)
                    .map_or("", |(_, why)| why.as_str());
                ui::yellow(&format!("{why}: skipping the start half"))
            }
        };
        let solution_text = solution.map_or(String::new(), |r| judge_solution(r, &mut problems));
        if let (Some(s), Some(r)) = (start, solution) {
            if s.tests.len() != r.tests.len() {
                problems.push(format!(
                    "{}: {} start tests but {} solution tests (is every start copy #[ignore]d?)",
                    exercise.id,
                    s.tests.len(),
                    r.tests.len()
                ));
            }
        }
        println!(
            "{:<6} start: {start_text}   solution: {solution_text}",
            exercise.id
        );
    }
    for result in solution.iter().filter(|r| r.pending()) {
        for (name, output) in &result.failures {
            println!(
                "\n{}\n{output}",
                ui::bold(&format!("---- {name} (solution) ----"))
            );
        }
    }
    if problems.is_empty() {
        Status::Passed
    } else {
        for problem in &problems {
            println!("{} {problem}", ui::red("✗"));
        }
        Status::Failed(format!(
            "{} problem(s) with exercises' tests",
            problems.len()
        ))
    }
}

fn judge_start(result: &ExerciseResult, problems: &mut Vec<String>) -> String {
    let (passed, total) = (result.passed(), result.tests.len());
    let id = &result.exercise.id;
    if total == 0 {
        problems.push(format!(
            "{id}: no start test matched {}",
            result.exercise.test_prefix(Side::Start)
        ));
        return ui::red("no tests ✗");
    }
    // A test that skipped (a missing tool) passed without judging anything: it is
    // neither a failure that proves the test nor a pass that asserts nothing.
    let skipped = result
        .tests
        .iter()
        .filter(|(name, _)| result.skip_of(name).is_some())
        .count();
    let skipped_note = match skipped {
        0 => String::new(),
        n => format!(", {}", ui::yellow(&format!("{n} skipped"))),
    };
    if skipped == total {
        return ui::yellow(&format!("all {total} skipped -"));
    }
    if passed == skipped {
        return format!(
            "0/{} pass (all fail){skipped_note} {}",
            total - skipped,
            ui::green("✓")
        );
    }
    for (name, outcome) in &result.tests {
        if *outcome == Outcome::Passed && result.skip_of(name).is_none() {
            problems.push(format!(
                "{id}: {name} passes on the untouched start code: it asserts nothing"
            ));
        }
    }
    format!(
        "{}/{} pass{skipped_note} {}",
        passed - skipped,
        total - skipped,
        ui::red("✗")
    )
}

fn judge_solution(result: &ExerciseResult, problems: &mut Vec<String>) -> String {
    let (passed, total) = (result.passed(), result.tests.len());
    let id = &result.exercise.id;
    if total == 0 {
        problems.push(format!(
            "{id}: no solution test matched {}",
            result.exercise.test_prefix(Side::Solution)
        ));
        return ui::red("no tests ✗");
    }
    if result.done() {
        return format!("{passed}/{total} pass {}", ui::green("✓"));
    }
    if result.cant_check() {
        let skipped = result
            .tests
            .iter()
            .filter(|(name, _)| result.skip_of(name).is_some())
            .count();
        return ui::yellow(&format!("{passed}/{total} pass, {skipped} skipped -"));
    }
    for (name, outcome) in &result.tests {
        if *outcome != Outcome::Passed {
            problems.push(format!("{id}: {name} fails on the reference solution"));
        }
    }
    format!("{passed}/{total} pass {}", ui::red("✗"))
}

fn describe_stop(stopped: Stopped, side: &str) -> String {
    match stopped {
        Stopped::BuildFailed { errors, target } => {
            for error in &errors {
                println!("{}\n", error.text);
            }
            format!("{target} does not compile ({side} run)")
        }
        Stopped::Crashed { output, target } => {
            println!("{output}");
            format!("the {side} tests of {target} crashed")
        }
        Stopped::Io(message) => message,
    }
}

/// Every manifest entry has everything a learner will be sent to.
fn manifest_complete(root: &Path, manifest: &Manifest, answers: &Answers) -> Status {
    let mut problems = Vec::new();
    let exists = |path: &str| root.join(path).is_file();
    let read = |path: &str| fs::read_to_string(root.join(path)).unwrap_or_default();

    let mut section_ids = HashSet::new();
    for section in &manifest.sections {
        if !section_ids.insert(&section.id) {
            problems.push(format!("section id {} is used twice", section.id));
        }
        if section.available && !root.join(&section.krate).join("Cargo.toml").is_file() {
            problems.push(format!(
                "{}: crate {} does not exist",
                section.id, section.krate
            ));
        }
        if let Some(readme) = section.readme.as_deref().filter(|r| !exists(r)) {
            problems.push(format!("{}: readme {readme} does not exist", section.id));
        }
    }
    let mut ids = HashSet::new();
    for e in &manifest.exercises {
        let id = &e.id;
        let mut problem = |text: String| problems.push(format!("{id}: {text}"));
        if !ids.insert(id) {
            problem("the id is used twice".into());
        }
        if !is_exercise_id(id) {
            problem("ids look like s1.e2 (section number, exercise number)".into());
        } else if !id.starts_with(&format!("{}.", e.section)) {
            problem(format!(
                "the id does not start with its section {}",
                e.section
            ));
        }
        if manifest.section(&e.section).is_none() {
            problem(format!(
                "section {} is not listed as a [[section]]",
                e.section
            ));
        }
        if e.files.is_empty() || e.files.len() != e.solutions.len() {
            problem(format!(
                "{} files but {} solutions: they pair up in order",
                e.files.len(),
                e.solutions.len()
            ));
        }
        for file in &e.files {
            if !exists(file) {
                problem(format!("start file {file} does not exist"));
                continue;
            }
            // A learner's answer no longer holds the todo!(): judge the start code
            // they began from (the newest commit that still has the marker).
            let text = match answers.pristine(file) {
                Some(pristine) => pristine.to_string(),
                None => read(file),
            };
            if !text.contains(&e.marker()) {
                problem(format!("start file {file} has no {} marker", e.marker()));
            }
            if !text.contains("todo!(") {
                problem(format!("start file {file} has no todo!()"));
            }
            // The header is the learner's map: where the idea is, where the tests
            // are, and how to get unstuck, without leaving the file.
            let hint = format!("cargo xtask hint {}", e.id);
            let header: String = text.lines().take_while(|l| l.starts_with("//!")).collect();
            for needed in [e.slide.as_str(), &e.test_file(), &hint] {
                if !header.contains(needed) {
                    problem(format!(
                        "start file {file}'s header does not name `{needed}`"
                    ));
                }
            }
        }
        for file in &e.solutions {
            if !exists(file) {
                problem(format!("solution {file} does not exist"));
            } else if read(file).contains(&e.marker()) {
                problem(format!(
                    "solution {file} still has the {} marker",
                    e.marker()
                ));
            }
        }
        if !(2..=3).contains(&e.hints.len()) || e.hints.iter().any(|h| h.trim().is_empty()) {
            problem("needs 2 or 3 non-empty hints (a nudge, the tool, nearly the answer)".into());
        }
        if e.minutes == 0 {
            problem("minutes must be more than 0".into());
        }
        if !exists(&e.slide) {
            problem(format!("slide {} does not exist", e.slide));
        } else if !read(&e.slide).contains(&slides::footer_include(e)) {
            problem(format!(
                "slide {} does not include its exercise footer: add `{}`",
                e.slide,
                slides::footer_include(e)
            ));
        }
        let test_file = e.test_file();
        if !exists(&test_file) {
            problem(format!("test target {test_file} does not exist"));
        } else if !defines_module(&read(&test_file), &e.filter) {
            problem(format!("{test_file} has no module {}", e.filter));
        }
        if let Some(wrong) = misnamed(e) {
            problem(wrong);
        }
        for name in &e.snapshots {
            let snap = format!("{}/tests/snapshots/{name}.snap", e.krate);
            if !exists(&snap) {
                problem(format!("snapshot {snap} does not exist"));
            }
        }
    }
    problems.extend(minutes_tables(root, manifest));
    // Walkthroughs quote measured figures only between generated markers.
    problems.extend(crate::walkthroughs::problems(root));
    report(problems)
}

/// The hand-written tables of exercises (section READMEs, the slides' part pages)
/// repeat each exercise's minutes: they must agree with course.toml, extras marked.
fn minutes_tables(root: &Path, manifest: &Manifest) -> Vec<String> {
    let mut pages: Vec<std::path::PathBuf> = workspace::walk_files(&root.join(slides::SRC_DIR))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "README.md"))
        .collect();
    pages.extend(
        manifest
            .sections
            .iter()
            .filter_map(|s| s.readme.as_deref())
            .map(|r| root.join(r)),
    );
    let mut problems = Vec::new();
    for page in pages {
        let Ok(text) = fs::read_to_string(&page) else {
            continue;
        };
        let mut column = None;
        for line in text.lines() {
            if !line.starts_with('|') {
                column = None;
                continue;
            }
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            if let Some(at) = cells.iter().position(|c| *c == "minutes") {
                column = Some(at);
                continue;
            }
            let (Some(at), Some(first)) = (column, cells.first()) else {
                continue;
            };
            let Some(e) = manifest
                .exercises
                .iter()
                .find(|e| first.trim_matches('`') == e.id)
            else {
                continue;
            };
            let want = match e.kind {
                crate::manifest::Kind::Core => e.minutes.to_string(),
                crate::manifest::Kind::Extra => format!("{} · extra", e.minutes),
            };
            if cells.get(at) != Some(&want.as_str()) {
                problems.push(format!(
                    "{}: the row of {} says {:?} minutes, course.toml says \"{want}\"",
                    workspace::display(root, &page),
                    e.id,
                    cells.get(at).copied().unwrap_or("")
                ));
            }
        }
    }
    problems
}

fn report(problems: Vec<String>) -> Status {
    if problems.is_empty() {
        return Status::Passed;
    }
    for problem in &problems {
        println!("{} {problem}", ui::red("✗"));
    }
    Status::Failed(format!("{} problem(s)", problems.len()))
}

/// One name per exercise, so a learner finds its pieces by name: the start file,
/// the solution, the slide and the test module are all `eNN_<name>` (two digits,
/// so a folder lists them in course order), and NN is the exercise's number.
fn misnamed(e: &Exercise) -> Option<String> {
    let stem = |path: &str| {
        Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let number: u32 = e.id.split_once(".e")?.1.parse().ok()?;
    let name = &e.filter;
    if !name.starts_with(&format!("e{number:02}_")) {
        return Some(format!(
            "test module {name} should be e{number:02}_<name>: the exercise's name with its number"
        ));
    }
    let pieces = e.files.iter().chain(&e.solutions).chain([&e.slide]);
    let odd: Vec<&String> = pieces.filter(|p| &stem(p) != name).collect();
    if odd.is_empty() {
        return None;
    }
    Some(format!(
        "one name per exercise: {} should be named {name}.* like the test module",
        odd.iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// `sN.eM`.
fn is_exercise_id(id: &str) -> bool {
    let number = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let Some((section, exercise)) = id.split_once('.') else {
        return false;
    };
    section.strip_prefix('s').is_some_and(number) && exercise.strip_prefix('e').is_some_and(number)
}

/// Does the test file define `mod <filter>`? Written out, or as the first
/// identifier of a macro call (`exercise! { s1_e2: ... }`) that expands to it.
fn defines_module(text: &str, filter: &str) -> bool {
    text.contains(&format!("mod {filter}"))
        || text.match_indices(filter).any(|(at, _)| {
            let before = text[..at].trim_end();
            let after = &text[at + filter.len()..];
            let word_ends = !after.starts_with(|c: char| c.is_alphanumeric() || c == '_');
            word_ends && (before.ends_with('{') || before.ends_with('(')) && before.contains('!')
        })
}

fn pending_snapshots(root: &Path) -> Status {
    let pending: Vec<String> = workspace::walk_files(root)
        .into_iter()
        .map(|p| workspace::display(root, &p))
        .filter(|p| p.ends_with(".snap.new") || p.ends_with(".pending-snap"))
        .collect();
    if pending.is_empty() {
        return Status::Passed;
    }
    for path in &pending {
        println!("{} {path}", ui::red("✗"));
    }
    println!(
        "Review them with `cargo insta review` (accept or reject), or delete them if they \
         come from a learner-style run."
    );
    Status::Failed(format!("{} pending snapshot file(s)", pending.len()))
}

fn slides_build(root: &Path, manifest: &Manifest, in_ci: bool) -> Status {
    let problems = slides::lint(root, manifest);
    let lint = report(problems);
    if let Status::Failed(_) = lint {
        // Still try the build below: its errors may be the more useful ones.
    }
    let build = if workspace::find_program("mdbook").is_none() {
        let why = format!("mdbook is not installed ({MDBOOK_INSTALL})");
        if in_ci {
            Status::Failed(why)
        } else {
            Status::Skipped(format!("book build: {why}"))
        }
    } else {
        let dest = std::env::temp_dir().join(format!("xtask-verify-book-{}", std::process::id()));
        let mut command = Command::new("mdbook");
        command
            .current_dir(root)
            .args(["build", slides::BOOK_DIR, "-d"])
            .arg(&dest);
        let status = status_of(run_visible(command), "mdbook build failed (see above)");
        let status = crate::presenter::after_build(root, &dest, in_ci, status);
        let _ = fs::remove_dir_all(&dest);
        status
    };
    match (lint, build) {
        (Status::Failed(a), Status::Failed(b)) => Status::Failed(format!("{a}; {b}")),
        (Status::Failed(a), _) => Status::Failed(a),
        (_, build) => build,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_name_per_exercise() {
        let toml = |start: &str, slide: &str, filter: &str| {
            format!(
                "[course]\ntitle = \"t\"\n[[exercise]]\nid = \"s1.e2\"\nsection = \"s1\"\n\
                 part = \"p\"\ntitle = \"t\"\ncrate = \"c\"\ntest = \"part1\"\n\
                 filter = \"{filter}\"\nfiles = [\"c/src/start/part1/{start}.rs\"]\n\
                 solutions = [\"solutions/s1/part1/{start}.rs\"]\n\
                 slide = \"slides/src/s1/{slide}.md\"\nminutes = 5\nkind = \"core\"\n\
                 hints = [\"a\", \"b\"]\n"
            )
        };
        let check = |start: &str, slide: &str, filter: &str| {
            let m = Manifest::parse(&toml(start, slide, filter)).unwrap();
            misnamed(&m.exercises[0])
        };
        assert_eq!(check("e02_serial", "e02_serial", "e02_serial"), None);
        assert!(
            check("e02_serial", "serial", "e02_serial")
                .unwrap()
                .contains("serial.md")
        );
        assert!(
            check("e02_serial", "e02_serial", "s1_e2")
                .unwrap()
                .contains("e02_<name>")
        );
        assert!(
            check("e2_serial", "e2_serial", "e2_serial").is_some(),
            "two digits"
        );
    }

    #[test]
    fn exercise_ids() {
        assert!(is_exercise_id("s1.e2"));
        assert!(is_exercise_id("s12.e30"));
        assert!(!is_exercise_id("s1-e2"));
        assert!(!is_exercise_id("s1.2"));
        assert!(!is_exercise_id("x1.e2"));
    }

    #[test]
    fn a_skipped_start_test_is_neither_proof_nor_a_problem() {
        let manifest = Manifest::parse(
            r#"
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
            "#,
        )
        .unwrap();
        let skip = Skip {
            test: "s3_e6::start::a".into(),
            tool: "redis-server".into(),
            ..Skip::default()
        };
        let mut result = ExerciseResult {
            exercise: &manifest.exercises[0],
            tests: vec![
                ("s3_e6::start::a".into(), Outcome::Passed),
                ("s3_e6::start::b".into(), Outcome::Failed),
            ],
            failures: Vec::new(),
            skips: vec![skip],
        };
        let mut problems = Vec::new();
        let text = ui::strip_ansi(&judge_start(&result, &mut problems));
        assert_eq!(text, "0/1 pass (all fail), 1 skipped ✓");
        assert!(problems.is_empty(), "{problems:?}");

        result.tests[1].1 = Outcome::Passed;
        let text = ui::strip_ansi(&judge_start(&result, &mut problems));
        assert_eq!(text, "1/1 pass, 1 skipped ✗");
        assert_eq!(problems.len(), 1, "only b asserts nothing: {problems:?}");
        assert!(problems[0].contains("s3_e6::start::b"));

        // The solution side: nothing failed, something skipped.
        let mut problems = Vec::new();
        let text = ui::strip_ansi(&judge_solution(&result, &mut problems));
        assert_eq!(text, "2/2 pass, 1 skipped -");
        assert!(problems.is_empty());
    }

    #[test]
    fn modules_written_out_or_through_a_macro() {
        assert!(defines_module("mod s1_e2 {", "s1_e2"));
        assert!(defines_module("exercise! { s1_e2:\n", "s1_e2"));
        assert!(!defines_module("exercise! { s1_e21:\n", "s1_e2"));
        assert!(!defines_module("// see s1_e2\n", "s1_e2"));
    }
}
