//! `solve` and `reset`: both overwrite the learner's file, so both back it up first.
//!
//! Backups go to `.course-backups/<id>/<YYYYMMDD-HHMMSS>/<original path>` (gitignored),
//! so nothing a learner typed is ever lost, and the path says what and when.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::args::{Args, usage_error};
use crate::manifest::{Exercise, Manifest};
use crate::{exit, git, ui, workspace};

pub const BACKUP_DIR: &str = ".course-backups";

/// Copies the exercise's start files (those that exist) into a fresh backup folder.
/// Returns that folder.
pub fn back_up(root: &Path, exercise: &Exercise) -> io::Result<PathBuf> {
    let base = root.join(BACKUP_DIR).join(&exercise.id);
    let stamp = timestamp(SystemTime::now());
    // Two commands in the same second must not overwrite each other's backup.
    let mut dir = base.join(&stamp);
    let mut n = 2;
    while dir.exists() {
        dir = base.join(format!("{stamp}-{n}"));
        n += 1;
    }
    for file in &exercise.files {
        let source = root.join(file);
        if source.exists() {
            let target = dir.join(file);
            fs::create_dir_all(target.parent().unwrap_or(&dir))?;
            fs::copy(&source, &target)?;
        }
    }
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `YYYYMMDD-HHMMSS` in UTC, without a date crate.
pub fn timestamp(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Loads the manifest and the exercise named by the only argument.
fn exercise_arg(mut args: Args, usage: &str) -> Result<(PathBuf, Manifest, String), u8> {
    let Some(id) = args.next_positional() else {
        return Err(usage_error(
            "which exercise? give its id, e.g. s1.e2",
            usage,
        ));
    };
    if let Err(message) = args.finish() {
        return Err(usage_error(&message, usage));
    }
    let root = workspace::root();
    let manifest = Manifest::load(&root).map_err(|message| {
        eprintln!("error: {message}");
        exit::USAGE
    })?;
    let id = manifest
        .exercise(&id)
        .map_err(|message| {
            eprintln!("error: {message}");
            exit::USAGE
        })?
        .id
        .clone();
    Ok((root, manifest, id))
}

pub fn solve_command(args: Args) -> u8 {
    let (root, manifest, id) = match exercise_arg(args, "cargo xtask solve s1.e2") {
        Ok(found) => found,
        Err(code) => return code,
    };
    let exercise = manifest.exercise(&id).expect("checked by exercise_arg");
    for solution in &exercise.solutions {
        if !root.join(solution).is_file() {
            eprintln!("error: the reference {solution} is missing; this is a course bug");
            return exit::PENDING;
        }
    }
    let dir = match back_up(&root, exercise) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: could not back up your code, so nothing was changed: {e}");
            return exit::PENDING;
        }
    };
    println!(
        "backed up your code to {}",
        ui::cyan(&workspace::display(&root, &dir))
    );
    for (file, solution) in exercise.files.iter().zip(&exercise.solutions) {
        if let Err(e) = fs::copy(root.join(solution), root.join(file)) {
            eprintln!("error: could not copy {solution} to {file}: {e}");
            return exit::PENDING;
        }
        println!("copied the reference {solution} over {file}");
    }
    println!(
        "\nRead it, then run {}. `cargo xtask reset {id}` brings the start code back.",
        ui::cyan(&format!("cargo xtask check {id}"))
    );
    exit::OK
}

pub fn reset_command(args: Args) -> u8 {
    let (root, manifest, id) = match exercise_arg(args, "cargo xtask reset s1.e2") {
        Ok(found) => found,
        Err(code) => return code,
    };
    let exercise = manifest.exercise(&id).expect("checked by exercise_arg");
    let marker = exercise.marker();

    // Find every pristine file before touching anything: all or nothing.
    let mut pristine = Vec::new();
    for file in &exercise.files {
        match git::pristine(&root, file, &marker) {
            Some(text) => pristine.push((file, text)),
            None => {
                eprintln!(
                    "error: git has no version of {file} that contains {marker}, so there is \
                     no start code to restore (is this a git clone of the course?). Nothing \
                     was changed."
                );
                return exit::PENDING;
            }
        }
    }
    let unchanged = pristine
        .iter()
        .all(|(file, text)| fs::read_to_string(root.join(file)).is_ok_and(|now| &now == text));
    if unchanged {
        println!("{id} is already the start code: nothing to reset.");
        return exit::OK;
    }
    let dir = match back_up(&root, exercise) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: could not back up your code, so nothing was changed: {e}");
            return exit::PENDING;
        }
    };
    println!(
        "backed up your code to {}",
        ui::cyan(&workspace::display(&root, &dir))
    );
    for (file, text) in pristine {
        if let Err(e) = fs::write(root.join(file), text) {
            eprintln!("error: could not write {file}: {e}");
            return exit::PENDING;
        }
        println!("restored the start code of {file}");
    }
    println!(
        "\nStart again with {}.",
        ui::cyan(&format!("cargo xtask check {id}"))
    );
    exit::OK
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let at = |secs| timestamp(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "19700101-000000");
        // 2000-02-29 12:34:56 UTC: a leap day in a century leap year.
        assert_eq!(at(951_827_696), "20000229-123456");
        // 2026-11-23 02:12:20 UTC.
        assert_eq!(at(1_795_399_940), "20261123-021220");
    }
}
