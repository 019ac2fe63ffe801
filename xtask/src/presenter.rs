//! The deck's presenter view: speaker notes hidden from learners, shown to an
//! instructor who presses N (`slides/theme/presenter.js`, `slides/theme/slides.css`).
//!
//! Two checks for `verify`'s slides step:
//! - [`lint`]: every speaker note uses the one markup the view hides,
//!   `<details class="notes">` then `<summary>Speaker notes</summary>`. Other
//!   `<details>` (hints, spoilers) are for learners and stay as they are.
//! - [`after_build`]: `slides/tests/presenter.mjs` drives the built book in headless
//!   Chromium (playwright-core): notes hidden by default, hints visible, N shows and
//!   hides the notes, the state survives a reload, P opens a speaker window. Where
//!   Chromium or the npm packages are missing it skips on a laptop and fails in CI.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::verify::Status;
use crate::{ui, workspace};

/// The line that opens a speaker note, and the summary that must follow it.
pub const NOTES_OPEN: &str = r#"<details class="notes">"#;
pub const NOTES_SUMMARY: &str = "<summary>Speaker notes</summary>";

/// The folder with `presenter.mjs`, its `package.json` and lockfile.
const TESTS_DIR: &str = "slides/tests";
const SCRIPT: &str = "presenter.mjs";
const SETUP: &str = "cargo xtask setup";
/// Chromium starts slowly on a busy machine; the whole check takes about 10 s.
const LIMIT: Duration = Duration::from_secs(180);

/// Speaker notes not written the agreed way, one message per problem, for every
/// page under slides/src.
pub fn lint(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for page in workspace::walk_files(&root.join(crate::slides::SRC_DIR)) {
        if page.extension().is_none_or(|ext| ext != "md") {
            continue;
        }
        let Ok(text) = fs::read_to_string(&page) else {
            continue;
        };
        let at = workspace::display(root, &page);
        for (line, problem) in lint_page(&text) {
            problems.push(format!("{at}:{line}: {problem}"));
        }
    }
    problems
}

/// (line number, problem) for each miswritten speaker note in one page.
fn lint_page(text: &str) -> Vec<(usize, String)> {
    let rule = format!(
        "a speaker note is `{NOTES_OPEN}` then `{NOTES_SUMMARY}` on the next line \
         (the presenter view hides exactly that from learners)"
    );
    let mut problems = Vec::new();
    let mut in_code = false;
    // (line number, trimmed text) of the lines outside code blocks, blank ones dropped.
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
            continue;
        }
        if !in_code && !trimmed.is_empty() {
            lines.push((index + 1, trimmed));
        }
    }
    for (i, &(number, line)) in lines.iter().enumerate() {
        let lower = line.to_lowercase();
        let next = lines.get(i + 1).map(|&(_, l)| l);
        let previous = i.checked_sub(1).map(|p| lines[p].1);
        if lower.starts_with("<details") && lower.contains("notes") {
            if line != NOTES_OPEN {
                problems.push((number, format!("`{line}`: {rule}")));
            } else if next != Some(NOTES_SUMMARY) {
                problems.push((number, format!("a notes block without its summary: {rule}")));
            }
        } else if lower.starts_with("<summary") && lower.contains("speaker") {
            if line != NOTES_SUMMARY {
                problems.push((number, format!("`{line}`: {rule}")));
            } else if previous != Some(NOTES_OPEN) {
                problems.push((number, format!("speaker notes learners would see: {rule}")));
            }
        }
    }
    problems
}

/// After the book built into `book`: the presenter view checked in headless
/// Chromium. Returns `build` unchanged when the build did not pass.
pub fn after_build(root: &Path, book: &Path, in_ci: bool, build: Status) -> Status {
    if !matches!(build, Status::Passed | Status::PassedNote(_)) {
        return build;
    }
    let dir = root.join(TESTS_DIR);
    if let Some(missing) = missing(&dir) {
        let why = format!(
            "the book builds, but the presenter-view check can't run here: {missing}; \
             install with `{SETUP}`"
        );
        return if in_ci {
            Status::Failed(why)
        } else {
            Status::Skipped(why)
        };
    }
    println!("presenter view, in headless Chromium ({TESTS_DIR}/{SCRIPT}):");
    match run(&dir, book) {
        Ok(checks) => Status::PassedNote(format!(
            "book built; presenter view checked in headless Chromium ({checks} checks)"
        )),
        Err(why) => Status::Failed(format!("presenter view: {why}")),
    }
}

