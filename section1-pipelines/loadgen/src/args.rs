//! The `load` and `compare` command-line options, shared by both.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use crate::runner::LoadConfig;
use crate::target::Target;

/// How to load a target (the options `load` and `compare` share).
#[derive(Args, Clone, Debug)]
pub struct LoadArgs {
    /// Concurrent connections (in open loop: the pool requests are sent on).
    #[arg(short = 'c', long = "connections", default_value_t = 50)]
    pub connections: usize,
    /// Stop after this many requests.
    #[arg(short = 'n', long = "requests")]
    pub requests: Option<u64>,
    /// Stop starting requests after this long, e.g. `10s`, `500ms`, `2m`.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Open loop: send this many requests per second at fixed times, and measure
    /// latency from when each should have been sent.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Open a new connection for every request instead of reusing them.
    #[arg(long)]
    pub no_keepalive: bool,
    /// A request without a complete answer after this long counts as a timeout.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub timeout: Duration,
    /// Keep sampling the server's /stats this long after the last response (e.g. `1s`),
    /// to watch detached work drain; the chart and the "at end" figures include it.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub settle: Duration,
    /// Also print the report as one line of JSON, after the text.
    #[arg(long)]
    pub json: bool,
    /// Write an SVG chart of latency and resource use over time to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<std::path::PathBuf>,
}

/// The most connections one run may open: below the usual 1024 file-descriptor limit
/// minus what the process already holds, and plenty for this section.
pub const MAX_CONNECTIONS: usize = 10_000;

impl LoadArgs {
    /// Checks the options and builds the run for `url`.
    ///
    /// Without `-n` or `--duration` a run sends 1,000 requests, so it always ends.
    pub async fn config(&self, url: &str) -> anyhow::Result<LoadConfig> {
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            bail!("-c must be between 1 and {MAX_CONNECTIONS}");
        }
        if let Some(rate) = self.rate {
            if !(rate > 0.0 && rate.is_finite()) {
                bail!("--rate must be a positive number of requests per second");
            }
        }
        let requests = match (self.requests, self.duration) {
            (None, None) => Some(1000),
            (n, _) => n,
        };
        Ok(LoadConfig {
            target: Target::parse(url).await?,
            connections: self.connections,
            requests,
            duration: self.duration,
            rate: self.rate,
            keepalive: !self.no_keepalive,
            timeout: self.timeout,
            timeline: self.chart.is_some(),
            settle: self.settle,
        })
    }
}

/// Parses `250ms`, `10s`, `2m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .with_context(|| format!("`{text}` is not a duration like 10s or 500ms"))?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        other => bail!("unknown unit `{other}` in `{text}`: use ms, s, m or h"),
    };
    Duration::try_from_secs_f64(seconds).with_context(|| format!("`{text}` is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("3 days").is_err());
    }
}
