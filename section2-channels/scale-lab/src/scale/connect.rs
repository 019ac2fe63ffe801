//! Scenario 4: connect + join rate with open-loop arrivals.
//!
//! Arrivals are scheduled at a fixed rate whatever the server does (open loop: a
//! slow server does not slow the arrivals down, it makes them late), and each one's
//! latency is measured from its *intended* start to its `phx_join` reply, so a
//! stall shows as latency instead of disappearing (no coordinated omission). Each
//! connection closes as soon as it is joined: the server pays for churn too.
//!
//! A short ramp of rates finds the highest one sustained: fewer than 1% errors, at
//! least 90% of the target achieved (the last replies' latency counts against a
//! short window), and a p99 within [`SUSTAINED_P99_MS`]. Connections rotate over eight loopback
//! source addresses so a ramp never runs out of ephemeral ports (TIME_WAIT keeps
//! each closed one's port for a minute).
//!
//! Each rate also reports the CPU time per attempt of the server child and of this
//! generator, user and system: the two share the cores, so their sum is what a
//! connection costs this machine, and `cores / sum` is the ceiling of the rate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::scale::{ScenarioResult, bound_socket, quantile, start_server};
use channels::SocketConfig;

/// Most attempts in flight at once: beyond it an arrival counts as an error
/// (the generator is saturated), so this process stays under its fd limit.
const MAX_IN_FLIGHT: usize = 8_000;

/// The slowest p99 (intended start to join reply) of a sustained rate. A server
/// that keeps up answers in milliseconds; a p99 in the hundreds means arrivals
/// queue (the count achieved can still look right for a 3 s step while the queue
/// grows), so that rate is past what it sustains.
pub const SUSTAINED_P99_MS: f64 = 100.0;

/// How long one attempt may take before it counts as an error.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The ramp's rates (arrivals per second) and how long each runs: coarse up to
/// the target's neighbourhood, then steps of 1,000/s (about 20%) so the highest
/// sustained rate is resolved, then wider steps in case it is much higher. The ramp
/// stops at the first rate not sustained, so the run stays short whatever the machine.
pub fn ramp(quick: bool) -> (Vec<f64>, Duration) {
    if quick {
        (
            vec![
                2_000.0, 4_000.0, 5_000.0, 6_000.0, 7_000.0, 8_000.0, 10_000.0,
            ],
            Duration::from_secs(2),
        )
    } else {
        (
            vec![
                1_000.0, 2_000.0, 4_000.0, 5_000.0, 6_000.0, 7_000.0, 8_000.0, 10_000.0, 12_000.0,
            ],
            Duration::from_secs(3),
        )
    }
}

/// What one rate of the ramp gave.
#[derive(Debug, Clone, PartialEq)]
pub struct RateOutcome {
    /// Arrivals per second asked for.
    pub target_per_sec: f64,
    /// Arrivals scheduled.
    pub attempted: usize,
    /// Joined (reply `ok`).
    pub joined: usize,
    /// Failed, timed out, or not started because too many were in flight.
    pub errors: usize,
    /// Of the errors, those not started: `MAX_IN_FLIGHT` attempts were in flight
    /// (the generator's fd budget, reached when latency grows past about
    /// `MAX_IN_FLIGHT / rate` seconds).
    pub refused: usize,
    /// Joined per second, from the first intended start to the last reply.
    pub achieved_per_sec: f64,
    /// Intended start to join reply, milliseconds.
    pub p50_ms: f64,
    /// As above.
    pub p99_ms: f64,
    /// As above.
    pub max_ms: f64,
    /// Where the cores went during this rate, per attempt.
    pub cpu: CpuPerAttempt,
}

/// CPU time per attempt (user and system, microseconds) of the server child and of
/// this generator process, over one rate and the second after it (the closes). Both
/// share the cores, so their sum bounds the rate: `cores / (server + generator)`.
/// On loopback the kernel runs the receiving side's TCP in the sender's system
/// call, so the system time is split between the two by who sent, not by who owns.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuPerAttempt {
    /// The server's user time.
    pub server_user_us: f64,
    /// The server's system time.
    pub server_system_us: f64,
    /// The generator's user time.
    pub generator_user_us: f64,
    /// The generator's system time.
    pub generator_system_us: f64,
}

