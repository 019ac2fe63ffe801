//! `cargo xtask verify`'s "sections stand alone" step.
//!
//! On a training day the instructor says "everyone start section 3"; a learner who
//! left section 2 half-edited and not compiling must still be able to. That holds
//! only if no crate depends on a *section crate* (one that compiles learner code
//! from `src/start/`), so the step proves it twice:
//!
//! 1. From `cargo metadata`: no workspace package depends on a section crate, and
//!    the section crates' tests use the shared test kit instead of their own
//!    `exercise!` macro or files reached into from another crate by `#[path]`.
//! 2. By experiment: in a scratch copy of the workspace, every section 2 start file
//!    is made uncompilable, then `cargo xtask check s3 --solution` and
//!    `check s4 --solution` must still build and pass.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::manifest::Manifest;
use crate::{exit, runner, ui, workspace};

/// The section whose start code the experiment breaks.
const BROKEN_SECTION: &str = "s2";
/// The sections that must still build and pass with it broken.
const CHECKED_SECTIONS: [&str; 2] = ["s3", "s4"];
/// What every broken start file ends with: the sanity check looks for it in
/// rustc's output, so the experiment knows it broke section 2 for real.
const BREAKAGE: &str = "section 2 left unfinished on purpose by cargo xtask verify";
/// The test kit every section crate's tests use (a dev-dependency).
const TEST_KIT: &str = "testkit";
/// Where the scratch copy goes, inside the target directory.
const SCRATCH: &str = "standalone-check";

/// The part of `cargo metadata --format-version 1 --no-deps` this step reads.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    target_directory: PathBuf,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: String,
    id: String,
    manifest_path: PathBuf,
    dependencies: Vec<Dependency>,
}

#[derive(Debug, Deserialize)]
struct Dependency {
    name: String,
    /// `null` for a normal dependency, else `"dev"` or `"build"`.
    kind: Option<String>,
    /// Set for path dependencies only: the dependency's manifest directory.
    path: Option<PathBuf>,
}

impl Package {
    fn dir(&self) -> &Path {
        self.manifest_path.parent().unwrap_or(Path::new(""))
    }
}

impl Metadata {
    fn parse(json: &str) -> Result<Metadata, String> {
        serde_json::from_str(json).map_err(|e| format!("cannot read cargo metadata: {e}"))
    }

    fn members(&self) -> impl Iterator<Item = &Package> {
        self.packages
            .iter()
            .filter(|p| self.workspace_members.contains(&p.id))
    }

    /// The workspace members that hold learner code (`src/start/`).
    fn section_crates(&self, is_section: &dyn Fn(&Path) -> bool) -> Vec<&Package> {
        self.members().filter(|p| is_section(p.dir())).collect()
    }
}

/// One package depending on a section crate.
#[derive(Debug, PartialEq, Eq)]
pub struct SectionDependency {
    pub from: String,
    pub to: String,
    /// "normal", "dev" or "build".
    pub kind: String,
    /// The manifest to fix.
    pub manifest: PathBuf,
}

/// Every dependency (normal, dev or build) of a workspace package on a section crate:
/// a path dependency whose directory `is_section` recognises.
pub fn section_dependencies(
    metadata: &Metadata,
    is_section: &dyn Fn(&Path) -> bool,
) -> Vec<SectionDependency> {
    let mut found = Vec::new();
    for package in metadata.members() {
        for dependency in &package.dependencies {
            let Some(path) = &dependency.path else {
                continue;
            };
            if !is_section(path) {
                continue;
            }
            // Name the crate as its own manifest does, even behind a `rename`.
            let to = metadata
                .packages
                .iter()
                .find(|p| same_dir(p.dir(), path))
                .map_or(dependency.name.clone(), |p| p.name.clone());
            found.push(SectionDependency {
                from: package.name.clone(),
                to,
                kind: dependency.kind.clone().unwrap_or_else(|| "normal".into()),
                manifest: package.manifest_path.clone(),
            });
        }
    }
    found
}

