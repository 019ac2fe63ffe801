//! The machine a measurement ran on, described once for every producer.
//!
//! Figures without the machine are not figures: the same run gives 100 requests a
//! second or 10 on different hardware, and other builds on the same cores halve a
//! rate. Linux files only, read directly (no `libc`: this crate must stay small);
//! elsewhere the fields say "unknown" or 0. A file written before a field existed
//! still reads: the fields added later have defaults.

use std::fmt;

use serde::{Deserialize, Serialize};

/// CPU, cores, memory, kernel, open-file limit, load and compiler of this machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU model name.
    pub cpu: String,
    /// Cores this process may use.
    pub cores: usize,
    /// Total memory, in bytes (0 if unknown).
    #[serde(default)]
    pub memory_bytes: u64,
    /// The kernel release.
    pub kernel: String,
    /// The soft limit on open files of this process (each connection costs one on
    /// each side), as `/proc/self/limits` says it ("unlimited" is possible).
    pub open_files: String,
    /// The 1, 5 and 15 minute load averages when the description was taken.
    pub load_average: [f64; 3],
    /// `rustc --version` (other compilers, other figures), or "unknown". Not in the
    /// one-line [`Display`](fmt::Display): the results page names it on a line of its own.
    #[serde(default = "unknown")]
    pub rustc: String,
}

impl Machine {
    /// Reads the description of the machine this process runs on.
    pub fn describe() -> Machine {
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| "unknown CPU".to_string());
        let memory_bytes = read("/proc/meminfo")
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024);
        let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
        let open_files = read("/proc/self/limits")
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
            .unwrap_or_else(unknown);
        let rustc = std::process::Command::new("rustc")
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(unknown);
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_bytes,
            kernel: if kernel.is_empty() { unknown() } else { kernel },
            open_files,
            load_average: load_average(),
            rustc,
        }
    }

    /// The description as the JSON a [`crate::Record`]'s `machine` holds.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl fmt::Display for Machine {
    /// `AMD EPYC, 2 cores, 23.5 GiB RAM, Linux 6.18.44, open-file limit 20000, load
    /// average 3.21 at the start`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {} cores, ", self.cpu, self.cores)?;
        if self.memory_bytes > 0 {
            let gib = self.memory_bytes as f64 / (1u64 << 30) as f64;
            write!(f, "{gib:.1} GiB RAM, ")?;
        }
        write!(
            f,
            "Linux {}, open-file limit {}, load average {:.2} at the start",
            self.kernel, self.open_files, self.load_average[0]
        )
    }
}

/// The 1, 5 and 15 minute load averages now (zeros if unreadable): a run that
/// lasts minutes says what the load was at its end too.
pub fn load_average() -> [f64; 3] {
    parse_load_average(&read("/proc/loadavg"))
}

/// The three load averages of `/proc/loadavg`'s text (zeros if unreadable).
fn parse_load_average(loadavg: &str) -> [f64; 3] {
    let mut words = loadavg.split_whitespace().map(|w| w.parse().unwrap_or(0.0));
    [
        words.next().unwrap_or(0.0),
        words.next().unwrap_or(0.0),
        words.next().unwrap_or(0.0),
    ]
}

fn unknown() -> String {
    "unknown".to_string()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_names_cpu_cores_kernel_and_load() {
        let machine = Machine::describe();
        let line = machine.to_string();
        assert!(line.contains(" cores, "), "{line}");
        assert!(line.contains("open-file limit"), "{line}");
        assert!(line.ends_with("at the start"), "{line}");
        assert_eq!(machine.to_json()["cores"], machine.cores);
        assert!(!machine.rustc.is_empty());
    }

    #[test]
    fn the_line_and_the_json_keep_their_shape() {
        let machine = Machine {
            cpu: "AMD EPYC".into(),
            cores: 2,
            memory_bytes: 3 << 30,
            kernel: "6.18.0".into(),
            open_files: "20000".into(),
            load_average: [1.5, 2.0, 2.5],
            rustc: "rustc 1.95.0".into(),
        };
        assert_eq!(
            machine.to_string(),
            "AMD EPYC, 2 cores, 3.0 GiB RAM, Linux 6.18.0, open-file limit 20000, load \
             average 1.50 at the start"
        );
        assert_eq!(
            machine.to_json(),
            serde_json::json!({
                "cpu": "AMD EPYC", "cores": 2, "memory_bytes": 3u64 << 30, "kernel": "6.18.0",
                "open_files": "20000", "load_average": [1.5, 2.0, 2.5], "rustc": "rustc 1.95.0"
            })
        );
    }

    #[test]
    fn a_description_written_before_memory_and_rustc_still_reads() {
        // The shape of the committed results.json, written before both fields.
        let old = serde_json::json!({
            "cpu": "AMD EPYC", "cores": 2, "kernel": "6.18.0", "open_files": "20000",
            "load_average": [1.5, 2.0, 2.5]
        });
        let machine: Machine = serde_json::from_value(old).unwrap();
        assert_eq!(
            (machine.memory_bytes, machine.rustc.as_str()),
            (0, "unknown")
        );
        assert!(!machine.to_string().contains("RAM"));
    }

    #[test]
    fn load_averages_are_read_from_proc_text() {
        assert_eq!(
            parse_load_average("0.50 1.25 2.00 1/234 5678\n"),
            [0.5, 1.25, 2.0]
        );
        assert_eq!(parse_load_average(""), [0.0; 3]);
    }
}