impl CpuPerAttempt {
    /// The server's time, user and system.
    pub fn server_us(&self) -> f64 {
        self.server_user_us + self.server_system_us
    }

    /// The generator's time, user and system.
    pub fn generator_us(&self) -> f64 {
        self.generator_user_us + self.generator_system_us
    }

    /// System time as a share of both processes' time, in percent.
    pub fn system_pct(&self) -> f64 {
        let total = self.server_us() + self.generator_us();
        if total > 0.0 {
            100.0 * (self.server_system_us + self.generator_system_us) / total
        } else {
            0.0
        }
    }

    /// The most attempts per second `cores` could serve if nothing else ran and an
    /// attempt kept costing what it cost at this rate. A pessimistic bound: at low
    /// rates every attempt pays for waking parked threads, at high rates the work
    /// batches (about 340 µs per attempt at 2,000/s against 200 µs at 4,000/s here).
    pub fn ceiling_per_sec(&self, cores: usize) -> f64 {
        let total = self.server_us() + self.generator_us();
        if total > 0.0 {
            cores as f64 * 1e6 / total
        } else {
            0.0
        }
    }

    fn between(server: [CpuTime; 2], generator: [CpuTime; 2], attempts: usize) -> Self {
        let per = |a: f64, b: f64| (b - a).max(0.0) * 1e6 / attempts.max(1) as f64;
        CpuPerAttempt {
            server_user_us: per(server[0].user, server[1].user),
            server_system_us: per(server[0].system, server[1].system),
            generator_user_us: per(generator[0].user, generator[1].user),
            generator_system_us: per(generator[0].system, generator[1].system),
        }
    }
}

/// CPU seconds a process has used so far.
#[derive(Debug, Clone, Copy, Default)]
struct CpuTime {
    user: f64,
    system: f64,
}

impl CpuTime {
    /// Process `pid`'s, from `/proc/<pid>/stat` (zeros if unreadable).
    fn of(pid: u32) -> CpuTime {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The command name may hold spaces: the fields counted here follow its `)`.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let field = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here.
        CpuTime {
            user: field(11).unwrap_or(0.0) / ticks,
            system: field(12).unwrap_or(0.0) / ticks,
        }
    }

    /// This process's, all threads.
    fn own() -> CpuTime {
        // SAFETY: getrusage only writes the struct we pass.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
            return CpuTime::default();
        }
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        CpuTime {
            user: secs(usage.ru_utime),
            system: secs(usage.ru_stime),
        }
    }
}

impl RateOutcome {
    /// Errors as a fraction of attempts.
    pub fn error_rate(&self) -> f64 {
        self.errors as f64 / self.attempted.max(1) as f64
    }

    /// Fewer than 1% errors, at least 90% of the target achieved (the last
    /// replies' latency counts against a short window), and a p99 within
    /// [`SUSTAINED_P99_MS`].
    pub fn sustained(&self) -> bool {
        self.error_rate() < 0.01
            && self.achieved_per_sec >= 0.9 * self.target_per_sec
            && self.p99_ms <= SUSTAINED_P99_MS
    }
}

/// Runs the ramp against a fresh server child, stopping after the first rate that
/// is not sustained; with `with_raw`, runs it again against the raw tokio-tungstenite
/// server ([`super::raw_server`], which answers the join with the same reply and has
/// no framework), whose figures become the result's baseline: what a connection
/// costs without axum, hyper and this crate, on the same machine in the same run.
pub async fn run(
    rates: &[f64],
    each: Duration,
    config: &SocketConfig,
    with_raw: bool,
) -> anyhow::Result<ScenarioResult> {
    let limit = (each + ATTEMPT_TIMEOUT + Duration::from_secs(3)) * rates.len() as u32
        + Duration::from_secs(30);
    let (server, _watchdog) = start_server(config, limit).await?;
    let addr: SocketAddr = server.addr.parse().context("server address")?;
    let outcomes = ramp_against(server.pid, addr, rates, each, 0, "ours").await;
    drop(server);
    let mut result = describe(&outcomes, each);
    if with_raw {
        let raw = super::subscribers::ServerChild::start(
            super::server::Kind::Raw,
            &crate::lab::WsFlags::from_config(config),
            200,
            limit,
        )
        .await?;
        let addr: SocketAddr = raw.addr.parse().context("raw server address")?;
        // Numbered on from ours, so the source ports rotate on too.
        let offset = outcomes.iter().map(|o| o.attempted).sum();
        let raw_outcomes = ramp_against(raw.pid, addr, rates, each, offset, "raw").await;
        raw.stop().await;
        describe_baseline(&mut result, &outcomes, &raw_outcomes);
    }
    Ok(result)
}