fn same_dir(a: &Path, b: &Path) -> bool {
    normalize(a) == normalize(b)
}

/// Resolves `.` and `..` without touching the disk (the path may not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Does `dir` hold learner code? That is what makes a crate a section crate.
fn holds_start_code(dir: &Path) -> bool {
    dir.join("src").join("start").is_dir()
}

/// What one section crate test file does instead of using the test kit.
pub fn test_kit_problems(text: &str, file_dir: &Path, crate_dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        // `exercise`, and its variations (`exercise_with_redis`) as well.
        if let Some(at) = code.find("macro_rules!") {
            let rest = code[at + "macro_rules!".len()..].trim_start();
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.starts_with("exercise") {
                problems.push(format!("defines its own `macro_rules! {name}`"));
            }
        }
        // A `#[path]` outside an inline module is relative to the file's directory,
        // which is what this assumes; inline modules nest deeper, never shallower.
        if let Some(rest) = code.strip_prefix("#[path") {
            let Some(target) = rest.split('"').nth(1) else {
                continue;
            };
            let resolved = normalize(&file_dir.join(target));
            if !resolved.starts_with(normalize(crate_dir)) {
                problems.push(format!(
                    "includes `{target}` by #[path], from outside its crate"
                ));
            }
        }
    }
    problems
}

/// The step's outcome: `Ok` with a note for the summary, or `Err` saying what failed.
pub fn run(root: &Path, manifest: &Manifest) -> Result<String, String> {
    let metadata = metadata(root)?;
    let mut failures = Vec::new();

    println!(
        "{}",
        ui::bold("1. no package depends on a section crate (cargo metadata)")
    );
    let sections = metadata.section_crates(&holds_start_code);
    let names: Vec<&str> = sections.iter().map(|p| p.name.as_str()).collect();
    println!(
        "  section crates (they hold src/start/): {}",
        names.join(", ")
    );
    let dependencies = section_dependencies(&metadata, &holds_start_code);
    for d in &dependencies {
        println!(
            "  {} {} depends on section crate {} ({} dependency): remove it from {}",
            ui::red("✗"),
            d.from,
            d.to,
            d.kind,
            workspace::display(root, &d.manifest)
        );
    }
    if dependencies.is_empty() {
        println!("  {} none does", ui::green("✓"));
    } else {
        failures.push(format!(
            "{} dependenc{} on a section crate",
            dependencies.len(),
            if dependencies.len() == 1 { "y" } else { "ies" }
        ));
    }

    println!(
        "\n{}",
        ui::bold("2. section crates' tests use the test kit (`testkit` dev-dependency)")
    );
    let kit_problems = test_kit_check(root, &sections);
    for problem in &kit_problems {
        println!("  {} {problem}", ui::red("✗"));
    }
    if kit_problems.is_empty() {
        println!("  {} they do", ui::green("✓"));
    } else {
        failures.push(format!(
            "{} test kit problem(s) (own exercise! macro, #[path] into another crate, \
             or no testkit dev-dependency)",
            kit_problems.len()
        ));
    }

    println!(
        "\n{}",
        ui::bold("3. experiment: section 2's start code broken, sections 3 and 4 still pass")
    );
    let note = match experiment(root, manifest, &metadata) {
        Ok(Experiment { timings, problems }) => {
            failures.extend(problems);
            let times: Vec<String> = timings
                .iter()
                .map(|(what, took)| format!("{what} {}", seconds(*took)))
                .collect();
            times.join(", ")
        }
        Err(message) => {
            println!("  {} {message}", ui::red("✗"));
            failures.push(format!("experiment: {message}"));
            String::new()
        }
    };
    if failures.is_empty() {
        Ok(note)
    } else if note.is_empty() {
        Err(failures.join("; "))
    } else {
        Err(format!("{} ({note})", failures.join("; ")))
    }
}

