//! The scale lab: scenarios that measure section 2's reference server at size, each one
//! a subcommand of the `scale-lab` binary that prints a summary for a person, writes
//! its [`ScenarioResult`] to `target/figures/<scenario>.json` for `cargo xtask bench`
//! (the `figures` crate) and, with `--json`, prints it as its last line too.
//!
//! Every scenario runs the server under test in a child process (so its memory is
//! its own, read from `/proc/<pid>/status`) and the load in this process, on
//! loopback, bounded in count and time: a [`Watchdog`] kills the child if a
//! scenario overruns, and dropping the child kills it too.
//!
//! What lives here is shared by the scenarios: the JSON shape (the machine in it is
//! the `figures` crate's one description, [`Machine`]), the child server, and [`source_addr`], which spreads connections
//! over several loopback source addresses (each has its own 28k ephemeral ports).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

pub use figures::machine::Machine;
use figures::section2::Scenario;
use serde::{Deserialize, Serialize};

use channels::SocketConfig;

use crate::lab::ServerChild;

pub mod broadcast;
pub mod connect;
pub mod fanout;
pub mod floor_server;
pub mod idle;
pub mod raw_server;
pub mod server;
pub mod subscribers;

/// What one scenario found, and where: the results page's [`Scenario`] (one
/// definition, in the `figures` crate) with this machine beside it. Its fields are
/// the scenario's own (`result.figures`, `result.notes`, ...) through `Deref`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// Where it ran.
    pub machine: Machine,
    /// What it measured (`scenario`, `params`, `figures`, `baseline`, `series`, `notes`).
    #[serde(flatten)]
    pub result: Scenario,
}

impl std::ops::Deref for ScenarioResult {
    type Target = Scenario;

    fn deref(&self) -> &Scenario {
        &self.result
    }
}

impl std::ops::DerefMut for ScenarioResult {
    fn deref_mut(&mut self) -> &mut Scenario {
        &mut self.result
    }
}

impl ScenarioResult {
    /// An empty result of `scenario` on this machine.
    pub fn new(scenario: &str) -> Self {
        ScenarioResult {
            machine: Machine::describe(),
            result: Scenario::new(scenario),
        }
    }

    /// Prints the result's machine line, writes the result to
    /// `target/figures/<scenario>.json` (what `cargo xtask bench` reads) and, if
    /// `json`, prints it as the last line.
    pub fn finish(&self, json: bool) -> anyhow::Result<()> {
        println!("machine: {}", self.machine);
        for note in &self.notes {
            println!("note: {note}");
        }
        // The command as typed, after the binary: `idle --quick --json`.
        let args: Vec<String> = std::env::args().skip(2).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let path = figures::write_as(
            &self.scenario,
            &Scenario::command(&self.scenario, &args),
            Some(self.machine.to_json()),
            &self.result,
        )?;
        eprintln!("figures: {}", path.display());
        if json {
            println!("{}", serde_json::to_string(self)?);
        }
        Ok(())
    }
}

/// The loopback source addresses connections rotate over. Each has its own
/// ephemeral ports (32768-60999 here), so eight of them give 225k connections to
/// one server address before a port is reused, TIME_WAIT included.
pub const SOURCE_ADDRS: [Ipv4Addr; 8] = [
    Ipv4Addr::new(127, 0, 0, 2),
    Ipv4Addr::new(127, 0, 0, 3),
    Ipv4Addr::new(127, 0, 0, 4),
    Ipv4Addr::new(127, 0, 0, 5),
    Ipv4Addr::new(127, 0, 0, 6),
    Ipv4Addr::new(127, 0, 0, 7),
    Ipv4Addr::new(127, 0, 0, 8),
    Ipv4Addr::new(127, 0, 0, 9),
];

/// The source address of connection number `i`: round robin over [`SOURCE_ADDRS`].
pub fn source_addr(i: usize) -> IpAddr {
    IpAddr::V4(SOURCE_ADDRS[i % SOURCE_ADDRS.len()])
}

