//! `cargo xtask bench`: the criterion benches of every section and the scale lab,
//! collected into one results page.
//!
//! Each measurement is a separate command (a release build of the scale lab or a
//! `cargo bench` target) that writes its figures to `target/figures/<id>.json` (the
//! `figures` crate: one shape per measurement, named fields; the directory is passed
//! in `COURSE_FIGURES_DIR`). The page is built from those files and from the
//! estimates criterion leaves under `target/criterion`, never from what a command
//! prints: a measurement that ran but left no figures file fails, naming the file
//! and the command that writes it, and the run exits with an error. The hardening
//! tests write what they saw the same way (`hardening-*.json`); only their pass and
//! fail counts come from libtest's own summary line. A measurement
//! that needs a missing tool, or a scenario this build does not have yet, is
//! recorded as "not run" with the reason; it never stops the others.
//!
//! The page (`slides/src/scale-lab/results.md`), its data (`results.json`), the
//! charts (`*.svg`) and the README summary are written by [`page`].

pub mod chart;
pub mod page;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::args::{Args, usage_error};
use crate::runner::cargo_command;
use crate::{exit, ui, workspace};
use page::{Entry, Machine, Run, Status};

const USAGE: &str = "cargo xtask bench [--quick] [--only NAME] | --render";

/// Every measurement, in page order: id, title.
pub const SCENARIOS: [(&str, &str); 14] = [
    ("idle", "1. Idle joined connections"),
    ("broadcast", "2. One message to 10,000 subscribers"),
    ("fanout", "3. Sustained fan-out"),
    ("connect", "4. Connect + join rate (open loop)"),
    ("s1-pipeline", "5a. Pipeline events/s vs raw mpsc"),
    ("s4-tracker", "5b. Tracker list/track vs HashMap"),
    ("cluster-latency", "5c. Cross-node broadcast through Redis"),
    ("loadgen-vs-wrk", "6. Load generator vs wrk"),
    ("hardening", "7. Hardening, long runs"),
    ("s1-mock_resource", "Criterion: section 1 mock resource"),
    ("s2-frame", "Criterion: section 2 frame codec"),
    ("s2-fanout", "Criterion: section 2 pubsub fan-out"),
    ("s2-token", "Criterion: section 2 tokens"),
    ("s4-live", "Criterion: section 4 live view diffs"),
];

pub fn command(mut args: Args) -> u8 {
    let quick = args.flag("--quick");
    let render = args.flag("--render");
    let only = match args.value("--only") {
        Ok(only) => only,
        Err(e) => return usage_error(&e, USAGE),
    };
    if let Err(e) = args.finish() {
        return usage_error(&e, USAGE);
    }
    let unknown = only
        .as_deref()
        .is_some_and(|o| !SCENARIOS.iter().any(|(id, _)| id.contains(o)));
    if unknown {
        let only = only.unwrap_or_default();
        let ids: Vec<_> = SCENARIOS.iter().map(|(id, _)| *id).collect();
        return usage_error(
            &format!("no scenario matches `{only}`; known: {}", ids.join(", ")),
            USAGE,
        );
    }
    let root = workspace::root();
    if render {
        // Rewrites the page, charts and README from results.json, measuring nothing
        // (after editing findings.md or the page's template).
        return match page::rerender(&root) {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("error: {e}");
                exit::PENDING
            }
        };
    }
    let started = Instant::now();
    let load_before = Machine::describe().load_average;
    let figures = figures_dir(&root);
    let mut entries = Vec::new();
    let mut without_figures = Vec::new();
    let mut scale_lab_built: Option<Result<PathBuf, String>> = None;
    for (id, title) in SCENARIOS {
        if only.as_deref().is_some_and(|o| !id.contains(o)) {
            continue;
        }
        println!("{}", ui::rule(title));
        // A file left by an earlier run must not stand in for this one's.
        if let Err(e) = std::fs::remove_file(figures::path(&figures, id)) {
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!("error: removing the last run's figures of {id}: {e}");
                return exit::PENDING;
            }
        }
        let mut entry = match id {
            "idle" | "connect" | "broadcast" | "fanout" => {
                let bin = scale_lab_built
                    .get_or_insert_with(|| build_release(&root, "scale-lab"))
                    .clone();
                scale(&root, bin, id, title, quick)
            }
            "cluster-latency" => cluster_latency(&root, title, quick),
            "loadgen-vs-wrk" => loadgen_vs_wrk(&root, title),
            "hardening" => hardening(&root, title, quick, &mut without_figures),
            _ => criterion(&root, id, title, quick),
        };
        // Hardening reads its files package by package, as each one's tests end.
        if entry.status == Status::Ran && id != "hardening" {
            match page::fill_from_figures(&mut entry, &figures) {
                Ok(()) => {}
                Err(e) => {
                    without_figures.push(e.to_string());
                    entry.status = Status::Failed(e.to_string());
                }
            }
        }
        match &entry.status {
            Status::Ran => {
                for f in &entry.figures {
                    println!("  {}: {}", f.name, page::format_value(f.value, &f.unit));
                }
            }
            Status::NotRun(reason) => println!("  {}", ui::yellow(&format!("not run: {reason}"))),
            Status::Failed(reason) => println!("  {}", ui::red(&format!("failed: {reason}"))),
        }
        entries.push(entry);
        // The page is rewritten after every measurement, so an interrupted run
        // still leaves what it measured (the rest is kept from the last run).
        let run = finish(&entries, quick, only.as_deref(), started, load_before);
        if let Err(e) = page::write_all(&root, &run) {
            eprintln!("error: writing the results: {e}");
            return exit::PENDING;
        }
    }
    let run = finish(&entries, quick, only.as_deref(), started, load_before);
    match page::write_all(&root, &run) {
        Ok(written) => {
            for path in written {
                println!("wrote {}", workspace::display(&root, &path));
            }
        }
        Err(e) => {
            eprintln!("error: writing the results: {e}");
            return exit::PENDING;
        }
    }
    // A measurement that ran without leaving its figures is a broken producer,
    // not a slow machine: the page says "failed" and the run fails too.
    for error in &without_figures {
        eprintln!("{}", ui::red(&format!("error: {error}")));
    }
    if without_figures.is_empty() {
        exit::OK
    } else {
        exit::PENDING
    }
}