/// The ramp against one server (process `pid` at `addr`), its lines labelled `who`.
async fn ramp_against(
    pid: u32,
    addr: SocketAddr,
    rates: &[f64],
    each: Duration,
    mut offset: usize,
    who: &str,
) -> Vec<RateOutcome> {
    let mut outcomes = Vec::new();
    for &rate in rates {
        let before = (CpuTime::of(pid), CpuTime::own());
        let mut outcome = run_rate(addr, rate, each, offset).await;
        // Let the server finish closing this rate's connections (and count it).
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = (CpuTime::of(pid), CpuTime::own());
        outcome.cpu =
            CpuPerAttempt::between([before.0, after.0], [before.1, after.1], outcome.attempted);
        offset += outcome.attempted;
        eprintln!(
            "{who:>4} {:>6.0}/s target: {:>6.0}/s joined, {} errors ({} refused) of {}, p50 {:.1} ms, p99 \
             {:.1} ms; CPU per attempt: server {:.0} µs, generator {:.0} µs, {:.0}% system; load \
             {:.2}",
            outcome.target_per_sec,
            outcome.achieved_per_sec,
            outcome.errors,
            outcome.refused,
            outcome.attempted,
            outcome.p50_ms,
            outcome.p99_ms,
            outcome.cpu.server_us(),
            outcome.cpu.generator_us(),
            outcome.cpu.system_pct(),
            figures::machine::load_average()[0],
        );
        let sustained = outcome.sustained();
        outcomes.push(outcome);
        if !sustained {
            break;
        }
    }
    outcomes
}

/// Adds the raw server's figures as the baseline: its highest sustained rate, and
/// its CPU per attempt at the rate of ours' best (the same arrivals, so the
/// difference is what the framework costs).
pub fn describe_baseline(result: &mut ScenarioResult, ours: &[RateOutcome], raw: &[RateOutcome]) {
    let mut baseline = std::collections::BTreeMap::new();
    let best_raw = raw.iter().rev().find(|o| o.sustained());
    baseline.insert(
        "connect_join_per_sec".to_string(),
        best_raw.map_or(0.0, |o| o.achieved_per_sec),
    );
    let ours_best = ours.iter().rev().find(|o| o.sustained());
    let same_rate =
        ours_best.and_then(|best| raw.iter().find(|o| o.target_per_sec == best.target_per_sec));
    if let Some(at) = same_rate {
        baseline.insert("target_per_sec".to_string(), at.target_per_sec);
        baseline.insert("server_cpu_per_conn_us".to_string(), at.cpu.server_us());
        baseline.insert(
            "generator_cpu_per_conn_us".to_string(),
            at.cpu.generator_us(),
        );
    }
    for o in raw {
        result.notes.push(format!(
            "raw server, target {:.0}/s: achieved {:.0}/s, {} errors of {}, p99 {:.1} ms; CPU \
             per attempt: server {:.0} µs ({:.0} system), generator {:.0} µs{}",
            o.target_per_sec,
            o.achieved_per_sec,
            o.errors,
            o.attempted,
            o.p99_ms,
            o.cpu.server_us(),
            o.cpu.server_system_us,
            o.cpu.generator_us(),
            if o.sustained() {
                ""
            } else {
                " (not sustained)"
            }
        ));
    }
    result.notes.push(
        "baseline: a raw tokio-tungstenite server (no axum, hyper or channels) answering the \
         join with the same reply; it drops the connection at the client's close frame \
         instead of answering it"
            .into(),
    );
    result.baseline = Some(baseline);
}