/// A TCP socket for connection number `i`, bound to its source address of the
/// rotation ([`source_addr`]) with the port left to `connect()`.
///
/// `IP_BIND_ADDRESS_NO_PORT` makes `bind()` record the address only; the port is
/// then chosen by `connect()`, which checks the whole address pair and may reuse a
/// local port still in TIME_WAIT from an earlier run (loopback allows it). A plain
/// `bind(addr, 0)` must pick a port no socket on that address holds, TIME_WAIT
/// included: after the connect scenario left about 90,000 of them, the idle scenario
/// failed with EADDRNOTAVAIL at 14,000 connections.
pub fn bound_socket(i: usize) -> std::io::Result<tokio::net::TcpSocket> {
    use std::os::fd::AsRawFd;
    let socket = tokio::net::TcpSocket::new_v4()?;
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from `on`, which lives
    // across the call; the descriptor is the socket's own.
    let set = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set != 0 {
        return Err(std::io::Error::last_os_error());
    }
    socket.bind(std::net::SocketAddr::new(source_addr(i), 0))?;
    Ok(socket)
}

/// The arguments that start this binary's server (section 2's reference app) on a
/// free port with an in-memory database and no seed data (the server under test of
/// every scenario).
pub const SERVE_ARGS: [&str; 7] = [
    "serve",
    "--port",
    "0",
    "--database",
    "sqlite::memory:",
    "--seed",
    "0",
];

/// Starts the server under test (this binary, [`SERVE_ARGS`], `config`'s WebSocket
/// settings) and a watchdog that kills it after `limit`, so a stuck scenario
/// cannot leave a server running.
pub async fn start_server(
    config: &SocketConfig,
    limit: Duration,
) -> anyhow::Result<(ServerChild, Watchdog)> {
    let server = ServerChild::start(&std::env::current_exe()?, &SERVE_ARGS, config).await?;
    let watchdog = Watchdog::start(server.pid, limit);
    Ok((server, watchdog))
}

/// Kills a process (SIGKILL) if it still runs after a time limit; dropping the
/// watchdog disarms it.
pub struct Watchdog {
    task: tokio::task::JoinHandle<()>,
}

impl Watchdog {
    /// Arms the watchdog for `pid`.
    pub fn start(pid: u32, limit: Duration) -> Watchdog {
        let task = tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            eprintln!("watchdog: the scenario overran {limit:?}; killing process {pid}");
            // SAFETY: kill only sends a signal; the pid is our child's.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        });
        Watchdog { task }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `q`-quantile (0..=1) of sorted `values`, nearest rank; 0 if empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn sample() -> ScenarioResult {
        ScenarioResult {
            machine: Machine {
                cpu: "AMD EPYC".into(),
                cores: 2,
                memory_bytes: 8 << 30,
                kernel: "6.18.0".into(),
                open_files: "20000".into(),
                load_average: [1.5, 2.0, 2.5],
                rustc: "rustc 1.90.0".into(),
            },
            result: Scenario {
                scenario: "idle".into(),
                params: BTreeMap::from([("connections".into(), serde_json::json!(19_000))]),
                figures: BTreeMap::from([("rss_per_connection_bytes".into(), 6144.0)]),
                baseline: None,
                series: Some(vec![[1000.0, 7000.0], [19_000.0, 6144.0]]),
                notes: vec!["quick run".into()],
            },
        }
    }

    #[test]
    fn the_json_shape_is_the_contract() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "scenario": "idle",
                "machine": {
                    "cpu": "AMD EPYC", "cores": 2, "memory_bytes": 8u64 << 30,
                    "kernel": "6.18.0", "open_files": "20000",
                    "load_average": [1.5, 2.0, 2.5], "rustc": "rustc 1.90.0"
                },
                "params": {"connections": 19000},
                "figures": {"rss_per_connection_bytes": 6144.0},
                "series": [[1000.0, 7000.0], [19000.0, 6144.0]],
                "notes": ["quick run"]
            }),
            "the `--json` line keeps its shape for scripts that read it"
        );
        let back: ScenarioResult = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, sample());
        // The figures file holds the same fields, the machine in its envelope.
        let page: Scenario = serde_json::from_value(json).unwrap();
        assert_eq!(page, sample().result);
    }

    #[test]
    fn source_addresses_rotate_over_loopback() {
        assert_eq!(source_addr(0), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(source_addr(7), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9)));
        assert_eq!(source_addr(8), source_addr(0));
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&values, 0.5), 50.0);
        assert_eq!(quantile(&values, 0.99), 99.0);
        assert_eq!(quantile(&values, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }
}