fn metadata(root: &Path) -> Result<Metadata, String> {
    let mut command = runner::cargo_command(root);
    command.args(["metadata", "--format-version", "1", "--no-deps"]);
    println!("{}", ui::dim(&format!("$ {}", runner::describe(&command))));
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err("cargo metadata failed (see above)".into());
    }
    Metadata::parse(&String::from_utf8_lossy(&output.stdout))
}

fn test_kit_check(root: &Path, sections: &[&Package]) -> Vec<String> {
    let mut problems = Vec::new();
    for package in sections {
        let dir = package.dir();
        let tests: Vec<PathBuf> = workspace::walk_files(&dir.join("tests"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        if tests.is_empty() {
            continue;
        }
        let uses_kit = package
            .dependencies
            .iter()
            .any(|d| d.name == TEST_KIT && d.kind.as_deref() == Some("dev"));
        if !uses_kit {
            problems.push(format!(
                "{}: no `{TEST_KIT}` dev-dependency in {}",
                package.name,
                workspace::display(root, &package.manifest_path)
            ));
        }
        for file in tests {
            let Ok(text) = fs::read_to_string(&file) else {
                continue;
            };
            let file_dir = file.parent().unwrap_or(dir);
            for problem in test_kit_problems(&text, file_dir, dir) {
                problems.push(format!("{}: {problem}", workspace::display(root, &file)));
            }
        }
    }
    problems
}

struct Experiment {
    /// Each `check` run and how long it took.
    timings: Vec<(String, Duration)>,
    /// What went wrong: a run that did not exit 0, a breakage that did not bite.
    problems: Vec<String>,
}

fn experiment(root: &Path, manifest: &Manifest, metadata: &Metadata) -> Result<Experiment, String> {
    let target = &metadata.target_directory;
    let scratch = target.join(SCRATCH);
    let tree = scratch.join("tree");
    let shown = workspace::display(root, &tree);

    println!("  copying the workspace (git ls-files, with untracked files) to {shown}");
    let copied = copy_workspace(root, target, &tree)
        .map_err(|e| format!("could not copy the workspace to {shown}: {e}"))?;
    println!("  {copied}");
    let renamed = mark_copy_versions(root, &tree, metadata)
        .map_err(|e| format!("could not mark the copy's package versions: {e}"))?;
    println!("  {renamed}");

    let broken: Vec<&String> = manifest
        .exercises
        .iter()
        .filter(|e| e.section == BROKEN_SECTION)
        .flat_map(|e| &e.files)
        .collect();
    if broken.is_empty() {
        return Err(format!(
            "course.toml lists no start files for {BROKEN_SECTION}: nothing to break"
        ));
    }
    println!(
        "  making {} start file(s) of {BROKEN_SECTION} uncompilable in the copy:",
        broken.len()
    );
    for file in &broken {
        break_file(&tree.join(file))
            .map_err(|e| format!("could not break {file} in the copy: {e}"))?;
        println!("    {}", ui::dim(file));
    }

    let me = std::env::current_exe().map_err(|e| format!("cannot find the xtask binary: {e}"))?;
    let mut timings = Vec::new();
    let mut problems = Vec::new();
    for section in CHECKED_SECTIONS {
        let what = format!("check {section} --solution");
        // The running xtask, not `cargo xtask`: the copy's xtask is the same code, and
        // building it would overwrite target/debug/xtask while this one runs.
        let mut command = in_copy(Command::new(&me), &tree, &scratch, target);
        command.args(["check", section, "--solution"]);
        println!("\n  $ (in {shown}) cargo xtask {what}");
        let started = Instant::now();
        let status = command
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("could not run the xtask: {e}"))?;
        let took = started.elapsed();
        if status.success() {
            println!("  {} {what}: passed in {}", ui::green("✓"), seconds(took));
        } else if status.code() == Some(i32::from(exit::ENVIRONMENT)) {
            // Everything that ran passed; some tests skipped for a missing tool (the
            // check's output above says which). It built with section 2 broken.
            println!(
                "  {} {what}: built and passed in {}, some exercises can't be checked here \
                 (see above)",
                ui::green("✓"),
                seconds(took)
            );
        } else {
            println!(
                "  {} {what}: failed after {} (see above)",
                ui::red("✗"),
                seconds(took)
            );
            problems.push(format!("{what} failed with {BROKEN_SECTION} broken"));
        }
        timings.push((what, took));
    }

    // Without this the experiment could pass without having broken anything (a start
    // file moved, a module no longer compiled): section 2 must really fail to build.
    let section2 = manifest
        .section(BROKEN_SECTION)
        .map(|s| s.krate.clone())
        .unwrap_or_default();
    let package = metadata
        .members()
        .find(|p| same_dir(p.dir(), &root.join(&section2)))
        .map_or(section2, |p| p.name.clone());
    let mut command = in_copy(runner::cargo_command(&tree), &tree, &scratch, target);
    command.args([
        "check",
        "-p",
        &package,
        "--lib",
        "--message-format",
        "short",
    ]);
    println!(
        "\n  $ (in {shown}) {}   (must fail)",
        runner::describe(&command)
    );
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run cargo check: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        problems.push(format!(
            "the copy's {package} still compiles with its start files broken, so the \
             experiment proves nothing: are course.toml's {BROKEN_SECTION} files its start code?"
        ));
    } else if !stderr.contains(BREAKAGE) {
        for error in runner::compiler_errors(&stderr).iter().take(3) {
            println!("{}\n", error.text);
        }
        problems.push(format!(
            "the copy's {package} fails to build for another reason than its broken start \
             files (first errors above)"
        ));
    } else {
        println!(
            "  {} {package} does not compile in the copy, as meant",
            ui::green("✓")
        );
    }
    Ok(Experiment { timings, problems })
}