/// The result for a ramp's outcomes.
pub fn describe(outcomes: &[RateOutcome], each: Duration) -> ScenarioResult {
    let mut result = ScenarioResult::new("connect");
    result
        .param(
            "rates_per_sec",
            outcomes
                .iter()
                .map(|o| o.target_per_sec)
                .collect::<Vec<_>>(),
        )
        .param("secs_per_rate", each.as_secs_f64())
        .param("source_addresses", "127.0.0.2-127.0.0.9")
        .param("max_in_flight", MAX_IN_FLIGHT);
    let best = outcomes.iter().rev().find(|o| o.sustained());
    let cores = result.machine.cores;
    match best {
        Some(best) => {
            result
                .figure("connect_join_per_sec", best.achieved_per_sec)
                .figure("target_per_sec", best.target_per_sec)
                .figure("p50_ms", best.p50_ms)
                .figure("p99_ms", best.p99_ms)
                .figure("max_ms", best.max_ms)
                .figure("error_pct", best.error_rate() * 100.0)
                .figure("server_cpu_per_conn_us", best.cpu.server_us())
                .figure("generator_cpu_per_conn_us", best.cpu.generator_us())
                .figure("system_cpu_pct", best.cpu.system_pct())
                .figure("cpu_ceiling_per_sec", best.cpu.ceiling_per_sec(cores));
        }
        None => {
            result.figure("connect_join_per_sec", 0.0);
            result.notes.push(format!(
                "no rate of the ramp was sustained (< 1% errors, >= 90% achieved, p99 <= \
                 {SUSTAINED_P99_MS} ms)"
            ));
        }
    }
    result.series = Some(
        outcomes
            .iter()
            .map(|o| [o.target_per_sec, o.achieved_per_sec])
            .collect(),
    );
    for o in outcomes {
        result.notes.push(format!(
            "target {:.0}/s: achieved {:.0}/s, {} errors ({} refused) of {}, p50 {:.1} ms, p99 \
             {:.1} ms, max \
             {:.1} ms; CPU per attempt: server {:.0} µs ({:.0} system), generator {:.0} µs ({:.0} \
             system){}",
            o.target_per_sec,
            o.achieved_per_sec,
            o.errors,
            o.refused,
            o.attempted,
            o.p50_ms,
            o.p99_ms,
            o.max_ms,
            o.cpu.server_us(),
            o.cpu.server_system_us,
            o.cpu.generator_us(),
            o.cpu.generator_system_us,
            if o.sustained() {
                ""
            } else {
                " (not sustained)"
            }
        ));
    }
    result.notes.push(
        "latency runs from each arrival's intended start to its phx_join reply (open loop); \
         the generator shares the cores with the server"
            .into(),
    );
    result
}

/// Prints the outcome for a person.
pub fn print(result: &ScenarioResult) {
    let f = |name: &str| result.figures.get(name).copied().unwrap_or(0.0);
    println!(
        "highest sustained connect+join rate: {:.0}/s (target {:.0}/s), p50 {:.1} ms, p99 {:.1} \
         ms, errors {:.2}%",
        f("connect_join_per_sec"),
        f("target_per_sec"),
        f("p50_ms"),
        f("p99_ms"),
        f("error_pct")
    );
}

/// One rate for `each`: arrivals at `rate`/s, numbered from `offset` for the
/// source-address rotation.
///
/// The arrivals are dealt round robin to one generator thread per core, each with
/// a current-thread runtime of its own. On a multi-thread runtime every spawned
/// attempt woke a parked worker to steal it (a futex and a context switch), which
/// was a fifth of this generator's time; the generator shares the cores with the
/// server it measures, so what it spends is taken from the server.
pub async fn run_rate(server: SocketAddr, rate: f64, each: Duration, offset: usize) -> RateOutcome {
    let attempted = (rate * each.as_secs_f64()).round() as usize;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(attempted.max(1));
    let plan = Plan {
        server,
        interval: Duration::from_secs_f64(1.0 / rate),
        attempted,
        offset,
        threads,
        // Every thread's runtime is up before the first arrival is due.
        start: std::time::Instant::now() + Duration::from_millis(20),
        in_flight: Arc::new(AtomicUsize::new(0)),
    };
    let plan = Arc::new(plan);
    let per_thread = tokio::task::spawn_blocking(move || {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..plan.threads)
                .map(|k| {
                    let plan = plan.clone();
                    scope.spawn(move || generate(&plan, k))
                })
                .collect();
            let start = plan.start;
            let outcomes: Vec<_> = handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Generated::none()))
                .collect();
            (start, outcomes)
        })
    })
    .await;
    let (start, outcomes) = match per_thread {
        Ok(done) => done,
        Err(_) => (std::time::Instant::now(), Vec::new()),
    };
    let mut latencies_ms = Vec::with_capacity(attempted);
    let mut last = start;
    let mut refused = 0;
    for outcome in outcomes {
        last = last.max(outcome.last);
        refused += outcome.refused;
        latencies_ms.extend(outcome.latencies_ms);
    }
    latencies_ms.sort_by(f64::total_cmp);
    let joined = latencies_ms.len();
    let elapsed = last
        .duration_since(start)
        .as_secs_f64()
        .max(each.as_secs_f64());
    RateOutcome {
        target_per_sec: rate,
        attempted,
        joined,
        // Refused (too many in flight), failed, timed out, or lost with a thread.
        errors: attempted - joined,
        refused,
        achieved_per_sec: joined as f64 / elapsed,
        p50_ms: quantile(&latencies_ms, 0.5),
        p99_ms: quantile(&latencies_ms, 0.99),
        max_ms: latencies_ms.last().copied().unwrap_or(0.0),
        cpu: CpuPerAttempt::default(),
    }
}