/// Where the producers write their figures (`COURSE_FIGURES_DIR`, set on every
/// command the bench runs).
fn figures_dir(root: &Path) -> PathBuf {
    root.join("target/figures")
}

/// `cargo <args>` from the root, writing its figures to [`figures_dir`].
fn producer_command(root: &Path) -> Command {
    let mut command = cargo_command(root);
    command.env(figures::DIR_ENV, figures_dir(root));
    command
}

/// The run so far.
fn finish(
    entries: &[Entry],
    quick: bool,
    only: Option<&str>,
    started: Instant,
    load_before: [f64; 3],
) -> Run {
    let mut machine = Machine::describe();
    let load_after = machine.load_average;
    machine.load_average = load_before;
    Run {
        command: format!(
            "cargo xtask bench{}{}",
            if quick { " --quick" } else { "" },
            only.map(|o| format!(" --only {o}")).unwrap_or_default()
        ),
        quick,
        generated_at: utc_now(),
        duration_secs: started.elapsed().as_secs(),
        machine,
        load_after,
        entries: entries.to_vec(),
        findings: false,
    }
}

/// `cargo build --release -p <package>`: the binary's path, or why it failed.
fn build_release(root: &Path, package: &str) -> Result<PathBuf, String> {
    let mut command = cargo_command(root);
    command.args(["build", "--release", "-p", package, "--bin", package]);
    println!(
        "{}",
        ui::dim(&format!("$ {}", crate::runner::describe(&command)))
    );
    match command.status() {
        Ok(s) if s.success() => Ok(root.join("target/release").join(package)),
        Ok(_) => Err(format!("`cargo build --release -p {package}` failed")),
        Err(e) => Err(format!("could not run cargo: {e}")),
    }
}

