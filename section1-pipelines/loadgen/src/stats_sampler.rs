//! Samples the server's `/stats` during a run, so a report says what the server
//! spent (resource users, memory, tasks) and not only how fast it answered.
//!
//! One extra keep-alive connection, one small GET every 100 ms: negligible next
//! to the load itself, and the same origin as the target, so it always watches
//! the server under test.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::oneshot;
use tokio::time::{Instant, MissedTickBehavior};

use pipeline::stats::Stats;

use crate::client::{Connection, encode_request};
use crate::target::Target;

/// How often `/stats` is read.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// How long one `/stats` read may take before the sample is skipped.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(1);
/// At most this many samples are kept (an hour at 100 ms); later ones are dropped.
const MAX_SAMPLES: usize = 36_000;

/// One reading of `/stats`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct StatsSample {
    /// Milliseconds since the run started.
    pub at_ms: u64,
    /// Resource users at that moment.
    pub current: u64,
    /// The server's peak counter of resource users: the most at once since the server
    /// started (or reset it), so it can hold an earlier run's figure.
    pub peak: u64,
    /// Resident memory of the server process, when it knows it.
    pub rss_bytes: Option<u64>,
    /// Tasks alive in the server's runtime.
    pub live_tasks: usize,
    /// Events waiting in the part 2 pipeline, when the server has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_depth: Option<u64>,
}

/// A running sampler; [`Sampler::finish`] stops it and returns its samples.
pub struct Sampler {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Vec<StatsSample>>,
}

impl Sampler {
    /// Starts sampling `origin`'s `/stats` every [`SAMPLE_EVERY`], timed from `start`.
    ///
    /// Returns `None` when the first read fails: the server has no `/stats`
    /// (another program, or a server from another section), which is not an error.
    pub async fn start(origin: &Target, start: Instant) -> Option<Sampler> {
        let target = origin.with_path("/stats");
        let request = encode_request(&target, true);
        let mut conn = Connection::connect(&target, request.clone()).await.ok()?;
        let first = read(&mut conn, start).await?;
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut samples = vec![first];
            let mut ticks = tokio::time::interval(SAMPLE_EVERY);
            // A slow /stats must not cause a burst of catch-up reads.
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                let finishing = tokio::select! {
                    _ = ticks.tick() => false,
                    _ = &mut stopped => true,
                };
                if !conn.is_reusable() {
                    match Connection::connect(&target, request.clone()).await {
                        Ok(fresh) => conn = fresh,
                        Err(_) if finishing => break,
                        Err(_) => continue,
                    }
                }
                // The last read happens after the load stopped: "at end" figures.
                if let Some(sample) = read(&mut conn, start).await {
                    if samples.len() < MAX_SAMPLES {
                        samples.push(sample);
                    }
                }
                if finishing {
                    break;
                }
            }
            samples
        });
        Some(Sampler { stop, task })
    }

    /// Takes a last sample, stops, and returns every sample in time order.
    pub async fn finish(self) -> Vec<StatsSample> {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

async fn read(conn: &mut Connection, start: Instant) -> Option<StatsSample> {
    let response = tokio::time::timeout(SAMPLE_TIMEOUT, conn.send(true))
        .await
        .ok()?
        .ok()?;
    if response.status != 200 {
        return None;
    }
    let stats: Stats = serde_json::from_slice(&response.body?).ok()?;
    Some(StatsSample {
        at_ms: start.elapsed().as_millis() as u64,
        current: stats.resource.current,
        peak: stats.resource.peak,
        rss_bytes: stats.process.rss_bytes,
        live_tasks: stats.process.live_tasks,
        queue_depth: stats.pipeline.map(|p| p.figures.queue_depth),
    })
}

/// What the samples say about the server over the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServerSummary {
    /// How many samples were taken.
    pub samples: usize,
    /// The most resource users seen in any sample.
    pub resource_max_sampled: u64,
    /// The most resource users at once during this run, exactly: the server's peak
    /// counter at the end, when it rose during the run. `None` when it did not: the
    /// counter counts since the server started, so it still held an earlier run's
    /// higher peak, and this run's own peak lies between `resource_max_sampled` and
    /// `resource_peak_before`.
    pub resource_peak: Option<u64>,
    /// The server's peak counter before the load started (the first sample is taken
    /// before any request is sent): what an earlier run, or anything else, left there.
    pub resource_peak_before: u64,
    /// The largest RSS sampled.
    pub rss_max_bytes: Option<u64>,
    /// RSS in the last sample.
    pub rss_end_bytes: Option<u64>,
    /// The most live tasks sampled.
    pub live_tasks_max: usize,
    /// The deepest the part 2 pipeline's queue was in any sample (servers with a pipeline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_depth_max: Option<u64>,
}