/// What every generator thread of one rate shares.
struct Plan {
    server: SocketAddr,
    /// Between two arrivals (of all threads together).
    interval: Duration,
    attempted: usize,
    offset: usize,
    threads: usize,
    /// When arrival 0 is due.
    start: std::time::Instant,
    /// Attempts in flight, all threads together.
    in_flight: Arc<AtomicUsize>,
}

/// What one generator thread saw: its joined attempts' latencies (every other
/// attempt is an error).
struct Generated {
    latencies_ms: Vec<f64>,
    /// Not started: too many in flight.
    refused: usize,
    /// When its last join reply came.
    last: std::time::Instant,
}

impl Generated {
    fn none() -> Self {
        Generated {
            latencies_ms: Vec::new(),
            refused: 0,
            last: std::time::Instant::now(),
        }
    }
}

/// Generator thread `k`: arrivals `k`, `k + threads`, ... of `plan`, each at its
/// intended time whatever happened to the earlier ones (open loop).
fn generate(plan: &Plan, k: usize) -> Generated {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(_) => return Generated::none(),
    };
    runtime.block_on(async {
        let start = Instant::from_std(plan.start);
        let mut tasks = Vec::with_capacity(plan.attempted / plan.threads + 1);
        let mut refused = 0;
        for i in (k..plan.attempted).step_by(plan.threads) {
            let intended = start + plan.interval * i as u32;
            // Only sleep for an arrival still ahead. A timer set for a moment already
            // past fires at the timer's next turn, which a busy runtime takes about
            // once a millisecond: a generator that had fallen behind then started
            // about one arrival per turn and never caught up, so its own lateness
            // became seconds of "latency".
            if Instant::now() < intended {
                tokio::time::sleep_until(intended).await;
            }
            if plan.in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
                // Not started: counts as an error.
                refused += 1;
                continue;
            }
            plan.in_flight.fetch_add(1, Ordering::Relaxed);
            let in_flight = plan.in_flight.clone();
            let (server, n) = (plan.server, plan.offset + i);
            tasks.push(tokio::spawn(async move {
                let outcome = tokio::time::timeout(ATTEMPT_TIMEOUT, connect_join(server, n)).await;
                let done = Instant::now();
                in_flight.fetch_sub(1, Ordering::Relaxed);
                match outcome {
                    Ok(Ok(())) => Some((done, done.duration_since(intended))),
                    _ => None,
                }
            }));
        }
        let mut generated = Generated {
            latencies_ms: Vec::with_capacity(tasks.len()),
            refused,
            last: plan.start,
        };
        for task in tasks {
            if let Some((done, latency)) = task.await.ok().flatten() {
                generated.last = generated.last.max(done.into_std());
                generated.latencies_ms.push(latency.as_secs_f64() * 1000.0);
            }
        }
        generated
    })
}