/// What a command printed, and whether it exited successfully.
struct Output {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `command` with its stdout captured (stderr too if `capture_stderr`, else
/// shown), killing it after `limit`.
fn run_bounded(mut command: Command, limit: Duration, capture_stderr: bool) -> Output {
    println!(
        "{}",
        ui::dim(&format!("$ {}", crate::runner::describe(&command)))
    );
    command.stdin(Stdio::null()).stdout(Stdio::piped());
    command.stderr(if capture_stderr {
        Stdio::piped()
    } else {
        Stdio::inherit()
    });
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Output {
                ok: false,
                code: None,
                stdout: String::new(),
                stderr: format!("could not start: {e}"),
            };
        }
    };
    // Read both pipes on threads, so a chatty child never blocks on a full pipe.
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                pipe.read_to_string(&mut text).ok();
            }
            text
        })
    };
    let out = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                eprintln!("timed out after {limit:?}; stopping it");
                child.kill().ok();
                child.wait().ok();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => break None,
        }
    };
    let stdout = out.join().unwrap_or_default();
    print!("{stdout}");
    let mut stderr = err.join().unwrap_or_default();
    if status.is_none() {
        stderr.push_str(&format!("\ntimed out after {} s", limit.as_secs()));
    }
    Output {
        ok: status.is_some_and(|s| s.success()),
        code: status.and_then(|s| s.code()),
        stdout,
        stderr,
    }
}

/// A scale scenario: the scale lab's `<id>`, which writes target/figures/<id>.json.
fn scale(root: &Path, bin: Result<PathBuf, String>, id: &str, title: &str, quick: bool) -> Entry {
    // The broadcast scenario measures its two baselines in the same run (the raw
    // tokio-tungstenite server and the floor), so the page can say how far above
    // the kernel's own cost each one is; connect runs its ramp against the raw
    // server too (about a minute more), so its rate has a baseline beside it.
    let extra: &[&str] = if id == "broadcast" || id == "connect" {
        &["--with-raw"]
    } else {
        &[]
    };
    let mut args = extra.to_vec();
    if quick {
        args.push("--quick");
    }
    let display = figures::section2::Scenario::command(id, &args);
    let mut entry = Entry::new(id, title, &display);
    let bin = match bin {
        Ok(bin) => bin,
        Err(reason) => {
            entry.status = Status::Failed(reason);
            return entry;
        }
    };
    let mut command = Command::new(bin);
    command
        .current_dir(root)
        .env(figures::DIR_ENV, figures_dir(root))
        .arg(id)
        .args(&args);
    // Broadcast runs three servers one after the other, 1,020 rounds of a broadcast
    // to 10,000 subscribers each: about 0.15 s a round on a quiet machine (some 8
    // minutes in all), up to 0.5 s on a busy one (each server's own watchdog).
    let limit = Duration::from_secs(match (quick, id) {
        (true, _) => 240,
        (false, "broadcast") => 1800,
        (false, _) => 600,
    });
    let output = run_bounded(command, limit, true);
    eprint!("{}", output.stderr);
    if !output.ok && output.code == Some(2) && output.stderr.contains("unrecognized subcommand") {
        entry.status = Status::NotRun(format!(
            "`scale {id}` is not in this build yet (the scenario is being written on another \
             branch)"
        ));
        return entry;
    }
    if !output.ok {
        entry.status = Status::Failed(last_lines(&output.stderr, 3));
    }
    // Its figures are read from target/figures/<id>.json by the caller.
    entry
}

/// Section 3's cross-node broadcast latency through a throwaway redis-server.
fn cluster_latency(root: &Path, title: &str, quick: bool) -> Entry {
    let messages = if quick { 1_000 } else { 10_000 };
    let display = format!(
        "cargo run -p section3-production --release -- cluster-latency --messages {messages}"
    );
    let mut entry = Entry::new("cluster-latency", title, &display);
    if workspace::find_program("redis-server").is_none() {
        entry.status = Status::NotRun(
            "install redis-server (Debian/Ubuntu: apt-get install redis-server)".into(),
        );
        return entry;
    }
    let mut command = producer_command(root);
    command.args([
        "run",
        "-q",
        "-p",
        "section3-production",
        "--release",
        "--",
        "cluster-latency",
        "--messages",
        &messages.to_string(),
    ]);
    let output = run_bounded(command, Duration::from_secs(900), false);
    if !output.ok {
        entry.status = Status::Failed(last_lines(&output.stderr, 3));
    }
    entry
}

/// Section 1's load generator against wrk on the same endpoint.
fn loadgen_vs_wrk(root: &Path, title: &str) -> Entry {
    let display = "cargo bench -p loadgen --bench loadgen_vs_wrk";
    let mut entry = Entry::new("loadgen-vs-wrk", title, display);
    if workspace::find_program("wrk").is_none() {
        entry.status = Status::NotRun("install wrk (Debian/Ubuntu: apt-get install wrk)".into());
        return entry;
    }
    let mut command = producer_command(root);
    command.args(["bench", "-p", "loadgen", "--bench", "loadgen_vs_wrk"]);
    let output = run_bounded(command, Duration::from_secs(900), false);
    if !output.ok {
        entry.status = Status::Failed("the bench failed (see its output above)".into());
    }
    entry
}

