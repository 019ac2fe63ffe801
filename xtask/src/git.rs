//! The few git questions the xtask asks. Git is optional for learners (a course
//! downloaded as a zip still checks), so every helper degrades to "don't know".

use std::path::Path;
use std::process::{Command, Stdio};

fn git(root: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let output = Command::new("git")
        .current_dir(root)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output.status.success().then_some(output.stdout)
}

/// Paths under `paths` that differ from HEAD or are new (ignored files excluded),
/// each with whether it is new. `None` when git cannot tell (not a repository).
pub fn changed_paths(root: &Path, paths: &[&str]) -> Option<Vec<(bool, String)>> {
    let mut args = vec!["status", "--porcelain", "--untracked-files=all", "--"];
    args.extend(paths);
    let out = git(root, &args)?;
    let text = String::from_utf8_lossy(&out);
    Some(
        text.lines()
            .filter_map(|line| Some((line.starts_with("??"), line.get(3..)?)))
            .map(|(new, path)| (new, path.trim_matches('"').to_string()))
            .collect(),
    )
}

/// A file's content at a commit (`HEAD`, or a hash), relative to the workspace root.
pub fn show(root: &Path, commit: &str, path: &str) -> Option<String> {
    let out = git(root, &["show", &format!("{commit}:./{path}")])?;
    String::from_utf8(out).ok()
}

/// The commits that touched `path`, newest first.
pub fn log_commits(root: &Path, path: &str) -> Vec<String> {
    git(root, &["log", "--format=%H", "--", path])
        .map(|out| {
            String::from_utf8_lossy(&out)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The newest committed version of `path` that still holds `marker` (the pristine
/// start code: a maintainer's later commit may have touched the file, a learner's
/// commit may have solved it).
pub fn pristine(root: &Path, path: &str, marker: &str) -> Option<String> {
    if let Some(text) = show(root, "HEAD", path).filter(|t| t.contains(marker)) {
        return Some(text);
    }
    log_commits(root, path)
        .iter()
        .filter_map(|commit| show(root, commit, path))
        .find(|text| text.contains(marker))
}

/// Does `path` differ from HEAD (or is it missing from HEAD)? `None` without git.
pub fn differs_from_head(root: &Path, path: &str) -> Option<bool> {
    git(root, &["rev-parse", "--verify", "HEAD"])?;
    if show(root, "HEAD", path).is_none() {
        return Some(true);
    }
    // `git diff` rather than comparing bytes: it honours line-ending conversion.
    let status = Command::new("git")
        .current_dir(root)
        .args(["diff", "--quiet", "HEAD", "--", path])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    Some(!status.success())
}
