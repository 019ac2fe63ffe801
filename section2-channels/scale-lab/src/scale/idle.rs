//! Scenario 1: idle joined connections, in steps up to 19,000.
//!
//! One server child, connections added step by step (each joins one topic and
//! stays idle), the server's RSS read after each step settles. Reported per
//! connection, separately: the server's RSS growth (what our code and its buffers
//! cost) and the kernel's slab growth (socket structures, paid for *both* ends
//! here because the client runs on the same machine).
//!
//! The server holds about one descriptor per connection and so does this process:
//! at 19,000 both stay under this machine's 20,000 hard limit, so the client side
//! needs no second process.

use std::time::Duration;

use crate::lab::{IdleMeasurement, measure_idle_steps};
use crate::scale::{SERVE_ARGS, ScenarioResult};
use channels::SocketConfig;

/// The steps of a full run and of a `--quick` one (both reach 19,000: that is
/// the figure the target is about, and opening it takes seconds, not minutes).
pub fn steps(quick: bool) -> Vec<usize> {
    if quick {
        vec![1_000, 10_000, 19_000]
    } else {
        vec![1_000, 2_500, 5_000, 10_000, 15_000, 19_000]
    }
}

/// Runs the scenario against this binary's reference server with `config`'s
/// WebSocket settings, and describes the result.
pub async fn run(steps: &[usize], config: &SocketConfig) -> anyhow::Result<ScenarioResult> {
    let program = std::env::current_exe()?;
    // The server child is started inside `measure_idle_steps`; the timeout bounds
    // the whole scenario, and dropping the measurement's future kills the child
    // (kill_on_drop), so an overrun leaves nothing running.
    let limit = Duration::from_secs(60 + steps.iter().max().copied().unwrap_or(0) as u64 / 100);
    let measured = tokio::time::timeout(
        limit,
        measure_idle_steps(&program, &SERVE_ARGS, config, steps, "ping"),
    )
    .await
    .map_err(|_| anyhow::anyhow!("the idle scenario overran {limit:?}"))??;
    Ok(describe(&measured, config))
}

/// The result for `measured` (one entry per step, growing).
pub fn describe(measured: &[IdleMeasurement], config: &SocketConfig) -> ScenarioResult {
    let mut result = ScenarioResult::new("idle");
    result
        .param(
            "steps",
            measured.iter().map(|m| m.connections).collect::<Vec<_>>(),
        )
        .param("read_buffer_bytes", config.read_buffer_size)
        .param("topic", "ping");
    if let Some(last) = measured.last() {
        result
            .figure("connections", last.connections as f64)
            .figure("rss_per_connection_bytes", last.per_connection_bytes())
            .figure("server_rss_baseline_kib", last.baseline_kib as f64)
            .figure("server_rss_loaded_kib", last.loaded_kib as f64)
            .figure(
                "kernel_slab_per_connection_bytes",
                last.kernel_slab_per_connection_bytes(),
            )
            .figure(
                "kernel_socket_slab_per_connection_bytes",
                last.socket_slab_per_connection_bytes(),
            )
            .figure(
                "kernel_tcp_buffer_pages_delta",
                last.kernel_after
                    .tcp_buffer_pages
                    .saturating_sub(last.kernel_before.tcp_buffer_pages) as f64,
            )
            .figure("open_and_join_secs", last.opening_secs)
            .figure(
                "connect_join_per_sec_closed_loop",
                last.connections as f64 / last.opening_secs.max(1e-9),
            );
    }
    result.series = Some(
        measured
            .iter()
            .map(|m| [m.connections as f64, m.per_connection_bytes()])
            .collect(),
    );
    result.notes.push(
        "RSS per connection is the server child's VmRSS growth over its one-connection \
         baseline, divided by the connections added, after a 3 s settle."
            .into(),
    );
    result.notes.push(
        "kernel slab per connection covers both ends of each loopback connection (client \
         and server sockets) and anything else the machine did meanwhile."
            .into(),
    );
    result
}

/// Prints the steps for a person.
pub fn print(result: &ScenarioResult) {
    if let Some(series) = &result.series {
        for [n, bytes] in series {
            println!(
                "{n:>6.0} idle joined connections: {bytes:>6.0} B RSS per connection ({:.2} KiB)",
                bytes / 1024.0
            );
        }
    }
    let f = |name: &str| result.figures.get(name).copied().unwrap_or(0.0);
    println!(
        "at {:.0}: server RSS {:.0} B per connection; kernel slab {:.0} B per connection \
         (both ends; socket caches {:.0} B)",
        f("connections"),
        f("rss_per_connection_bytes"),
        f("kernel_slab_per_connection_bytes"),
        f("kernel_socket_slab_per_connection_bytes"),
    );
}
