//! Is the course's load generator good enough to trust? Compared in the same run
//! with the tools everyone knows, against the same server process:
//!
//! - throughput on the trivial `/hello` endpoint against `wrk -t2 -c50 -d5s`
//!   (target: ours reaches at least 0.8 of wrk's requests per second, so the
//!   generator is not what limits a measurement);
//! - mean latency on `/part1/serial` against `ab -k -c 50 -n 3000` (target:
//!   within 10%, so both measure the same thing).
//!
//! A benchmark, not a test: it prints figures and never fails on them. Without
//! `wrk` or `ab` it prints a skip line saying how to install them.
//!
//! `cargo bench -p section1-pipelines --bench loadgen_vs_wrk`

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use section1_pipelines::load::machine::Machine;

/// This crate's binary, built with the bench (release) profile.
const BIN: &str = env!("CARGO_BIN_EXE_section1-pipelines");

fn main() {
    println!("machine: {}", Machine::describe());
    println!("generator and server share these cores; each tool runs alone against the server\n");
    let server = Server::start();
    let hello = format!("http://{}/hello", server.addr);
    let serial = format!("http://{}/part1/serial", server.addr);

    match tool_output("wrk", &["-t2", "-c50", "-d5s", &hello]) {
        None => skip("wrk"),
        Some(wrk) => {
            let wrk_rps = field_after(&wrk, "Requests/sec:").expect("wrk prints Requests/sec");
            let ours = ours(&[&hello, "-c", "50", "--duration", "5s"]);
            let ours_rps = ours["requests_per_sec"].as_f64().unwrap();
            println!("GET /hello, 50 connections, 5 s, keep-alive");
            println!("  wrk -t2 -c50 -d5s     {wrk_rps:>10.0} req/s");
            println!("  load -c 50 --duration 5s {ours_rps:>7.0} req/s");
            println!(
                "  ratio ours/wrk        {:>10.2}   (target >= 0.80)\n",
                ours_rps / wrk_rps
            );
        }
    }

    match tool_output("ab", &["-k", "-q", "-c", "50", "-n", "3000", &serial]) {
        None => skip("ab"),
        Some(ab) => {
            let ab_mean =
                field_after(&ab, "Time per request:").expect("ab prints Time per request");
            let ours = ours(&[&serial, "-c", "50", "-n", "3000"]);
            let ours_mean = ours["latency"]["mean_us"].as_f64().unwrap() / 1000.0;
            println!("GET /part1/serial, 50 connections, 3000 requests, keep-alive");
            println!("  ab -k -c 50 -n 3000   mean {ab_mean:>9.3} ms");
            println!("  load -c 50 -n 3000    mean {ours_mean:>9.3} ms");
            println!(
                "  difference            {:>+9.2}%   (target within 10%)",
                100.0 * (ours_mean - ab_mean) / ab_mean
            );
        }
    }
}

fn skip(tool: &str) {
    println!(
        "skipped the {tool} comparison: `{tool}` is not installed \
         (Debian/Ubuntu: sudo apt-get install wrk apache2-utils)\n"
    );
}

/// Runs our generator as its own process, as a learner would, and returns its JSON report.
fn ours(args: &[&str]) -> serde_json::Value {
    let output = Command::new(BIN)
        .arg("load")
        .args(args)
        .arg("--json")
        .stderr(Stdio::inherit())
        .output()
        .expect("run the load generator");
    assert!(output.status.success(), "the load generator failed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = stdout.lines().last().expect("a JSON line at the end");
    serde_json::from_str(json).expect("valid JSON")
}

/// The stdout of `tool args`, or `None` when the tool is not installed.
fn tool_output(tool: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(tool).args(args).output().ok()?;
    if !output.status.success() {
        println!(
            "{tool} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The number after `label` on the first line that contains it (`Requests/sec:  1234.5`).
fn field_after(text: &str, label: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.contains(label))?;
    line.split(label)
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The reference server in a process of its own, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--solution", "--port", "0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                let rest = line.strip_prefix("serving")?.split("http://").nth(1)?;
                Some(rest.split_whitespace().next()?.to_string())
            })
            .expect("the server prints its address");
        // Drain the rest so the server never blocks writing to a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
