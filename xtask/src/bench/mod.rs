//! `cargo xtask bench`: the criterion benches of every section and the scale lab,
//! collected into one results page.
//!
//! Each measurement is a separate command (a release build of a section binary or
//! a `cargo bench` target) whose output is parsed here: the scale scenarios print
//! one JSON object as their last line, section 3's `cluster-latency` and the
//! load-generator comparison print a summary line, and criterion leaves its
//! estimates under `target/criterion`. A measurement that needs a missing tool, or
//! a scenario this build does not have yet, is recorded as "not run" with the
//! reason; it never stops the others.
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
    let mut entries = Vec::new();
    let mut scale_lab_built: Option<Result<PathBuf, String>> = None;
    for (id, title) in SCENARIOS {
        if only.as_deref().is_some_and(|o| !id.contains(o)) {
            continue;
        }
        println!("{}", ui::rule(title));
        let entry = match id {
            "idle" | "connect" | "broadcast" | "fanout" => {
                let bin = scale_lab_built
                    .get_or_insert_with(|| build_release(&root, "scale-lab"))
                    .clone();
                scale(&root, bin, id, title, quick)
            }
            "cluster-latency" => cluster_latency(&root, title, quick),
            "loadgen-vs-wrk" => loadgen_vs_wrk(&root, title),
            "hardening" => hardening(&root, title, quick),
            _ => criterion(&root, id, title, quick),
        };
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
            exit::OK
        }
        Err(e) => {
            eprintln!("error: writing the results: {e}");
            exit::PENDING
        }
    }
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

/// A scale scenario: the scale lab's `<id> --json`.
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
    let display = format!(
        "cargo run -p scale-lab --release -- {id}{}{} --json",
        extra.iter().map(|a| format!(" {a}")).collect::<String>(),
        if quick { " --quick" } else { "" }
    );
    let mut entry = Entry::new(id, title, &display);
    let bin = match bin {
        Ok(bin) => bin,
        Err(reason) => {
            entry.status = Status::Failed(reason);
            return entry;
        }
    };
    let mut command = Command::new(bin);
    command.current_dir(root).arg(id).args(extra).arg("--json");
    if quick {
        command.arg("--quick");
    }
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
        return entry;
    }
    match output
        .stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        Some(json) => {
            page::fill_from_scenario_json(&mut entry, &json);
        }
        None => entry.status = Status::Failed("no JSON line at the end of its output".into()),
    }
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
    let mut command = cargo_command(root);
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
        return entry;
    }
    page::fill_from_cluster_latency(&mut entry, &output.stdout);
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
    let mut command = cargo_command(root);
    command.args(["bench", "-p", "loadgen", "--bench", "loadgen_vs_wrk"]);
    let output = run_bounded(command, Duration::from_secs(900), false);
    if !output.ok {
        entry.status = Status::Failed("the bench failed (see its output above)".into());
        return entry;
    }
    page::fill_from_loadgen(&mut entry, &output.stdout);
    entry
}

/// The packages with a `tests/hardening.rs`, in course order.
const HARDENED: [&str; 4] = [
    "section1-pipelines",
    "scale-lab",
    "section3-production",
    "section4-tracker-live",
];