/// Gives every workspace package of the copy another version (`0.1.0` becomes
/// `0.1.0-standalone-check`).
///
/// Why: cargo names a workspace package's artifacts and fingerprints by a hash of its
/// name, version and path *relative to the workspace root*, which the copy shares with
/// the real tree. Built into the same target directory, the copy's records would
/// replace the real crates' ones, and a later build in the real tree could take a stale
/// crate for fresh. Another version gives the copy its own artifacts while registry
/// dependencies (same hash in both trees) are still built once.
fn mark_copy_versions(root: &Path, tree: &Path, metadata: &Metadata) -> io::Result<String> {
    let mut marked = 0;
    for package in metadata.members() {
        let Ok(relative) = package.manifest_path.strip_prefix(root) else {
            continue;
        };
        let path = tree.join(relative);
        let text = fs::read_to_string(&path)?;
        let mut done = false;
        let rewritten: Vec<String> = text
            .lines()
            .map(|line| match line.strip_prefix("version = \"") {
                Some(rest) if !done && !rest.contains(COPY_VERSION) => {
                    done = true;
                    format!("version = \"{}{COPY_VERSION}\"", rest.trim_end_matches('"'))
                }
                _ => line.to_string(),
            })
            .collect();
        if done {
            fs::write(&path, rewritten.join("\n") + "\n")?;
            marked += 1;
        }
    }
    Ok(format!(
        "{marked} package versions marked `{COPY_VERSION}` (the copy builds its own artifacts)"
    ))
}

/// The pre-release tag the copy's packages get (see [`mark_copy_versions`]).
const COPY_VERSION: &str = "-standalone-check";

/// A command run in the scratch copy, building into the real target directory so
/// registry dependencies are reused (the copy's packages carry another version, see
/// [`mark_copy_versions`], so cargo keeps their artifacts apart from the real ones).
fn in_copy(mut command: Command, tree: &Path, scratch: &Path, target: &Path) -> Command {
    command
        .current_dir(tree)
        // The xtask and the tests find the course through this; ours points at the
        // real workspace, and cargo's [env] does not override an inherited value.
        .env("CARGO_WORKSPACE_DIR", tree)
        .env("CARGO_TARGET_DIR", target)
        // The copy sits inside the real repository (under target/): git must not
        // find that one and report the copy as untracked files.
        .env("GIT_CEILING_DIRECTORIES", scratch);
    command
}