impl ServerSummary {
    /// Summarises samples, the first taken before the load started; `None` when there
    /// are none.
    ///
    /// The server's peak counter is all-time: read at the end alone, it would report
    /// the previous run's peak against a server that is not restarted between runs.
    /// Compared with its value before the load, it is exact when it moved, and an
    /// upper bound (with the sampled maximum as the lower one) when it did not.
    pub fn from_samples(samples: &[StatsSample]) -> Option<ServerSummary> {
        let first = samples.first()?;
        let last = samples.last()?;
        let peak_end = samples.iter().map(|s| s.peak).max().unwrap_or(0);
        Some(ServerSummary {
            samples: samples.len(),
            resource_max_sampled: samples.iter().map(|s| s.current).max().unwrap_or(0),
            resource_peak: (peak_end > first.peak).then_some(peak_end),
            resource_peak_before: first.peak,
            rss_max_bytes: samples.iter().filter_map(|s| s.rss_bytes).max(),
            rss_end_bytes: last.rss_bytes,
            live_tasks_max: samples.iter().map(|s| s.live_tasks).max().unwrap_or(0),
            queue_depth_max: samples.iter().filter_map(|s| s.queue_depth).max(),
        })
    }

    /// This run's resource peak for a table cell: the exact figure, or the sampled
    /// maximum marked as such when the server's counter was not moved by this run.
    pub fn resource_peak_text(&self) -> String {
        match self.resource_peak {
            Some(peak) => peak.to_string(),
            None => format!("{} (sampled)", self.resource_max_sampled),
        }
    }

    /// The report's sentence about the peak, for the `resource` line.
    pub fn resource_peak_sentence(&self) -> String {
        match self.resource_peak {
            Some(peak) => format!("server peak {peak} during this run"),
            None => format!(
                "server peak not above {} (the server's counter held that from before this \
                 run; restart the server for an exact figure)",
                self.resource_peak_before
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_ms: u64, current: u64, peak: u64) -> StatsSample {
        StatsSample {
            at_ms,
            current,
            peak,
            rss_bytes: None,
            live_tasks: 1,
            queue_depth: None,
        }
    }

    #[test]
    fn a_peak_reached_during_the_run_is_exact() {
        // The server had seen 3 users at once before; this run took it to 7.
        let summary =
            ServerSummary::from_samples(&[sample(0, 0, 3), sample(100, 6, 6), sample(200, 2, 7)])
                .unwrap();
        assert_eq!(summary.resource_peak, Some(7));
        assert_eq!(summary.resource_peak_before, 3);
        assert_eq!(summary.resource_max_sampled, 6);
        assert_eq!(summary.resource_peak_text(), "7");
        assert_eq!(
            summary.resource_peak_sentence(),
            "server peak 7 during this run"
        );
    }

    #[test]
    fn an_earlier_runs_peak_is_not_reported_as_this_ones() {
        // An earlier run left 50 in the counter; this one never went above 5.
        let summary = ServerSummary::from_samples(&[
            sample(0, 0, 50),
            sample(100, 5, 50),
            sample(200, 0, 50),
        ])
        .unwrap();
        assert_eq!(summary.resource_peak, None, "50 belongs to an earlier run");
        assert_eq!(summary.resource_peak_before, 50);
        assert_eq!(summary.resource_peak_text(), "5 (sampled)");
        assert!(
            summary
                .resource_peak_sentence()
                .starts_with("server peak not above 50"),
            "{}",
            summary.resource_peak_sentence()
        );
    }
}
