//! A description of the machine a measurement ran on, for walkthroughs and benches.
//!
//! Figures without the machine are not figures: the same run gives 100 req/s or
//! 10 on different hardware for some endpoints and not others. Linux files only,
//! read directly; elsewhere the fields say "unknown".

use std::fmt;

/// CPU, core count, kernel and open-file limit of this machine.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Machine {
    /// The CPU model name.
    pub cpu: String,
    /// Cores this process may use.
    pub cores: usize,
    /// The kernel release.
    pub kernel: String,
    /// The soft limit on open files (each connection costs one on each side).
    pub open_files: String,
}

impl Machine {
    /// Reads the description of the machine this process runs on.
    pub fn describe() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| "unknown CPU".to_string());
        let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
        let open_files = read("/proc/self/limits")
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
            .unwrap_or_else(|| "unknown".to_string());
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            kernel: if kernel.is_empty() {
                "unknown".into()
            } else {
                kernel
            },
            open_files,
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {} cores, Linux {}, open-file limit {}",
            self.cpu, self.cores, self.kernel, self.open_files
        )
    }
}
