//! The binary's `experiment gated`: the savings table it prints for the walkthrough.

use std::process::Command;

fn experiment(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_section4-tracker-live"))
        .args(["experiment", "gated"])
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run the section 4 binary");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_reference_gate_makes_calls_only_for_watched_topics() {
    let (ok, stdout, stderr) = experiment(&[
        "--solution",
        "--topics",
        "10",
        "--utilization",
        "30",
        "--per-topic",
        "4",
        "--workers",
        "2",
    ]);
    assert!(ok, "the experiment failed:\n{stderr}");
    // 3 of 10 topics watched, 4 readings each: 12 calls, 28 skipped, 28 x 500 ms saved;
    // 2 in flight: 12 calls drain in 3 s, 40 calls ungated in 10 s (paused clock).
    assert!(
        stdout.contains("| 10 | 30% | 40 | 12 | 28 | 14.0 s | 3.0 s | 10.0 s |"),
        "unexpected table:\n{stdout}"
    );
}

#[test]
fn untouched_start_code_is_reported_not_hidden() {
    let (ok, _, stderr) = experiment(&["--topics", "2", "--utilization", "50", "--per-topic", "1"]);
    // Once s4.e4 is done this passes too: then the learner's gate ran fine.
    if !ok {
        assert!(
            stderr.contains("readings failed"),
            "a failing run must say why:\n{stderr}"
        );
        assert!(
            stderr.matches("panicked at").count() <= 1,
            "one panic message, not one per reading:\n{stderr}"
        );
    }
}
