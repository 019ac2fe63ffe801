//! `cargo xtask watch`: check again every time a file is saved.
//!
//! Polls modification times every 300 ms instead of using OS file events: polling
//! works on every filesystem (network mounts, containers, VMs' shared folders) where
//! event APIs silently miss changes, and for a few hundred files it costs nothing.
//! Typing `r` + Enter re-checks by hand, in case a save still goes unseen.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime};

use crate::args::{Args, usage_error};
use crate::check::{self, Options};
use crate::manifest::{Manifest, Scope, Side};
use crate::{exit, ui, workspace};

const USAGE: &str = "cargo xtask watch [s1 | s1.e2] [--all] [--solution] [--verbose]";
const POLL: Duration = Duration::from_millis(300);

enum Event {
    Recheck,
    Quit,
}

/// Each watched file with its mtime and size (size catches same-second saves on
/// filesystems with coarse timestamps).
type Snapshot = Vec<(PathBuf, Option<SystemTime>, u64)>;

pub fn command(mut args: Args) -> u8 {
    let side = if args.flag("--solution") {
        Side::Solution
    } else {
        Side::Start
    };
    let verbose = args.flag("--verbose") | args.flag("-v");
    let all = args.flag("--all");
    let scope = Scope::parse(args.next_positional().as_deref());
    if let Err(message) = args.finish() {
        return usage_error(&message, USAGE);
    }
    let root = workspace::root();
    let options = Options { side, verbose, all };
    // Validate the scope once up front, so a typo fails now rather than on every save.
    match Manifest::load(&root).and_then(|m| m.select(&scope).map(|_| ())) {
        Ok(()) => {}
        Err(message) => {
            eprintln!("error: {message}");
            return exit::USAGE;
        }
    }

    // `events` lives as long as this function, so the channel never disconnects
    // (and `recv_timeout` keeps timing out) even after stdin closes.
    let (events, incoming) = mpsc::channel();
    let keyboard = events.clone();
    thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let event = match line.trim() {
                "q" | "quit" => Event::Quit,
                _ => Event::Recheck,
            };
            if keyboard.send(event).is_err() {
                break;
            }
        }
    });

    let mut seen = snapshot(&root);
    run_check(&root, &scope, &options, None);
    loop {
        match incoming.recv_timeout(POLL) {
            Ok(Event::Quit) => return exit::OK,
            Ok(Event::Recheck) => run_check(&root, &scope, &options, Some("re-checking")),
            Err(_) => {
                let now = snapshot(&root);
                if now == seen {
                    continue;
                }
                // Editors save in several writes; let them finish before building.
                thread::sleep(Duration::from_millis(150));
                let settled = snapshot(&root);
                let changed = first_change(&seen, &settled);
                seen = settled;
                let why =
                    changed.map(|path| format!("{} changed", workspace::display(&root, &path)));
                run_check(&root, &scope, &options, why.as_deref());
            }
        }
    }
}

fn run_check(root: &Path, scope: &Scope, options: &Options, why: Option<&str>) {
    if std::io::stdout().is_terminal() {
        // Clear the screen so the newest result is the only one on it.
        print!("\x1b[2J\x1b[H");
    }
    if let Some(why) = why {
        println!("{}", ui::dim(why));
    }
    match Manifest::load(root) {
        Ok(manifest) => {
            check::run(root, &manifest, scope, options);
        }
        Err(message) => eprintln!("error: {message}"),
    }
    println!(
        "\n{}",
        ui::dim("watching for changes... press r then Enter to re-check, q then Enter to quit")
    );
}

/// The files a learner (or maintainer) edits: the section crates' src/ and tests/,
/// the solutions, and the manifest.
fn snapshot(root: &Path) -> Snapshot {
    let mut dirs = vec![root.join("solutions")];
    if let Ok(manifest) = Manifest::load(root) {
        for krate in manifest.crates() {
            dirs.push(root.join(krate).join("src"));
            dirs.push(root.join(krate).join("tests"));
        }
    }
    let mut files: Vec<PathBuf> = dirs.iter().flat_map(|d| workspace::walk_files(d)).collect();
    files.push(root.join("course.toml"));
    files
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).ok();
            let modified = meta.as_ref().and_then(|m| m.modified().ok());
            let len = meta.map_or(0, |m| m.len());
            (path, modified, len)
        })
        .collect()
}

fn first_change(before: &Snapshot, after: &Snapshot) -> Option<PathBuf> {
    after
        .iter()
        .find(|entry| !before.contains(entry))
        .or_else(|| before.iter().find(|entry| !after.contains(entry)))
        .map(|(path, _, _)| path.clone())
}
