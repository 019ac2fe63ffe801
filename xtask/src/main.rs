//! The course's own tool: `cargo xtask <command>`.
//!
//! Learners use `check`, `hint`, `solve`, `reset`, `watch`, `doctor`, `slides` and
//! `bench`; maintainers and CI use `verify`. Everything is driven by `course.toml`
//! at the workspace root, and progress is never stored: the tests are the truth.
//!
//! Arguments are parsed by hand (no clap) so this crate compiles in seconds on a
//! fresh laptop: the first thing a learner runs must not be a long build.

mod args;
mod backup;
mod bench;
mod check;
mod doctor;
mod git;
mod hint;
mod libtest;
mod manifest;
mod presenter;
mod runner;
mod setup;
mod skips;
mod slides;
mod standalone;
mod ui;
mod verify;
mod walkthroughs;
mod watch;
mod workspace;

use std::process::ExitCode;

use args::Args;

/// Exit codes are part of the interface: instructors script them.
pub mod exit {
    /// Everything in scope passes.
    pub const OK: u8 = 0;
    /// At least one exercise is pending (or a command failed).
    pub const PENDING: u8 = 1;
    /// The command line or the manifest is wrong.
    pub const USAGE: u8 = 2;
    /// The machine is the problem: `doctor` found one, or `check` found nothing
    /// pending but some exercises it cannot check here (their tests need a tool
    /// this machine lacks, so they skipped).
    pub const ENVIRONMENT: u8 = 3;
}

const USAGE: &str = "\
usage: cargo xtask <command> [arguments]

learner commands:
  check [SCOPE] [--all] [--solution] [--verbose]
                      run the exercises' tests against your code, in course order.
                      SCOPE is a section (s1) or an exercise (s1.e2); default: the
                      course, section by section, up to the first one with core
                      exercises left. Extras are optional and do not count;
                      --all counts them and checks every section in scope.
                      --solution runs the reference instead of your code.
  hint ID [--level N] show the hints for an exercise, up to level N (default 1)
  solve ID            put the reference over your file (your code is backed up first)
  reset ID            put the start code back (your code is backed up first)
  watch [SCOPE] [--all]
                      re-run check every time you save a file
  setup               install what the course uses, once per machine: dependencies,
                      mdbook, npm packages and, as root with apt-get, Chromium,
                      redis-server, wrk, ab and PostgreSQL (else it prints the
                      commands); writes target/course-env to source
  doctor              check this machine before the training day
  slides [--build]    regenerate the exercise pages and serve the slides on port 3000
  bench [--quick] [--only NAME] [--render]
                      run every section's benchmarks and the scale lab, and write
                      the results page (slides/src/scale-lab/results.md);
                      --render rewrites the page from results.json only

maintainer commands:
  verify [--only STEP]
                      everything CI checks: tests, lints, honesty of the exercises,
                      the manifest, pending snapshots, sections standing alone and
                      the slides. --only runs one step: tests, clippy, fmt, honesty,
                      manifest, snapshots, standalone or slides
";

fn main() -> ExitCode {
    let mut args = Args::from_env();
    let Some(command) = args.next_positional() else {
        print!("{USAGE}");
        return ExitCode::from(exit::USAGE);
    };
    let code = match command.as_str() {
        "check" => check::command(args),
        "hint" => hint::command(args),
        "solve" => backup::solve_command(args),
        "reset" => backup::reset_command(args),
        "watch" => watch::command(args),
        "setup" => setup::command(args),
        "doctor" => doctor::command(args),
        "slides" => slides::command(args),
        "bench" => bench::command(args),
        "verify" => verify::command(args),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            exit::OK
        }
        other => {
            eprintln!("unknown command `{other}`\n");
            eprint!("{USAGE}");
            exit::USAGE
        }
    };
    ExitCode::from(code)
}
