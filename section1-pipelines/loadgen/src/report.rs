//! A run's results: the [`Report`] type, its plain-text layout and a comparison table.
//!
//! The text layout is stable on purpose (a snapshot test pins it): one label per
//! line, figures after it, so runs can be diffed and read on a projector.

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use serde::Serialize;

use crate::histogram::LatencySummary;
use crate::runner::Point;
use crate::stats_sampler::{SAMPLE_EVERY, ServerSummary, StatsSample};

/// Why a request did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The TCP connection could not be opened.
    Connect,
    /// No complete response within the timeout.
    Timeout,
    /// The connection failed or the response was malformed.
    Io,
    /// A response arrived with a status outside 200..=299.
    Status(u16),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Connect => f.write_str("connect"),
            ErrorKind::Timeout => f.write_str("timeout"),
            ErrorKind::Io => f.write_str("io"),
            ErrorKind::Status(code) => write!(f, "{code}"),
        }
    }
}

/// How a run was configured, as shown in its report.
#[derive(Clone, Debug, Serialize)]
pub struct RunSettings {
    /// The URL loaded.
    pub target: String,
    /// Concurrent connections.
    pub connections: usize,
    /// Whether connections were reused.
    pub keepalive: bool,
    /// Open loop: the intended rate; closed loop: `None`.
    pub rate: Option<f64>,
    /// The per-request timeout.
    pub timeout_ms: u64,
}

/// Everything a run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// How the run was configured.
    pub settings: RunSettings,
    /// Requests answered with a 2xx status.
    pub completed: u64,
    /// Failed requests by kind (`connect`, `timeout`, `io`, or the status code).
    pub errors: BTreeMap<String, u64>,
    /// From the first request to the last response, in seconds.
    pub duration_s: f64,
    /// Completed requests per second.
    pub requests_per_sec: f64,
    /// Latency of the completed requests; in open loop, from the intended send time.
    pub latency: LatencySummary,
    /// Open loop only: latency from the actual send time (what a closed-loop tool reports).
    pub uncorrected: Option<LatencySummary>,
    /// What `/stats` said during the run; `None` when the server has no `/stats`.
    pub server: Option<ServerSummary>,
    /// Per-100 ms figures for charts.
    #[serde(skip)]
    pub timeline: Timeline,
}

/// Latency and resource use over time, in 100 ms buckets, for [`crate::chart`].
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    /// One entry per 100 ms bucket that had responses.
    pub latency: Vec<LatencyBucket>,
    /// The `/stats` samples.
    pub server: Vec<StatsSample>,
}

/// The responses that arrived in one 100 ms bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencyBucket {
    /// Start of the bucket, in milliseconds since the run started.
    pub at_ms: u64,
    /// Median latency in the bucket, in microseconds.
    pub p50_us: u64,
    /// Slowest latency in the bucket, in microseconds.
    pub max_us: u64,
}

impl Timeline {
    /// Buckets raw points by 100 ms of completion time.
    pub fn new(mut points: Vec<Point>, server: Vec<StatsSample>) -> Self {
        let width = SAMPLE_EVERY.as_millis() as u32;
        points.sort_unstable_by_key(|p| (p.at_ms / width, p.latency_us));
        let latency = points
            .chunk_by(|a, b| a.at_ms / width == b.at_ms / width)
            .map(|bucket| LatencyBucket {
                at_ms: u64::from(bucket[0].at_ms / width * width),
                p50_us: u64::from(bucket[(bucket.len() - 1) / 2].latency_us),
                max_us: u64::from(bucket[bucket.len() - 1].latency_us),
            })
            .collect();
        Timeline { latency, server }
    }
}

fn ms(us: f64) -> String {
    format!("{:.3} ms", us / 1000.0)
}

fn mib(bytes: Option<u64>) -> String {
    match bytes {
        Some(b) => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        None => "unknown".to_string(),
    }
}