/// The hardening tests of every section, the long versions (`HARDENING=long`:
/// more connections, rounds, restarts and kill cycles than `cargo xtask verify`
/// runs); with `--quick`, the short ones. What the tests print (RSS per churn
/// round, losses counted across Redis restarts, how soon a dead node's presences
/// left) is kept for the page.
fn hardening(root: &Path, title: &str, quick: bool) -> Entry {
    let env = if quick { "" } else { "HARDENING=long " };
    let display = format!(
        "{env}cargo test -p <section> --release --test hardening -- --nocapture --test-threads 1"
    );
    let mut entry = Entry::new("hardening", title, &display);
    let (mut passed, mut failed) = (0.0, 0.0);
    let mut broken = Vec::new();
    let mut texts = Vec::new();
    for package in HARDENED {
        let mut command = cargo_command(root);
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
        let (p, f) = test_counts(&text);
        passed += p;
        failed += f;
        if !output.ok {
            broken.push(format!("{package}: {}", last_lines(&output.stderr, 2)));
        }
        entry.printed.extend(
            hardening_lines(&text)
                .into_iter()
                .map(|line| format!("{package}: {line}")),
        );
        texts.push(text);
    }
    entry.push("tests_passed", passed, None);
    entry.push("tests_failed", failed, None);
    // libtest's own time (`finished in 12.34s`), so the build is not counted.
    let tests_secs: f64 = texts
        .iter()
        .flat_map(|t| t.lines())
        .filter(|l| l.starts_with("test result:"))
        .filter_map(|l| page::number_after(l, "finished in "))
        .sum();
    entry.push("duration_secs", tests_secs.round(), None);
    if !broken.is_empty() {
        entry.status = Status::Failed(broken.join("; "));
    }
    entry
}

/// `(passed, failed)` summed over libtest's `test result:` lines
/// (`test result: FAILED. 2 passed; 1 failed; ...`).
fn test_counts(text: &str) -> (f64, f64) {
    let mut counts = (0.0, 0.0);
    for line in text.lines().filter(|l| l.starts_with("test result:")) {
        counts.0 += page::number_after(line, "ok. ").unwrap_or(0.0)
            + page::number_after(line, "FAILED. ").unwrap_or(0.0);
        counts.1 += page::number_after(line, "passed; ").unwrap_or(0.0);
    }
    counts
}

/// The lines a hardening test printed about what it saw (not libtest's or
/// cargo's own lines).
fn hardening_lines(text: &str) -> Vec<String> {
    let noise = [
        "running ",
        "test result:",
        "Running ",
        "Finished ",
        "Compiling ",
        "Blocking ",
        "successes:",
        "failures:",
    ];
    let mut kept = Vec::new();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    while let Some(line) = lines.next() {
        // Panics the tests provoke on purpose (a poisoned event, a crashing
        // handler): the panic line and its message are not findings.
        if line.starts_with("thread '") && line.contains("panicked at") {
            lines.next();
            continue;
        }
        let libtest = line.starts_with("test ") && line.contains(" ... ");
        if libtest
            || line.starts_with("note: run with `RUST_BACKTRACE")
            || noise.iter().any(|n| line.starts_with(n))
        {
            continue;
        }
        kept.push(line.to_string());
    }
    kept
}

/// A criterion bench target `sN-name`, run with short warm-up and measurement.
fn criterion(root: &Path, id: &str, title: &str, quick: bool) -> Entry {
    let (section, bench) = id.split_once('-').expect("criterion ids are sN-name");
    let package = match section {
        "s1" => "pipeline",
        "s2" => "channels",
        "s3" => "section3-production",
        _ => "section4-tracker-live",
    };
    let (warm_up, measurement) = if quick { ("0.3", "1") } else { ("1", "3") };
    let display = format!(
        "cargo bench -p {package} --bench {bench} -- --warm-up-time {warm_up} \
         --measurement-time {measurement}"
    );
    let mut entry = Entry::new(id, title, &display);
    let mut command = cargo_command(root);
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
    let estimates = criterion_estimates(&root.join("target/criterion"), since);
    page::fill_from_criterion(&mut entry, &output.stdout, &estimates);
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
    fn hardening_output_is_counted_and_kept() {
        let text = "running 2 tests\n\
            churn round 1: 2000 opened and closed, RSS 9000 KiB\n\
            thread 'overload' (1) panicked at src/processor.rs:56:13:\n\
            event 7 is poisoned\n\
            note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\
            test churn_returns_memory_and_descriptors ... ok\n\
            test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n\
            \n\
            test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured\n";
        assert_eq!(test_counts(text), (3.0, 1.0));
        assert_eq!(
            hardening_lines(text),
            vec!["churn round 1: 2000 opened and closed, RSS 9000 KiB".to_string()]
        );
    }
}