/// Copies the files git knows (tracked, and untracked but not ignored) to `tree`,
/// keeping modification times so cargo's fingerprints of the previous run's copy
/// still hold; `node_modules` folders are linked rather than copied.
fn copy_workspace(root: &Path, target: &Path, tree: &Path) -> io::Result<String> {
    if tree.exists() {
        fs::remove_dir_all(tree)?;
    }
    fs::create_dir_all(tree)?;
    let skip = |relative: &Path| {
        relative.starts_with("target")
            || relative.starts_with(".git")
            || root.join(relative).starts_with(target)
            || relative
                .components()
                .any(|c| c.as_os_str() == "node_modules")
    };
    let files = listed_files(root);
    let mut count = 0;
    for relative in files.iter().filter(|r| !skip(r)) {
        let from = root.join(relative);
        let Ok(meta) = fs::symlink_metadata(&from) else {
            // Deleted in the working tree but still in the index: a move in progress.
            continue;
        };
        let to = tree.join(relative);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)?;
        }
        if meta.file_type().is_symlink() {
            link(&fs::read_link(&from)?, &to)?;
        } else if meta.is_file() {
            fs::copy(&from, &to)?;
            fs::File::options()
                .write(true)
                .open(&to)?
                .set_modified(meta.modified()?)?;
        } else {
            continue;
        }
        count += 1;
    }
    let mut linked = 0;
    for dir in node_modules(root) {
        let relative = dir.strip_prefix(root).unwrap_or(&dir);
        let to = tree.join(relative);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)?;
        }
        link(&dir, &to)?;
        linked += 1;
    }
    Ok(format!(
        "{count} files copied, {linked} node_modules folder(s) linked"
    ))
}

/// Tracked and untracked-but-not-ignored files; without git, every file but build
/// output (a course downloaded as a zip).
fn listed_files(root: &Path) -> Vec<PathBuf> {
    let output = Command::new("git")
        .current_dir(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    match output {
        Ok(output) if output.status.success() => {
            let mut files: Vec<PathBuf> = output
                .stdout
                .split(|b| *b == 0)
                .filter(|name| !name.is_empty())
                .map(|name| PathBuf::from(String::from_utf8_lossy(name).as_ref()))
                .collect();
            files.sort();
            files.dedup();
            files
        }
        _ => workspace::walk_files(root)
            .into_iter()
            .filter_map(|p| p.strip_prefix(root).ok().map(Path::to_path_buf))
            .collect(),
    }
}

/// The `node_modules` folders of the workspace (not inside build output or another
/// `node_modules`), so the copy's JavaScript tests find their packages.
fn node_modules(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            match entry.file_name().to_str() {
                Some("node_modules") => found.push(entry.path()),
                Some("target" | ".git") => {}
                _ => pending.push(entry.path()),
            }
        }
    }
    found.sort();
    found
}

#[cfg(unix)]
fn link(original: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(original, link)
}

#[cfg(windows)]
fn link(original: &Path, link: &Path) -> io::Result<()> {
    if original.is_dir() {
        std::os::windows::fs::symlink_dir(original, link)
    } else {
        std::os::windows::fs::symlink_file(original, link)
    }
}

