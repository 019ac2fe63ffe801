//! The `cluster-limit` measurement (s3.e13): one user's creates, all at once, on
//! several nodes sharing one limit in Redis. It counts how many get through with
//! s3.e13's script (yours or the reference) and with the same check made in two
//! round trips from the node, and how long one check takes.
//!
//! The two-round-trip limiter below is **the wrong way**, kept here only to be
//! measured against: it reads the count, then records, and between the two every
//! other node's creates land.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::Implementation;

/// What to measure.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// Nodes, each with its own limiter and connection.
    pub nodes: usize,
    /// Creates by one user, all in flight at once, spread over the nodes.
    pub attempts: usize,
    /// The limit: creates per minute.
    pub max: u32,
    /// Sequential checks timed for the latency figures (each by another user).
    pub timed: usize,
}

/// What one run found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The setup measured.
    pub setup: Setup,
    /// Creates allowed by the script.
    pub script_allowed: usize,
    /// Creates allowed by the two-round-trip check.
    pub two_trips_allowed: usize,
    /// One check by the script, sequential: median and 99th percentile.
    pub script_p50: Duration,
    /// See [`Report::script_p50`].
    pub script_p99: Duration,
    /// The same for the two-round-trip check.
    pub two_trips_p50: Duration,
    /// See [`Report::two_trips_p50`].
    pub two_trips_p99: Duration,
}

/// Runs the measurement against the Redis at `url`, with `implementation`'s s3.e13.
pub async fn measure(
    url: &str,
    implementation: Implementation,
    setup: Setup,
) -> anyhow::Result<Report> {
    let run = format!("rts:limit:measure:{}", std::process::id());
    let window = Duration::from_secs(60);
    let limit = setup.max;

    // The script, one limiter per node.
    let mut scripts = Vec::new();
    for node in 0..setup.nodes {
        scripts.push(Arc::new(
            ScriptLimiter::connect(implementation, url, &format!("{run}:script"), node, limit)
                .await?,
        ));
    }
    let script_allowed = race(&scripts, setup.attempts).await?;
    let (script_p50, script_p99) = time_checks(scripts[0].as_ref(), setup.timed, 1_000_000).await?;

    // The wrong way, on the same Redis, under another prefix.
    let mut two_trips = Vec::new();
    for node in 0..setup.nodes {
        two_trips.push(Arc::new(
            TwoTrips::connect(url, &format!("{run}:two-trips"), node, limit, window).await?,
        ));
    }
    let two_trips_allowed = race(&two_trips, setup.attempts).await?;
    let (two_trips_p50, two_trips_p99) =
        time_checks(two_trips[0].as_ref(), setup.timed, 2_000_000).await?;

    Ok(Report {
        setup,
        script_allowed,
        two_trips_allowed,
        script_p50,
        script_p99,
        two_trips_p50,
        two_trips_p99,
    })
}

/// Writes the figures of `report`, measured by `command`, into the walkthrough's
/// `cluster-limit` block (solutions/section3/part3.md); returns its path.
pub fn write_walkthrough(report: &Report, command: &str) -> anyhow::Result<std::path::PathBuf> {
    let path = figures::walkthrough::path("section3/part3.md");
    let body = generated_section(report, &cluster::latency::describe_machine());
    figures::walkthrough::rewrite(&path, "cluster-limit", command, &body)
        .with_context(|| format!("write {}", path.display()))?;
    Ok(path)
}

/// The figures as the walkthrough shows them, for a run on `machine`.
pub fn generated_section(report: &Report, machine: &str) -> String {
    let s = report.setup;
    let us = |d: Duration| d.as_micros();
    format!(
        "Measured on {machine}: one user's {attempts} creates all in flight at once, spread over\n\
         {nodes} nodes (a limiter and a Redis connection each), limit {max} per minute;\n\
         then {timed} checks one after the other for the latency.\n\n\
         | limiter | creates allowed (limit {max}) | one check, p50 | p99 |\n\
         |---|---|---|---|\n\
         | s3.e13's script: trim, count, record in one step | {script} | {sp50} µs | {sp99} µs |\n\
         | the same check in two round trips (count, then record) | {two} | {tp50} µs | {tp99} µs |\n",
        attempts = s.attempts,
        nodes = s.nodes,
        max = s.max,
        timed = s.timed,
        script = report.script_allowed,
        two = report.two_trips_allowed,
        sp50 = us(report.script_p50),
        sp99 = us(report.script_p99),
        tp50 = us(report.two_trips_p50),
        tp99 = us(report.two_trips_p99),
    )
}

/// One way of taking a create from the shared limit.
trait Acquire: Send + Sync + 'static {
    /// `Ok(true)`: allowed.
    fn acquire(&self, user: i64) -> impl Future<Output = anyhow::Result<bool>> + Send;
}