/// Connects from source address number `n` of the rotation, joins `ping`, waits
/// for the reply, and closes.
async fn connect_join(server: SocketAddr, n: usize) -> anyhow::Result<()> {
    // The port is chosen by connect(), which may reuse one in TIME_WAIT from an
    // earlier rate (see `bound_socket`): with tens of thousands in TIME_WAIT, a
    // port chosen by bind() made the kernel search long for a free one, most of
    // this generator's system time before.
    let stream = bound_socket(n)?.connect(server).await?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0);
    let url = format!("ws://{server}/socket/websocket?vsn=2.0.0");
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .context("WebSocket handshake")?;
    ws.send(Message::text(r#"["1","1","ping","phx_join",{}]"#))
        .await?;
    match ws.next().await {
        Some(Ok(Message::Text(reply))) if reply.contains(r#""status":"ok""#) => {}
        other => bail!("join failed: {other:?}"),
    }
    ws.close(None).await.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(target: f64, achieved: f64, errors: usize) -> RateOutcome {
        RateOutcome {
            target_per_sec: target,
            attempted: target as usize,
            joined: target as usize - errors,
            errors,
            refused: 0,
            achieved_per_sec: achieved,
            p50_ms: 1.0,
            p99_ms: 5.0,
            max_ms: 9.0,
            cpu: CpuPerAttempt {
                server_user_us: 60.0,
                server_system_us: 40.0,
                generator_user_us: 50.0,
                generator_system_us: 250.0,
            },
        }
    }

    #[test]
    fn the_highest_sustained_rate_is_reported() {
        let outcomes = [
            outcome(1000.0, 1000.0, 0),
            outcome(5000.0, 4900.0, 10),
            outcome(10_000.0, 6000.0, 500),
        ];
        let result = describe(&outcomes, Duration::from_secs(1));
        assert_eq!(result.figures["connect_join_per_sec"], 4900.0);
        assert_eq!(result.figures["target_per_sec"], 5000.0);
        assert_eq!(result.series.as_ref().unwrap().len(), 3);
        assert!(result.notes[2].ends_with("(not sustained)"));
        assert_eq!(result.figures["server_cpu_per_conn_us"], 100.0);
        assert_eq!(result.figures["generator_cpu_per_conn_us"], 300.0);
        assert_eq!(result.figures["system_cpu_pct"], 72.5);
    }

    #[test]
    fn a_rate_whose_arrivals_queue_is_not_sustained() {
        let mut queued = outcome(10_000.0, 9_100.0, 0);
        assert!(queued.sustained());
        queued.p99_ms = 458.0;
        assert!(
            !queued.sustained(),
            "90% achieved but a p99 of 458 ms: the arrivals queue"
        );
    }

    #[test]
    fn the_raw_baseline_is_compared_at_ours_best_rate() {
        let ours = [outcome(1000.0, 1000.0, 0), outcome(2000.0, 1000.0, 0)];
        let mut raw_at_1000 = outcome(1000.0, 1000.0, 0);
        raw_at_1000.cpu.server_user_us = 10.0;
        let raw = [raw_at_1000, outcome(2000.0, 2000.0, 0)];
        let mut result = describe(&ours, Duration::from_secs(1));
        describe_baseline(&mut result, &ours, &raw);
        let baseline = result.baseline.clone().expect("a baseline");
        assert_eq!(baseline["connect_join_per_sec"], 2000.0);
        assert_eq!(baseline["target_per_sec"], 1000.0);
        assert_eq!(baseline["server_cpu_per_conn_us"], 50.0);
        assert!(
            result
                .notes
                .iter()
                .any(|n| n.starts_with("raw server, target 2000/s"))
        );
    }

    #[test]
    fn the_cpu_ceiling_is_the_cores_over_the_time_per_attempt() {
        let cpu = outcome(1000.0, 1000.0, 0).cpu;
        assert_eq!(cpu.ceiling_per_sec(2), 5000.0);
        assert_eq!(CpuPerAttempt::default().ceiling_per_sec(2), 0.0);
        let split = CpuPerAttempt::between(
            [
                CpuTime {
                    user: 1.0,
                    system: 2.0,
                },
                CpuTime {
                    user: 1.5,
                    system: 3.0,
                },
            ],
            [CpuTime::default(), CpuTime::default()],
            10_000,
        );
        assert_eq!(split.server_user_us, 50.0);
        assert_eq!(split.server_system_us, 100.0);
        assert_eq!(split.generator_us(), 0.0);
    }

    #[test]
    fn cpu_times_are_read_for_this_process() {
        let own = CpuTime::own();
        let by_pid = CpuTime::of(std::process::id());
        assert!(own.user + own.system >= 0.0);
        // The same process read two ways; /proc counts in clock ticks (10 ms).
        assert!((by_pid.user + by_pid.system) <= own.user + own.system + 0.05);
        assert_eq!(CpuTime::of(u32::MAX).user, 0.0);
    }
}
