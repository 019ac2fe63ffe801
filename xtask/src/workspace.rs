//! Where the course lives on disk, and small file helpers.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The workspace root: every path in `course.toml` is relative to it.
///
/// `.cargo/config.toml` sets `CARGO_WORKSPACE_DIR` for everything cargo runs; the
/// fallbacks cover running the built binary directly.
pub fn root() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_WORKSPACE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

/// The cargo that runs us (`$CARGO`), so a pinned toolchain stays pinned.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// Every file under `dir` (recursively), skipping build output, git and npm trees.
pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                let name = entry.file_name();
                if !matches!(
                    name.to_str(),
                    Some("target" | ".git" | "node_modules" | "book")
                ) {
                    pending.push(path);
                }
            } else if kind.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `path` relative to `root`, with forward slashes, for messages and manifests.
pub fn display(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative.to_string_lossy().replace('\\', "/")
}

/// Writes a file only if its content changed, creating parent directories.
/// Returns true if it wrote (so generated files keep their mtime when unchanged).
pub fn write_if_changed(path: &Path, content: &str) -> io::Result<bool> {
    if fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, content)?;
    Ok(true)
}

/// Is `program` on the PATH? Returns where, without running it.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
