//! # figures: what a bench measured, as JSON the results page reads
//!
//! Every bench, scale-lab scenario and hardening test that `cargo xtask bench` quotes
//! on the results page writes its figures to one JSON file, `<dir>/<name>.json`
//! (a hardening test's: what it saw, `hardening-*.json`), with named fields:
//! the page reads those files and never the text a bench prints, so rewording a
//! `println!` cannot drop a figure from the page, and a figure that is missing
//! stops the page with the file's name and the command that writes it.
//!
//! Read it in this order:
//!
//! 1. [`Figures`]: a shape that always lives in the same file (a bench's), and
//!    [`Record`], the envelope every file holds (command, machine, figures);
//! 2. [`write`] and [`read`] (and [`write_as`], [`read_as`] for shapes written
//!    under several names, like the scale lab's [`section2::Scenario`]);
//! 3. the shapes themselves, one module per section: [`section1`], [`section2`],
//!    [`section3`], [`section4`] (each with its hardening test's, `*Hardening`);
//! 4. for the walkthroughs, which quote figures only between markers that a command
//!    rewrites: [`machine::Machine`] (the machine line) and [`walkthrough::rewrite`].
//!
//! The directory is `$COURSE_FIGURES_DIR` (the xtask sets it), else
//! `$CARGO_TARGET_DIR/figures`, else the workspace's `target/figures`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub mod machine;
pub mod section1;
pub mod section2;
pub mod section3;
pub mod section4;
pub mod walkthrough;

/// The environment variable naming the directory the figures go to.
pub const DIR_ENV: &str = "COURSE_FIGURES_DIR";

/// A shape of figures written to one well-known file by one command.
pub trait Figures: Serialize + DeserializeOwned {
    /// The file's name without `.json` (the results page's id of the measurement).
    const NAME: &'static str;
    /// The command that writes the file.
    const COMMAND: &'static str;
}

/// What a figures file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record<T> {
    /// The file's name without `.json`.
    pub name: String,
    /// The command that wrote it.
    pub command: String,
    /// The machine it ran on, as the producer describes it, when it gathered one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<serde_json::Value>,
    /// The figures.
    pub figures: T,
}

/// Why a figures file could not be read.
#[derive(Debug)]
pub enum Error {
    /// No file: the command did not run, did not finish, or predates the file.
    Missing {
        /// The file looked for.
        path: PathBuf,
        /// The command that writes it.
        command: String,
    },
    /// A file that is not a record of the expected shape (a field renamed on one
    /// side only, a file written by an older build).
    Invalid {
        /// The file read.
        path: PathBuf,
        /// The command that writes it.
        command: String,
        /// What serde or the file system said.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Missing { path, command } => write!(
                f,
                "no figures file {}: `{command}` writes it (did it run to the end with \
                 this build?)",
                path.display()
            ),
            Error::Invalid {
                path,
                command,
                reason,
            } => write!(
                f,
                "figures file {} does not hold the expected figures ({reason}): run \
                 `{command}` again with this build",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {}

/// The directory figures are written to and read from (see the crate's docs).
pub fn dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(target).join("figures");
    }
    workspace().join("target/figures")
}

/// The workspace's root folder (where this crate was built from).
pub fn workspace() -> PathBuf {
    // This crate sits at xtask/figures in the workspace.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// The file of the figures called `name` in `dir`.
pub fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

/// Writes `figures` to [`dir`]`/T::NAME.json`; returns the file's path.
pub fn write<T: Figures>(
    figures: &T,
    machine: Option<serde_json::Value>,
) -> std::io::Result<PathBuf> {
    write_as(T::NAME, T::COMMAND, machine, figures)
}

/// Writes `figures` to [`dir`]`/<name>.json`, with the command that measured them.
pub fn write_as<T: Serialize>(
    name: &str,
    command: &str,
    machine: Option<serde_json::Value>,
    figures: &T,
) -> std::io::Result<PathBuf> {
    write_in(&dir(), name, command, machine, figures)
}

/// [`write_as`] into `dir`.
pub fn write_in<T: Serialize>(
    dir: &Path,
    name: &str,
    command: &str,
    machine: Option<serde_json::Value>,
    figures: &T,
) -> std::io::Result<PathBuf> {
    let record = Record {
        name: name.to_string(),
        command: command.to_string(),
        machine,
        figures,
    };
    let text = serde_json::to_string_pretty(&record).map_err(std::io::Error::other)?;
    std::fs::create_dir_all(dir)?;
    let path = path(dir, name);
    // Written aside and renamed, so a reader never sees half a file.
    let partial = dir.join(format!(".{name}.json.partial"));
    std::fs::write(&partial, text + "\n")?;
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

/// Reads `dir/T::NAME.json`.
pub fn read<T: Figures>(dir: &Path) -> Result<Record<T>, Error> {
    read_as(dir, T::NAME, T::COMMAND)
}

/// Reads `dir/<name>.json`; `command` (the one that writes it) goes into the error.
pub fn read_as<T: DeserializeOwned>(
    dir: &Path,
    name: &str,
    command: &str,
) -> Result<Record<T>, Error> {
    let path = path(dir, name);
    let invalid = |reason: String| Error::Invalid {
        path: path.clone(),
        command: command.to_string(),
        reason,
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Missing {
                path,
                command: command.to_string(),
            });
        }
        Err(e) => return Err(invalid(e.to_string())),
    };
    serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::section1::MockResourceBench;
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("figures-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        dir
    }

    #[test]
    fn a_record_round_trips_through_its_file() {
        let dir = scratch("round-trip");
        let figures = MockResourceBench {
            use_resource_ns: 241.0,
            sleep_ns: 194.0,
        };
        let machine = serde_json::json!({"cores": 2});
        let path = write_in(
            &dir,
            MockResourceBench::NAME,
            MockResourceBench::COMMAND,
            Some(machine.clone()),
            &figures,
        )
        .unwrap();
        assert_eq!(path, dir.join("s1-mock_resource.json"));
        let record = read::<MockResourceBench>(&dir).unwrap();
        assert_eq!(record.figures, figures);
        assert_eq!(record.machine, Some(machine));
        assert_eq!(record.command, MockResourceBench::COMMAND);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_missing_or_foreign_file_names_itself_and_its_command() {
        let dir = scratch("missing");
        let missing = read::<MockResourceBench>(&dir).unwrap_err().to_string();
        assert!(missing.contains("s1-mock_resource.json"), "{missing}");
        assert!(missing.contains(MockResourceBench::COMMAND), "{missing}");
        write_in(&dir, "s1-mock_resource", "x", None, &serde_json::json!({})).unwrap();
        let invalid = read::<MockResourceBench>(&dir).unwrap_err().to_string();
        assert!(invalid.contains("missing field"), "{invalid}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