/// Chromium's path: `$CHROMIUM`, or Debian's (as testkit's browser tests).
fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string())
}

/// What is missing to run the check here, if anything.
fn missing(dir: &Path) -> Option<String> {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if node.is_err() {
        return Some("node is not installed".into());
    }
    if !dir.join("node_modules/playwright-core").is_dir() {
        return Some(format!(
            "the npm packages of {TESTS_DIR} are not installed (npm ci --prefix {TESTS_DIR})"
        ));
    }
    let chromium = chromium();
    if !Path::new(&chromium).exists() {
        return Some(format!("Chromium ({chromium}) is not installed"));
    }
    None
}

/// Runs the script on the built book; the number of checks that passed, or the
/// first failure in the script's words.
fn run(dir: &Path, book: &Path) -> Result<usize, String> {
    let (out, err) = (TempFile::new("out"), TempFile::new("err"));
    let create = |file: &TempFile| {
        fs::File::create(&file.0).map_err(|e| format!("could not create {}: {e}", file.0.display()))
    };
    let mut child = Command::new("node")
        .arg(SCRIPT)
        .arg(book)
        .current_dir(dir)
        .env("CHROMIUM", chromium())
        .stdin(Stdio::null())
        .stdout(create(&out)?)
        .stderr(create(&err)?)
        .spawn()
        .map_err(|e| format!("could not run node: {e}"))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("could not wait for node: {e}")),
        }
    };
    let stdout = fs::read_to_string(&out.0).unwrap_or_default();
    let stderr = fs::read_to_string(&err.0).unwrap_or_default();
    for line in stdout.lines() {
        match line.strip_prefix("not ok - ") {
            Some(failure) => println!("  {}", ui::red(&format!("✗ {failure}"))),
            None => match line.strip_prefix("ok - ") {
                Some(passed) => println!("  {} {passed}", ui::green("✓")),
                None => println!("    {line}"),
            },
        }
    }
    if !stderr.trim().is_empty() {
        println!("{}", stderr.trim_end());
    }
    let checks = stdout.lines().filter(|l| l.starts_with("ok - ")).count();
    match status {
        None => Err(format!(
            "{SCRIPT} did not finish within {} s",
            LIMIT.as_secs()
        )),
        Some(status) if status.success() && checks > 0 => Ok(checks),
        Some(status) => Err(stdout
            .lines()
            .find_map(|l| l.strip_prefix("not ok - "))
            .map(str::to_string)
            .unwrap_or_else(|| format!("{SCRIPT} failed ({status}; its output is above)"))),
    }
}

/// A file for the script's output, removed when dropped (node's output goes to
/// files, not pipes: a chatty browser cannot fill a pipe nobody reads).
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(what: &str) -> TempFile {
        let name = format!("xtask-presenter-{}-{what}.log", std::process::id());
        TempFile(std::env::temp_dir().join(name))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speaker_notes_use_the_one_markup() {
        let good = "# A slide\n\n<details class=\"notes\">\n<summary>Speaker notes</summary>\n\nSay it.\n\n</details>\n";
        assert!(lint_page(good).is_empty(), "{:?}", lint_page(good));

        let plain =
            "# A slide\n\n<details>\n<summary>Speaker notes</summary>\n\nSay it.\n</details>\n";
        let problems = lint_page(plain);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, 4);
        assert!(problems[0].1.contains("learners would see"), "{problems:?}");

        let quoted = "<details class='notes'>\n<summary>Speaker notes</summary>\n";
        assert_eq!(lint_page(quoted)[0].0, 1);

        let no_summary = "<details class=\"notes\">\n<summary>Notes</summary>\n";
        assert!(lint_page(no_summary)[0].1.contains("without its summary"));

        let lower = "<details class=\"notes\">\n<summary>speaker notes</summary>\n";
        assert_eq!(lint_page(lower).len(), 2, "{:?}", lint_page(lower));
    }

    #[test]
    fn hints_spoilers_and_code_are_left_alone() {
        let page = "<details>\n<summary>Hint 1</summary>\n\nLook.\n</details>\n\n\
                    <details>\n<summary>Spoiler: the reference answer</summary>\n</details>\n\n\
                    ```html\n<details>\n<summary>Speaker notes</summary>\n```\n";
        assert!(lint_page(page).is_empty(), "{:?}", lint_page(page));
    }
}