/// The packages with a `tests/hardening.rs`, in course order.
const HARDENED: [&str; 4] = [
    "section1-pipelines",
    "scale-lab",
    "section3-production",
    "tracker",
];

/// The hardening tests of every section, the long versions (`HARDENING=long`:
/// more connections, rounds, restarts and kill cycles than `cargo xtask verify`
/// runs); with `--quick`, the short ones. Pass and fail counts are libtest's;
/// what the tests saw (RSS per churn round, losses counted across Redis restarts,
/// how soon a dead node's presences left) is read from the files they write
/// ([`page::fill_from_hardening`]). A package whose tests passed without writing
/// their files is reported in `without_figures`.
fn hardening(root: &Path, title: &str, quick: bool, without_figures: &mut Vec<String>) -> Entry {
    let env = if quick { "" } else { "HARDENING=long " };
    let display = format!(
        "{env}cargo test -p <section> --release --test hardening -- --nocapture --test-threads 1"
    );
    let mut entry = Entry::new("hardening", title, &display);
    let (mut passed, mut failed, mut tests_secs) = (0.0, 0.0, 0.0);
    let mut broken = Vec::new();
    let dir = figures_dir(root);
    for package in HARDENED {
        // Files left by an earlier run must not stand in for this one's.
        for name in page::hardening_records(package) {
            if let Err(e) = std::fs::remove_file(figures::path(&dir, &name)) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    broken.push(format!("{package}: removing the last run's {name}: {e}"));
                }
            }
        }
        let mut command = producer_command(root);
        command.args([
            "test",
            "-p",
            package,
            "--release",
            "--test",
            "hardening",
            "--",
            "--nocapture",
            "--test-threads",
            "1",
        ]);
        if !quick {
            command.env("HARDENING", "long");
        }
        let output = run_bounded(command, Duration::from_secs(1200), true);
        eprint!("{}", output.stderr);
        let text = format!("{}\n{}", output.stdout, output.stderr);
        let summary = libtest_summary(&text);
        passed += summary.passed;
        failed += summary.failed;
        tests_secs += summary.secs;
        if !output.ok {
            broken.push(format!("{package}: {}", last_lines(&output.stderr, 2)));
        }
        if let Some(reason) = hardening_skipped(package) {
            entry.notes.push(format!("{package}: not run, {reason}"));
            continue;
        }
        for error in page::fill_from_hardening(&mut entry, package, &dir) {
            if !output.ok {
                // A failing test may stop before its file: the failure says why.
                entry.notes.push(format!("{package}: {error}"));
            } else {
                broken.push(format!("{package}: {error}"));
                without_figures.push(error.to_string());
            }
        }
    }
    // The counts first, then what each package's tests saw.
    let seen = std::mem::take(&mut entry.figures);
    entry.push("tests_passed", passed, None);
    entry.push("tests_failed", failed, None);
    // libtest's own time, so the build is not counted.
    entry.push("duration_secs", tests_secs.round(), None);
    entry.figures.extend(seen);
    if !broken.is_empty() {
        entry.status = Status::Failed(broken.join("; "));
    }
    entry
}

/// What libtest's summary lines say, summed over the test binaries.
#[derive(Debug, Default, PartialEq)]
struct LibtestSummary {
    passed: f64,
    failed: f64,
    /// Time spent in the tests (`finished in 12.34s`), not building them.
    secs: f64,
}

/// Sums libtest's own summary lines, the one format the hardening tests share
/// (JSON test output needs nightly):
/// `test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out;
/// finished in 1.50s`. The tests' own printed lines are not read: what they saw
/// is in their files.
fn libtest_summary(text: &str) -> LibtestSummary {
    let mut summary = LibtestSummary::default();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("test result: ") else {
            continue;
        };
        // `ok. 2 passed` / `FAILED. 2 passed`: the counts follow the first ". ".
        let counts = rest.split_once(". ").map_or(rest, |(_, counts)| counts);
        for part in counts.split("; ").map(str::trim) {
            if let Some(time) = part.strip_prefix("finished in ") {
                summary.secs += time.trim_end_matches('s').parse().unwrap_or(0.0);
                continue;
            }
            let Some((number, what)) = part.split_once(' ') else {
                continue;
            };
            let number: f64 = number.parse().unwrap_or(0.0);
            match what {
                "passed" => summary.passed += number,
                "failed" => summary.failed += number,
                _ => {}
            }
        }
    }
    summary
}

