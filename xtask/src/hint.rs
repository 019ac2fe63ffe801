//! `cargo xtask hint ID [--level N]`: hints one level at a time, so a learner
//! takes only as much help as they need.

use crate::args::{Args, usage_error};
use crate::manifest::Manifest;
use crate::{exit, ui, workspace};

const USAGE: &str = "cargo xtask hint s1.e2 [--level N]";

pub fn command(mut args: Args) -> u8 {
    let level = match args.value("--level") {
        Ok(None) => 1,
        Ok(Some(text)) => match text.parse::<usize>() {
            Ok(level) if level >= 1 => level,
            _ => return usage_error(&format!("--level must be 1 or more, not `{text}`"), USAGE),
        },
        Err(message) => return usage_error(&message, USAGE),
    };
    let Some(id) = args.next_positional() else {
        return usage_error("which exercise? give its id, e.g. s1.e2", USAGE);
    };
    if let Err(message) = args.finish() {
        return usage_error(&message, USAGE);
    }
    let manifest = match Manifest::load(&workspace::root()) {
        Ok(manifest) => manifest,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::USAGE;
        }
    };
    let exercise = match manifest.exercise(&id) {
        Ok(exercise) => exercise,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::USAGE;
        }
    };

    let total = exercise.hints.len();
    let shown = level.min(total);
    println!(
        "{}",
        ui::rule(&format!("{}: {}", exercise.id, exercise.title))
    );
    for (index, hint) in exercise.hints.iter().take(shown).enumerate() {
        println!(
            "\n{} {hint}",
            ui::bold(&format!("Hint {}/{total}:", index + 1))
        );
    }
    println!();
    if shown < total {
        println!(
            "Still stuck? {}",
            ui::cyan(&format!(
                "cargo xtask hint {} --level {}",
                exercise.id,
                shown + 1
            ))
        );
    } else {
        println!(
            "That was the last hint. The slide explains the idea: {}",
            exercise.slide
        );
        println!(
            "To see the reference in place: {} (your code is backed up first)",
            ui::cyan(&format!("cargo xtask solve {}", exercise.id))
        );
    }
    exit::OK
}
