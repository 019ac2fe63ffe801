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
//! The server is the fixture of this crate's tests (`/hello`, and `/part1/serial`
//! holding a 500 ms mock resource, like section 1's reference), on a runtime of its
//! own; every tool, ours included, runs as a process of its own against it.
//!
//! `cargo bench -p loadgen --bench loadgen_vs_wrk`

#[path = "../tests/fixture/mod.rs"]
mod fixture;

use std::process::{Command, Stdio};

use figures::machine::Machine;
use figures::section1::{LoadgenVsWrk, MeanLatency, Throughput};
use pipeline::mock_resource::MockResource;

/// This crate's binary, built with the bench (release) profile.
const BIN: &str = env!("CARGO_BIN_EXE_loadgen");

fn main() {
    let machine = Machine::describe();
    println!("machine: {machine}");
    println!("generator and server share these cores; each tool runs alone against the server\n");
    let server = Server::start();
    let hello = format!("http://{}/hello", server.addr);
    let serial = format!("http://{}/part1/serial", server.addr);
    let mut figures = LoadgenVsWrk {
        throughput: None,
        latency: None,
    };

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
            figures.throughput = Some(Throughput {
                connections: 50,
                duration_secs: 5.0,
                wrk_req_per_sec: wrk_rps,
                ours_req_per_sec: ours_rps,
            });
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
            figures.latency = Some(MeanLatency {
                connections: 50,
                requests: 3000,
                ab_mean_ms: ab_mean,
                ours_mean_ms: ours_mean,
            });
        }
    }

    // The same figures for the results page (`cargo xtask bench` reads the file).
    let path =
        figures::write(&figures, Some(machine.to_json())).expect("write the bench's figures");
    eprintln!("figures: {}", path.display());
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

/// The fixture server on a runtime (and threads) of its own, stopped when dropped.
struct Server {
    addr: String,
    // Fields drop in order: the fixture's stop signal first, then the runtime,
    // which ends the server's tasks.
    _fixture: fixture::Fixture,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    fn start() -> Server {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime for the server");
        let fixture = runtime
            .block_on(fixture::Fixture::start(MockResource::new()))
            .expect("bind 127.0.0.1:0");
        Server {
            addr: fixture.addr.to_string(),
            _fixture: fixture,
            _runtime: runtime,
        }
    }
}