/// Why `package`'s hardening tests skip their run on this machine (they pass
/// without measuring, so they write no files), if they do.
fn hardening_skipped(package: &str) -> Option<&'static str> {
    match package {
        "section3-production" if workspace::find_program("redis-server").is_none() => {
            Some("install redis-server (Debian/Ubuntu: apt-get install redis-server)")
        }
        "scale-lab" if !cfg!(target_os = "linux") => Some("its tests read /proc (Linux only)"),
        _ => None,
    }
}

/// The package of each criterion bench target `sN-name`.
const CRITERION_PACKAGES: [(&str, &str); 7] = [
    ("s1-pipeline", "pipeline"),
    ("s1-mock_resource", "pipeline"),
    ("s2-frame", "channels"),
    ("s2-fanout", "channels"),
    ("s2-token", "channels"),
    ("s4-tracker", "tracker"),
    ("s4-live", "live"),
];

/// A criterion bench target `sN-name`, run with short warm-up and measurement. The
/// bench writes its summary figures to target/figures/<id>.json (read by the
/// caller); criterion's own estimates are read here.
fn criterion(root: &Path, id: &str, title: &str, quick: bool) -> Entry {
    let bench = id.split_once('-').expect("criterion ids are sN-name").1;
    let package = CRITERION_PACKAGES
        .iter()
        .find(|(bench_id, _)| *bench_id == id)
        .map_or("?", |(_, package)| package);
    let (warm_up, measurement) = if quick { ("0.3", "1") } else { ("1", "3") };
    let display = format!(
        "cargo bench -p {package} --bench {bench} -- --warm-up-time {warm_up} \
         --measurement-time {measurement}"
    );
    let mut entry = Entry::new(id, title, &display);
    let mut command = producer_command(root);
    command.args([
        "bench",
        "-p",
        package,
        "--bench",
        bench,
        "--",
        "--warm-up-time",
        warm_up,
        "--measurement-time",
        measurement,
    ]);
    let since = SystemTime::now();
    let output = run_bounded(command, Duration::from_secs(1200), false);
    if !output.ok {
        entry.status = Status::Failed("the bench failed (see its output above)".into());
        return entry;
    }
    entry.criterion = criterion_estimates(&root.join("target/criterion"), since);
    entry
}

/// `(benchmark id, mean ns per iteration)` of every criterion benchmark written
/// under `dir` since `since`.
fn criterion_estimates(dir: &Path, since: SystemTime) -> Vec<(String, f64)> {
    let mut found = Vec::new();
    for path in workspace::walk_files(dir) {
        if !path.ends_with("new/benchmark.json") {
            continue;
        }
        let fresh = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        if !fresh {
            continue;
        }
        let read = |p: &Path| -> Option<serde_json::Value> {
            serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
        };
        let Some(benchmark) = read(&path) else {
            continue;
        };
        let Some(estimates) = read(&path.with_file_name("estimates.json")) else {
            continue;
        };
        if let (Some(id), Some(mean)) = (
            benchmark["full_id"].as_str(),
            estimates["mean"]["point_estimate"].as_f64(),
        ) {
            found.push((id.to_string(), mean));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// The last `n` non-empty lines of `text`, joined.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<_> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let text = lines[lines.len().saturating_sub(n)..].join(" / ");
    if text.is_empty() {
        "it exited with an error and printed nothing".into()
    } else {
        text
    }
}

/// Now, as `YYYY-MM-DD HH:MM UTC` (no date crate: days from the epoch, civil
/// calendar by Howard Hinnant's algorithm).
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_summaries_are_summed() {
        let text = "running 2 tests\n\
            churn round 1: 2000 opened and closed, RSS 9000 KiB\n\
            test churn_returns_memory_and_descriptors ... ok\n\
            test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n\
            \n\
            test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; finished in 1.50s\n";
        assert_eq!(
            libtest_summary(text),
            LibtestSummary {
                passed: 3.0,
                failed: 1.0,
                secs: 1.5
            }
        );
    }
}