/// Appends something that does not compile: a `compile_error!` naming who did it
/// for Rust, a syntax error for anything else.
fn break_file(path: &Path) -> io::Result<()> {
    let mut text = fs::read_to_string(path)?;
    if path.extension().is_some_and(|e| e == "rs") {
        text.push_str(&format!("\ncompile_error!(\"{BREAKAGE}\");\n"));
    } else {
        text.push_str(&format!("\n)( {BREAKAGE}\n"));
    }
    fs::write(path, text)
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed `cargo metadata --format-version 1 --no-deps` output: a provided crate,
    /// two section crates (the second depending on the first, as dev and build
    /// dependency too, once under another name), and a tool that is not a section.
    const METADATA: &str = r#"{
      "packages": [
        {"name": "channels", "id": "path+file:///w/s2/channels#0.1.0",
         "manifest_path": "/w/s2/channels/Cargo.toml",
         "dependencies": [
           {"name": "tokio", "kind": null, "source": "registry+https://github.com/rust-lang/crates.io-index"}
         ]},
        {"name": "section2", "id": "path+file:///w/s2#0.1.0",
         "manifest_path": "/w/s2/Cargo.toml",
         "dependencies": [
           {"name": "channels", "kind": null, "path": "/w/s2/channels"},
           {"name": "testkit", "kind": "dev", "path": "/w/xtask/testkit"}
         ]},
        {"name": "section3", "id": "path+file:///w/s3#0.1.0",
         "manifest_path": "/w/s3/Cargo.toml",
         "dependencies": [
           {"name": "channels", "kind": null, "path": "/w/s2/channels"},
           {"name": "old-s2", "rename": "old_s2", "kind": "dev", "path": "/w/s2"},
           {"name": "section2", "kind": "build", "path": "/w/s3/../s2"}
         ]},
        {"name": "xtask", "id": "path+file:///w/xtask#0.1.0",
         "manifest_path": "/w/xtask/Cargo.toml",
         "dependencies": [{"name": "serde", "kind": null}]}
      ],
      "workspace_members": [
        "path+file:///w/s2/channels#0.1.0", "path+file:///w/s2#0.1.0",
        "path+file:///w/s3#0.1.0", "path+file:///w/xtask#0.1.0"
      ],
      "target_directory": "/w/target",
      "version": 1
    }"#;

    fn is_section(dir: &Path) -> bool {
        ["/w/s2", "/w/s3"]
            .iter()
            .any(|s| normalize(dir) == Path::new(s))
    }

    #[test]
    fn finds_every_dependency_on_a_section_crate() {
        let metadata = Metadata::parse(METADATA).unwrap();
        let names: Vec<&str> = metadata
            .section_crates(&is_section)
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["section2", "section3"]);
        let found = section_dependencies(&metadata, &is_section);
        let dependency = |kind: &str| SectionDependency {
            from: "section3".into(),
            to: "section2".into(),
            kind: kind.into(),
            manifest: PathBuf::from("/w/s3/Cargo.toml"),
        };
        // The provided crate and the test kit are fine; both section-2 edges are not.
        assert_eq!(found, [dependency("dev"), dependency("build")]);
    }

    #[test]
    fn a_workspace_without_section_dependencies_passes() {
        let mut metadata = Metadata::parse(METADATA).unwrap();
        for package in &mut metadata.packages {
            package
                .dependencies
                .retain(|d| d.name != "old-s2" && d.name != "section2");
        }
        assert!(section_dependencies(&metadata, &is_section).is_empty());
    }

    #[test]
    fn own_exercise_macros_and_paths_out_of_the_crate_are_found() {
        let tests = Path::new("/w/s4/tests");
        let krate = Path::new("/w/s4");
        let text = "\
// macro_rules! exercise in a comment is fine
macro_rules! exercise {
macro_rules! exercise_with_redis {
macro_rules! race {
#[path = \"support/guestbook.rs\"]
#[path = \"../../s1/tests/support/browser.rs\"]
";
        assert_eq!(
            test_kit_problems(text, tests, krate),
            [
                "defines its own `macro_rules! exercise`",
                "defines its own `macro_rules! exercise_with_redis`",
                "includes `../../s1/tests/support/browser.rs` by #[path], from outside its crate",
            ]
        );
        // From tests/support/, `../../` is still the crate itself.
        let support = Path::new("/w/s4/tests/support");
        let inside = "#[path = \"../../src/fixtures.rs\"]\n";
        assert!(test_kit_problems(inside, support, krate).is_empty());
        let outside = "#[path = \"../../../s3/tests/support/redis.rs\"]\n";
        assert_eq!(test_kit_problems(outside, support, krate).len(), 1);
    }
}