impl Report {
    /// Failed requests of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The report as plain text, one figure per line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out).expect("writing to a String");
        out
    }

    fn write_text(&self, out: &mut String) -> fmt::Result {
        let s = &self.settings;
        let reuse = if s.keepalive {
            "keep-alive"
        } else {
            "new connection per request"
        };
        let timeout = format!("timeout {} s", s.timeout_ms as f64 / 1000.0);
        writeln!(out, "target        {}", s.target)?;
        match s.rate {
            None => writeln!(
                out,
                "mode          closed loop, {} connections, {reuse}, {timeout}",
                s.connections
            )?,
            Some(rate) => writeln!(
                out,
                "mode          open loop at {rate} req/s, pool of {} connections, {reuse}, {timeout}",
                s.connections
            )?,
        }
        writeln!(
            out,
            "requests      {} completed in {:.3} s",
            self.completed, self.duration_s
        )?;
        writeln!(out, "throughput    {:.1} req/s", self.requests_per_sec)?;
        if let Some(rate) = s.rate {
            // Refusals and failures were sent on time too: the rate counts every answer.
            let sent = (self.completed + self.error_count()) as f64;
            let share = 100.0 * sent / self.duration_s.max(1e-9) / rate;
            let verdict = if share < 97.0 {
                " (below 97%: the server or this generator could not keep up)"
            } else {
                ""
            };
            writeln!(
                out,
                "  sent        {share:.1}% of the requested rate{verdict}"
            )?;
        }
        if self.errors.is_empty() {
            writeln!(out, "errors        none")?;
        } else {
            writeln!(out, "errors        {}", self.error_count())?;
            for (kind, n) in &self.errors {
                writeln!(out, "  {kind}: {n}")?;
            }
        }
        self.write_latency(out)?;
        self.write_server(out)
    }

    fn write_latency(&self, out: &mut String) -> fmt::Result {
        match &self.uncorrected {
            None => writeln!(
                out,
                "latency       from send, successful requests (HdrHistogram, 3 significant digits)"
            )?,
            Some(_) => writeln!(
                out,
                "latency       from the intended send time (corrected for coordinated omission); \
                 uncorrected: from the actual send"
            )?,
        }
        let l = &self.latency;
        let rows = [
            ("mean", l.mean_us, self.uncorrected.map(|u| u.mean_us)),
            (
                "p50",
                l.p50_us as f64,
                self.uncorrected.map(|u| u.p50_us as f64),
            ),
            (
                "p90",
                l.p90_us as f64,
                self.uncorrected.map(|u| u.p90_us as f64),
            ),
            (
                "p99",
                l.p99_us as f64,
                self.uncorrected.map(|u| u.p99_us as f64),
            ),
            (
                "p99.9",
                l.p999_us as f64,
                self.uncorrected.map(|u| u.p999_us as f64),
            ),
            (
                "max",
                l.max_us as f64,
                self.uncorrected.map(|u| u.max_us as f64),
            ),
        ];
        for (label, value, uncorrected) in rows {
            match uncorrected {
                None => writeln!(out, "  {label:<12}{}", ms(value))?,
                Some(u) => writeln!(out, "  {label:<12}{}   uncorrected {}", ms(value), ms(u))?,
            }
        }
        Ok(())
    }

    fn write_server(&self, out: &mut String) -> fmt::Result {
        let Some(server) = &self.server else {
            return writeln!(out, "server stats: not available");
        };
        writeln!(
            out,
            "server        /stats sampled every {} ms, {} samples",
            SAMPLE_EVERY.as_millis(),
            server.samples
        )?;
        writeln!(
            out,
            "  resource    {} users at most (sampled), {}",
            server.resource_max_sampled,
            server.resource_peak_sentence()
        )?;
        writeln!(
            out,
            "  rss         {} max, {} at end",
            mib(server.rss_max_bytes),
            mib(server.rss_end_bytes)
        )?;
        writeln!(out, "  live tasks  {} at most", server.live_tasks_max)
    }
}

/// A table with one row per report, for `compare`.
pub fn summary_table(reports: &[Report]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<40} {:>10} {:>11} {:>11} {:>11} {:>7} {:>9} {:>9} {:>6}",
        "target", "req/s", "mean ms", "p50 ms", "p99 ms", "errors", "resource", "rss MiB", "tasks"
    );
    for r in reports {
        let (resource, rss, tasks) = match &r.server {
            Some(s) => (
                s.resource_max_sampled.to_string(),
                s.rss_max_bytes
                    .map_or("-".into(), |b| format!("{:.1}", b as f64 / 1048576.0)),
                s.live_tasks_max.to_string(),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "{:<40} {:>10.1} {:>11.3} {:>11.3} {:>11.3} {:>7} {:>9} {:>9} {:>6}",
            r.settings.target,
            r.requests_per_sec,
            r.latency.mean_us / 1000.0,
            r.latency.p50_us as f64 / 1000.0,
            r.latency.p99_us as f64 / 1000.0,
            r.error_count(),
            resource,
            rss,
            tasks
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_buckets_by_100_ms_with_median_and_max() {
        let point = |at_ms, latency_us| Point { at_ms, latency_us };
        let timeline = Timeline::new(
            vec![point(5, 30), point(50, 10), point(99, 20), point(250, 7)],
            Vec::new(),
        );
        assert_eq!(
            timeline.latency,
            vec![
                LatencyBucket {
                    at_ms: 0,
                    p50_us: 20,
                    max_us: 30
                },
                LatencyBucket {
                    at_ms: 200,
                    p50_us: 7,
                    max_us: 7
                },
            ]
        );
    }

    #[test]
    fn status_errors_are_named_by_code() {
        assert_eq!(ErrorKind::Status(503).to_string(), "503");
        assert!(ErrorKind::Connect < ErrorKind::Status(500));
    }
}
