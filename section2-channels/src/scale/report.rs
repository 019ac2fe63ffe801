//! The result shape every scenario prints (`--json`: its last stdout line), and the
//! machine it ran on.
//!
//! Same JSON shape and names as the lab helper's `scale::mod` (`Machine`,
//! `ScenarioResult`, `quantile`, `source_addr`): when both are merged, this file
//! goes and its users import those instead.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

/// CPU, cores, kernel, open-file limit and load of this machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    /// The CPU model name.
    pub cpu: String,
    /// Cores this process may use.
    pub cores: usize,
    /// The kernel release.
    pub kernel: String,
    /// The soft limit on open files of this process.
    pub open_files: u64,
    /// The 1, 5 and 15 minute load averages.
    pub load_average: [f64; 3],
}

impl Machine {
    /// Reads the description of this machine (Linux files; "unknown" elsewhere).
    pub fn describe() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| "unknown CPU".into());
        let mut load = read("/proc/loadavg")
            .split_whitespace()
            .map(|w| w.parse().unwrap_or(0.0))
            .collect::<Vec<f64>>();
        load.resize(3, 0.0);
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            open_files: crate::lab::raise_open_files_limit(0),
            load_average: [load[0], load[1], load[2]],
        }
    }
}

impl std::fmt::Display for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [one, five, fifteen] = self.load_average;
        write!(
            f,
            "{}, {} cores, Linux {}, open-file limit {}, load average {one:.2} {five:.2} {fifteen:.2}",
            self.cpu, self.cores, self.kernel, self.open_files
        )
    }
}

/// What one scenario found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioResult {
    /// The scenario's name.
    pub scenario: String,
    /// Where it ran.
    pub machine: Machine,
    /// The settings it ran with.
    pub params: BTreeMap<String, serde_json::Value>,
    /// The measured figures (units in the name).
    pub figures: BTreeMap<String, f64>,
    /// A baseline measured in the same run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BTreeMap<String, f64>>,
    /// Points `[x, y]` for a chart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<[f64; 2]>>,
    /// Caveats a reader needs.
    pub notes: Vec<String>,
}

impl ScenarioResult {
    /// An empty result of `scenario` on this machine.
    pub fn new(scenario: &str) -> Self {
        ScenarioResult {
            scenario: scenario.into(),
            machine: Machine::describe(),
            params: BTreeMap::new(),
            figures: BTreeMap::new(),
            baseline: None,
            series: None,
            notes: Vec::new(),
        }
    }

    /// Records a parameter.
    pub fn param(&mut self, name: &str, value: impl Into<serde_json::Value>) -> &mut Self {
        self.params.insert(name.into(), value.into());
        self
    }

    /// Records a figure.
    pub fn figure(&mut self, name: &str, value: f64) -> &mut Self {
        self.figures.insert(name.into(), value);
        self
    }

    /// Prints the machine line and the notes, and if `json` the JSON line last.
    pub fn finish(&self, json: bool) {
        println!("machine: {}", self.machine);
        for note in &self.notes {
            println!("note: {note}");
        }
        if json {
            println!(
                "{}",
                serde_json::to_string(self).expect("a result serialises")
            );
        }
    }
}

/// The loopback source address of connection `i`: round robin over 127.0.0.2..=9,
/// each with its own ephemeral ports.
pub fn source_addr(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i % 8) as u8))
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
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&values, 0.5), 50.0);
        assert_eq!(quantile(&values, 0.99), 99.0);
        assert_eq!(quantile(&values, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn source_addresses_rotate_over_eight_loopback_addresses() {
        assert_eq!(source_addr(0).to_string(), "127.0.0.2");
        assert_eq!(source_addr(7).to_string(), "127.0.0.9");
        assert_eq!(source_addr(8), source_addr(0));
    }
}
