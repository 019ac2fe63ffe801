//! How long a broadcast takes from one node to another through Redis.
//!
//! Two nodes in one process, each with its own Redis connections (as on two
//! machines, minus the network): `backend` broadcasts, a subscriber on `app` notes
//! when it arrives. The nodes are any two [`PubSub`]s joined through Redis (the
//! `cluster-latency` command passes s3.e6's reference adapter). One message at a time, so the figure is the path's latency, not
//! a queue's. Both ends read the same monotonic clock, so no clock skew enters.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use channels::pubsub::{Broadcast, PubSub, Subscriber, Subscription};
use hdrhistogram::Histogram;
use tokio::sync::mpsc;

/// Latency figures, in microseconds.
#[derive(Debug, Clone)]
pub struct LatencyReport {
    /// Messages that arrived (of those sent).
    pub delivered: u64,
    /// Messages sent.
    pub sent: u64,
    /// The median of the arrived ones.
    pub p50_us: u64,
    /// The 99th percentile.
    pub p99_us: u64,
    /// The 99.9th percentile.
    pub p999_us: u64,
    /// The slowest one.
    pub max_us: u64,
}

struct Arrivals(mpsc::Sender<Instant>);

impl Subscriber for Arrivals {
    fn deliver(&self, _broadcast: &Arc<Broadcast>) {
        // Bounded, never blocking: the measuring loop waits for each message anyway.
        let _ = self.0.try_send(Instant::now());
    }
}

/// Sends `messages` broadcasts from `backend` to a subscriber on `app`, one at a
/// time, after `warmup` unmeasured ones. `app` and `backend` are two nodes of one
/// cluster, each with its own connections to Redis.
pub async fn measure(
    app: Arc<dyn PubSub>,
    backend: &dyn PubSub,
    messages: u64,
    warmup: u64,
) -> anyhow::Result<LatencyReport> {
    let (arrived, mut arrivals) = mpsc::channel(16);
    let _subscription = Subscription::new(app, "latency", Arc::new(Arrivals(arrived)));
    let mut histogram = Histogram::<u64>::new(3)?;
    let mut delivered = 0;
    for n in 0..warmup + messages {
        let payload = channels::payload(serde_json::json!({ "n": n }));
        let sent = Instant::now();
        backend.broadcast(Broadcast::new("latency", "tick", payload));
        match tokio::time::timeout(Duration::from_secs(1), arrivals.recv()).await {
            Ok(Some(at)) if n >= warmup => {
                delivered += 1;
                histogram.record(at.duration_since(sent).as_micros() as u64)?;
            }
            Ok(Some(_)) => {}
            // Lost or later than a second: not in the histogram, visible in `delivered`.
            _ => {}
        }
    }
    Ok(LatencyReport {
        delivered,
        sent: messages,
        p50_us: histogram.value_at_quantile(0.50),
        p99_us: histogram.value_at_quantile(0.99),
        p999_us: histogram.value_at_quantile(0.999),
        max_us: histogram.max(),
    })
}

/// A throwaway `redis-server` on a free loopback port, killed when dropped (for
/// measuring without setting one up).
pub struct ThrowawayRedis {
    /// `redis://127.0.0.1:<port>`.
    pub url: String,
    child: Child,
}

impl ThrowawayRedis {
    /// The Redis at `url` when one is given, else a throwaway one: its URL, and the
    /// server to keep alive (it stops when dropped) for as long as it is used.
    pub fn unless_given(url: Option<String>) -> anyhow::Result<(String, Option<ThrowawayRedis>)> {
        Ok(match url {
            Some(url) => (url, None),
            None => {
                let redis = ThrowawayRedis::start()?;
                (redis.url.clone(), Some(redis))
            }
        })
    }

    /// Starts `redis-server` and waits until it accepts connections.
    pub fn start() -> anyhow::Result<ThrowawayRedis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!("cannot start redis-server ({e}): apt-get install redis-server")
            })?;
        let redis = ThrowawayRedis {
            url: format!("redis://127.0.0.1:{port}"),
            child,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(redis);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        anyhow::bail!("redis-server did not accept connections on port {port} within 5 s")
    }
}

impl Drop for ThrowawayRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the walkthrough's generated figures start and end.
pub const BEGIN: &str = "<!-- experiment:cluster-latency:begin -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- experiment:cluster-latency:end -->";

/// The walkthrough of part 2, whose figures `cluster-latency --walkthrough` rewrites.
pub fn walkthrough_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../solutions/section3/part2.md")
}

/// The generated block: the figures, the command and the machine.
pub fn generated_section(report: &LatencyReport, machine: &str) -> String {
    format!(
        "\n| messages | delivered | p50 | p99 | p99.9 | max |\n|---|---|---|---|---|---|\n\
         | {} | {} | {} µs | {} µs | {} µs | {} µs |\n\n\
         Produced by `cargo run -p section3-production --release -- cluster-latency \
         --messages {} --walkthrough` on {machine}.\n",
        report.sent,
        report.delivered,
        report.p50_us,
        report.p99_us,
        report.p999_us,
        report.max_us,
        report.sent,
    )
}

/// `text` with what lies between [`BEGIN`] and [`END`] replaced by `generated`.
pub fn replace_generated(text: &str, generated: &str) -> anyhow::Result<String> {
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        anyhow::bail!("the walkthrough has no {BEGIN} ... {END} markers");
    };
    anyhow::ensure!(begin < end, "{END} comes before {BEGIN}");
    Ok(format!(
        "{}{generated}{}",
        &text[..begin + BEGIN.len()],
        &text[end..]
    ))
}

/// A one-line description of where the figures were measured: the machine (the
/// `figures` crate's one description), the Redis version, and loopback.
pub fn describe_machine() -> String {
    let redis = Command::new("redis-server")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .find(|w| w.starts_with("v="))
                .map(|w| w.trim_start_matches("v=").to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    format!(
        "{}, redis-server {redis}, loopback",
        figures::machine::Machine::describe()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_between_the_markers() {
        let text = format!("intro\n{BEGIN}\nold figures\n{END}\noutro\n");
        let replaced = replace_generated(&text, "\nnew\n").unwrap();
        assert_eq!(replaced, format!("intro\n{BEGIN}\nnew\n{END}\noutro\n"));
        assert!(replace_generated("no markers", "x").is_err());
    }
}