/// All `attempts` creates of one user at once, spread over `nodes`: how many passed.
async fn race<L: Acquire>(nodes: &[Arc<L>], attempts: usize) -> anyhow::Result<usize> {
    let mut creates = tokio::task::JoinSet::new();
    for attempt in 0..attempts {
        let node = nodes[attempt % nodes.len()].clone();
        creates.spawn(async move { node.acquire(42).await });
    }
    let mut allowed = 0;
    while let Some(outcome) = creates.join_next().await {
        if outcome.context("a create panicked (is s3.e13 done? try --solution)")?? {
            allowed += 1;
        }
    }
    Ok(allowed)
}

/// `count` checks one after the other, each by a fresh user from `first_user` on
/// (so none is limited): the median and the 99th percentile.
async fn time_checks<L: Acquire>(
    limiter: &L,
    count: usize,
    first_user: i64,
) -> anyhow::Result<(Duration, Duration)> {
    let mut took = Vec::with_capacity(count);
    for user in 0..count {
        let started = Instant::now();
        limiter.acquire(first_user + user as i64).await?;
        took.push(started.elapsed());
    }
    took.sort();
    let at = |q: f64| took[((took.len() - 1) as f64 * q).round() as usize];
    Ok((at(0.50), at(0.99)))
}

/// s3.e13's limiter, yours or the reference.
enum ScriptLimiter {
    Start(crate::start::part3::e13_cluster_limit::ClusterRateLimiter),
    Solution(crate::solution::part3::e13_cluster_limit::ClusterRateLimiter),
}

impl ScriptLimiter {
    async fn connect(
        implementation: Implementation,
        url: &str,
        prefix: &str,
        node: usize,
        max: u32,
    ) -> anyhow::Result<ScriptLimiter> {
        let node = format!("node{node}@127.0.0.1");
        let window = Duration::from_secs(60);
        Ok(match implementation {
            Implementation::Start => {
                use crate::start::part3::e13_cluster_limit as e13;
                let limit = e13::Limit { max, window };
                ScriptLimiter::Start(
                    e13::ClusterRateLimiter::connect(
                        url,
                        prefix,
                        &node,
                        limit,
                        e13::FailMode::Closed,
                    )
                    .await?,
                )
            }
            Implementation::Solution => {
                use crate::solution::part3::e13_cluster_limit as e13;
                let limit = e13::Limit { max, window };
                ScriptLimiter::Solution(
                    e13::ClusterRateLimiter::connect(
                        url,
                        prefix,
                        &node,
                        limit,
                        e13::FailMode::Closed,
                    )
                    .await?,
                )
            }
        })
    }
}

impl Acquire for ScriptLimiter {
    async fn acquire(&self, user: i64) -> anyhow::Result<bool> {
        Ok(match self {
            ScriptLimiter::Start(limiter) => {
                use crate::start::part3::e13_cluster_limit::Verdict;
                limiter.try_acquire(user).await? == Verdict::Allowed
            }
            ScriptLimiter::Solution(limiter) => {
                use crate::solution::part3::e13_cluster_limit::Verdict;
                limiter.try_acquire(user).await? == Verdict::Allowed
            }
        })
    }
}

/// The wrong way: count in one round trip, record in a second. Only for comparison.
struct TwoTrips {
    connection: redis::aio::MultiplexedConnection,
    prefix: String,
    node: usize,
    next: std::sync::atomic::AtomicU64,
    max: u32,
    window_ms: i64,
}

impl TwoTrips {
    async fn connect(
        url: &str,
        prefix: &str,
        node: usize,
        max: u32,
        window: Duration,
    ) -> anyhow::Result<TwoTrips> {
        let connection = redis::Client::open(url)?
            .get_multiplexed_async_connection()
            .await?;
        Ok(TwoTrips {
            connection,
            prefix: prefix.to_owned(),
            node,
            next: std::sync::atomic::AtomicU64::new(0),
            max,
            window_ms: i64::try_from(window.as_millis())?,
        })
    }
}

impl Acquire for TwoTrips {
    async fn acquire(&self, user: i64) -> anyhow::Result<bool> {
        let mut connection = self.connection.clone();
        let key = format!("{}:{user}", self.prefix);
        let (seconds, micros): (i64, i64) = redis::cmd("TIME").query_async(&mut connection).await?;
        let now = seconds * 1000 + micros / 1000;
        // First trip: trim and count.
        let (count,): (i64,) = redis::pipe()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&key)
            .arg("-inf")
            .arg(now - self.window_ms)
            .ignore()
            .cmd("ZCARD")
            .arg(&key)
            .query_async(&mut connection)
            .await?;
        if count >= i64::from(self.max) {
            return Ok(false);
        }
        // Second trip: record. Every node that counted meanwhile saw the same count.
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        redis::pipe()
            .cmd("ZADD")
            .arg(&key)
            .arg(now)
            .arg(format!("node{}#{n}", self.node))
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(self.window_ms)
            .ignore()
            .query_async::<()>(&mut connection)
            .await?;
        Ok(true)
    }
}
