//! The binary's `experiment part1` and `experiment part2`: regenerate the measured
//! figures of section 4's walkthroughs (`solutions/section4/part1.md`, `part2.md`),
//! between their `experiment:` markers. The prose around a block quotes no figure of
//! its own.
//!
//! - part 1: the tracker converging after a healed partition (the in-memory hub, on
//!   tokio's paused clock) and through a real Redis (when `redis-server` is
//!   installed: one of our own on a free loopback port), the gated pipeline's savings
//!   (s4.e4's reference, paused clock), and what the tracker's operations cost next to
//!   a plain `HashMap` (the loops of `cargo bench -p tracker --bench tracker`);
//! - part 2: what a live view sends, in bytes, and what rendering everything and
//!   diffing costs per event (the loops of `cargo bench -p live --bench live`).
//!
//! Bounded and loopback only: part 1 takes about half a minute, part 2 a few seconds.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::hint::black_box;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use figures::machine::{self, Machine};
use figures::section4::TrackerBench;
use figures::walkthrough;
use serde_json::json;

use activity::{ActivityStore, seed_store};
use channels::client::ChannelClient;
use channels::{Frame, LocalPubSub, PubSub};
use live::feed::{FeedDeps, feed_page};
use section3_reference::part2::e06_redis_pubsub::RedisPubSub;
use section4_tracker_live::Implementation;
use section4_tracker_live::gated::{Handler, SavingsRow, savings, savings_table};
use section4_tracker_live::live_app;
use tracker::costs::{Fixture, per_call};
use tracker::hub::Hub;
use tracker::pubsub_transport::PubSubTransport;
use tracker::{Owner, Tracker, TrackerConfig};

/// Which walkthrough to regenerate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `solutions/section4/part1.md`: the tracker and the gate.
    Part1,
    /// `solutions/section4/part2.md`: live views.
    Part2,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Part1 => "part1",
            Part::Part2 => "part2",
        }
    }

    fn command(self) -> String {
        format!(
            "cargo run -p section4-tracker-live --release -- experiment {}",
            self.name()
        )
    }
}

/// Runs `part`'s measurements and rewrites its walkthrough's block.
pub fn run(part: Part) -> anyhow::Result<()> {
    let started = Instant::now();
    let machine = Machine::describe();
    let mut body = match part {
        Part::Part1 => part1()?,
        Part::Part2 => part2()?,
    };
    let [load_at_end, ..] = machine::load_average();
    write!(
        body,
        "\nMachine: {machine}, {load_at_end:.2} at the end; a release build; the run took \
         {:.0} s.",
        started.elapsed().as_secs_f64()
    )?;
    let path = walkthrough::path(&format!("section4/{}.md", part.name()));
    walkthrough::rewrite(&path, part.name(), &part.command(), &body)
        .with_context(|| format!("rewriting {}", path.display()))?;
    println!("{body}\n\nwrote {}", path.display());
    Ok(())
}

fn paused_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?)
}

fn real_time_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn part1() -> anyhow::Result<String> {
    let mut block = String::new();

    // 1. Converging after a healed partition, on the hub, paused clock.
    let paused = paused_runtime()?;
    let mut heals = Vec::new();
    for _ in 0..HEAL_RUNS {
        heals.push(paused.block_on(converge_after_partition())?);
    }
    eprintln!("healed partitions: done");
    writeln!(
        block,
        "**Converging after a healed partition** (the scenario of `cargo test -p tracker \
         --test replication a_healed_partition`: three nodes on the in-memory hub, \
         {} ms broadcast period, one node cut off while presences change on both sides, \
         then the heal; virtual time on tokio's paused clock, {HEAL_RUNS} runs): time \
         from the heal until the three nodes list the same presences.\n",
        HUB_PERIOD.as_millis()
    )?;
    let mut header = String::from("| run |");
    let mut rule = String::from("|---|");
    let mut ms = String::from("| ms after the heal |");
    let mut periods = String::from("| broadcast periods |");
    for (i, took) in heals.iter().enumerate() {
        write!(header, " {} |", i + 1)?;
        rule.push_str("---:|");
        write!(ms, " {} |", took.as_millis())?;
        write!(
            periods,
            " {:.1} |",
            took.as_secs_f64() / HUB_PERIOD.as_secs_f64()
        )?;
    }
    writeln!(block, "{header}\n{rule}\n{ms}\n{periods}")?;

    // 2. The same through a real Redis, real time.
    writeln!(
        block,
        "\n**The same through a real Redis** (the scenarios of `cargo test -p tracker --test \
         redis_replication`: three trackers, each on its own connection through section \
         3's `RedisPubSub` (reference), {} ms broadcast period, real time, a \
         `redis-server` of our own on a free loopback port, started afresh for each \
         run):\n",
        REDIS_PERIOD.as_millis()
    )?;
    if redis_installed() {
        let real = real_time_runtime()?;
        let mut runs = Vec::new();
        for run in 0..REDIS_RUNS {
            runs.push(real.block_on(through_redis(run))?);
        }
        eprintln!("through Redis: done");
        let column = |f: fn(&RedisRun) -> Duration| {
            runs.iter()
                .map(|r| format!("{}", f(r).as_millis()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            block,
            "| what | ms, {REDIS_RUNS} runs |\n|---|---|\n\
             | three joins on three nodes, until every node lists all three | {} |\n\
             | a leave (the owner dropped), until gone everywhere | {} |\n\
             | a {} ms Redis outage (every node sees the others go down; one leaves, one \
             joins meanwhile), until all three agree after redis-server is back | {} |",
            column(|r| r.joins),
            column(|r| r.leave),
            OUTAGE.as_millis(),
            column(|r| r.after_outage)
        )?;
    } else {
        writeln!(
            block,
            "Not measured on this machine: no `redis-server` on the PATH (`sudo apt-get \
             install redis-server`, or `cargo xtask setup`)."
        )?;
    }

    // 3. The gate's savings, paused clock.
    let mut rows: Vec<SavingsRow> = Vec::new();
    for (topics, utilization) in [(100, 1), (100, 10), (100, 50), (100, 100), (1000, 1)] {
        rows.push(paused.block_on(savings(
            Handler::Solution,
            topics,
            utilization,
            PER_TOPIC,
            WORKERS,
        ))?);
    }
    eprintln!("gated savings: done");
    writeln!(
        block,
        "\n**The gate's savings** (s4.e4's reference, `experiment gated --solution`, plus \
         `--topics 1000 --utilization 1`; the ungated columns are the same pool with no \
         gate, in the same run):\n"
    )?;
    block.push_str(&savings_table(&rows, PER_TOPIC, WORKERS));

    // 4. What the tracker's operations cost.
    let mut fixture = Fixture::new()?;
    let runs: Vec<TrackerBench> = (0..COST_RUNS).map(|_| fixture.measure()).collect();
    drop(fixture);
    eprintln!("tracker costs: done");
    writeln!(
        block,
        "\n**What the tracker costs** (the loops of `cargo bench -p tracker --bench \
         tracker`, which adds criterion's statistics: a {}-member topic, each figure \
         the median of {COST_RUNS} runs, real time):\n",
        thousands(runs[0].members as f64)
    )?;
    let med = |f: fn(&TrackerBench) -> f64| median(runs.iter().map(f).collect());
    let list_hashmap = med(|b| b.list_hashmap_us);
    let list_tracker = med(|b| b.list_tracker_us);
    let count = med(|b| b.count_us);
    let pairs = med(|b| b.track_untrack_per_sec);
    let hashmap_pairs = med(|b| b.hashmap_track_untrack_per_sec);
    let merge = med(|b| b.merge_us);
    let extend = med(|b| b.hashmap_extend_us);
    writeln!(
        block,
        "| what | time | against the baseline |\n|---|---:|---:|\n\
         | `list`: HashMap values cloned (baseline) | {} | 1 |\n\
         | `list`: `State::list` (the CRDT alone) | {} | {:.2}x |\n\
         | `list`: `Tracker::list` (a round trip to the shard; target 1 ms) | {} | {:.2}x |\n\
         | `count`: `Tracker::count` (the gate's question) | {} | `list` / `count`: {:.0}x |\n\
         | `count` of a topic nobody watches | {} | |\n\
         | track + untrack: HashMap insert + remove (baseline) | {} pairs/s | 1 |\n\
         | track + untrack: `Tracker` (round trips; target 25,000 pairs/s) | {} pairs/s | {:.0}x slower |\n\
         | merge a {}-entry delta: HashMap extend (baseline) | {} | 1 |\n\
         | merge a {}-entry delta: `State::merge_delta` | {} | {:.1}x |\n\n\
         Targets on this machine: `Tracker::list` within 1 ms **{}**, 25,000 track + \
         untrack pairs per second through the handle **{}**.",
        micros(list_hashmap),
        micros(med(|b| b.list_state_us)),
        med(|b| b.list_state_us) / list_hashmap,
        micros(list_tracker),
        list_tracker / list_hashmap,
        micros(count),
        list_tracker / count,
        micros(med(|b| b.count_unwatched_us)),
        thousands(hashmap_pairs),
        thousands(pairs),
        hashmap_pairs / pairs,
        thousands(runs[0].members as f64),
        micros(extend),
        thousands(runs[0].members as f64),
        micros(merge),
        merge / extend,
        if list_tracker <= 1000.0 {
            "held"
        } else {
            "missed"
        },
        if pairs >= 25_000.0 { "held" } else { "missed" },
    )?;
    Ok(block)
}

const HEAL_RUNS: usize = 9;
const HUB_PERIOD: Duration = Duration::from_millis(100);
const REDIS_RUNS: usize = 3;
const REDIS_PERIOD: Duration = Duration::from_millis(50);
const OUTAGE: Duration = Duration::from_millis(500);
const PER_TOPIC: u32 = 20;
const WORKERS: usize = 10;
const COST_RUNS: usize = 3;
const TOPIC: &str = "room:lobby";

/// The keys `tracker` lists for [`TOPIC`].
async fn keys<M: Clone + Send + Sync + 'static>(tracker: &Tracker<M>) -> BTreeSet<String> {
    tracker
        .list(TOPIC)
        .await
        .into_iter()
        .map(|(key, _)| key.to_string())
        .collect()
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

/// `a_healed_partition_converges_within_a_few_periods`, timed: virtual time from
/// the heal until the three nodes agree.
async fn converge_after_partition() -> anyhow::Result<Duration> {
    use tokio::time::{Instant, sleep};
    let config = TrackerConfig {
        pool_size: 1,
        permdown_period: Duration::from_millis(1500),
        ..TrackerConfig::with_periods(HUB_PERIOD, 2)
    };
    let hub = Hub::<&'static str>::new();
    let start = |name| Tracker::start("presence", hub.node(name), |_: &_| {}, config.clone());
    let (a, b, c) = (start("a")?, start("b")?, start("c")?);
    let (alice, bob, carol) = (a.owner(), b.owner(), c.owner());
    a.track(&alice, TOPIC, "alice", "online").await?;
    b.track(&bob, TOPIC, "bob", "online").await?;
    sleep(HUB_PERIOD * 5).await;

    hub.partition(&["a"], &["b", "c"]);
    sleep(Duration::from_millis(600)).await; // both sides see "down"
    let alice2 = a.owner();
    a.track(&alice2, TOPIC, "alice:phone", "online").await?;
    b.untrack(&bob, TOPIC, "bob").await;
    c.track(&carol, TOPIC, "carol", "online").await?;
    sleep(Duration::from_millis(300)).await;

    hub.heal();
    let healed = Instant::now();
    let expected = set(&["alice", "alice:phone", "carol"]);
    loop {
        if keys(&a).await == expected && keys(&b).await == expected && keys(&c).await == expected {
            return Ok(healed.elapsed());
        }
        anyhow::ensure!(
            healed.elapsed() < Duration::from_secs(2),
            "the nodes did not converge within 2 s of the heal"
        );
        sleep(Duration::from_millis(1)).await;
    }
}

/// What one run through Redis measured.
struct RedisRun {
    joins: Duration,
    leave: Duration,
    after_outage: Duration,
}

/// A `redis-server` of our own, killed when dropped.
struct Redis {
    port: u16,
    child: Option<Child>,
}

fn redis_installed() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Redis {
    fn start() -> anyhow::Result<Redis> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut redis = Redis { port, child: None };
        redis.launch()?;
        Ok(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let port = self.port.to_string();
        let mut child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting redis-server")?;
        for _ in 0..100 {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("redis-server on port {port} exited at once ({status})");
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        anyhow::bail!("redis-server did not listen on port {port} within 5 s")
    }

    /// Kills it, like a crash: no goodbye to the clients.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Node {
    name: String,
    tracker: Tracker<String>,
}

async fn redis_nodes(redis: &Redis, channel: &str) -> anyhow::Result<Vec<Node>> {
    let config = TrackerConfig {
        permdown_period: Duration::from_secs(30),
        ..TrackerConfig::with_periods(REDIS_PERIOD, 2)
    };
    let mut nodes = Vec::new();
    for i in 0..3 {
        let name = format!("node{i}@127.0.0.1");
        let pubsub = Arc::new(RedisPubSub::connect_on(&redis.url(), channel, name.clone()).await?);
        anyhow::ensure!(
            pubsub.link().wait_subscribed(Duration::from_secs(5)).await,
            "{name} could not subscribe to Redis within 5 s"
        );
        let shared: Arc<dyn PubSub> = pubsub;
        let transport = Arc::new(PubSubTransport::new(shared, name.clone()));
        let tracker = Tracker::start("presence", transport, |_: &_| {}, config.clone())?;
        nodes.push(Node { name, tracker });
    }
    Ok(nodes)
}

/// Waits until every node lists exactly `expected`; returns how long it took.
async fn converge(nodes: &[Node], expected: &[&str], what: &str) -> anyhow::Result<Duration> {
    let expected = set(expected);
    let started = Instant::now();
    loop {
        let mut agree = true;
        for node in nodes {
            agree &= keys(&node.tracker).await == expected;
        }
        if agree {
            return Ok(started.elapsed());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(15),
            "{what}: the nodes did not agree on {expected:?} within 15 s through Redis"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn track(node: &Node, key: &str) -> anyhow::Result<Owner> {
    let owner = node.tracker.owner();
    node.tracker
        .track(&owner, TOPIC, key, node.name.clone())
        .await?;
    Ok(owner)
}

/// The two scenarios of `tests/redis_replication.rs`, timed, each on a fresh server.
async fn through_redis(run: usize) -> anyhow::Result<RedisRun> {
    let redis = Redis::start()?;
    let nodes = redis_nodes(&redis, &format!("rts:s4:experiment:{run}")).await?;
    let _a = track(&nodes[0], "user:1").await?;
    let _b = track(&nodes[1], "user:2").await?;
    let c = track(&nodes[2], "user:3").await?;
    let joins = converge(&nodes, &["user:1", "user:2", "user:3"], "three joins").await?;
    drop(c);
    let leave = converge(&nodes, &["user:1", "user:2"], "a leave").await?;
    drop(nodes);
    drop(redis);

    let mut redis = Redis::start()?;
    let nodes = redis_nodes(&redis, &format!("rts:s4:outage:{run}")).await?;
    let _a = track(&nodes[0], "user:1").await?;
    let b = track(&nodes[1], "user:2").await?;
    converge(&nodes, &["user:1", "user:2"], "before the outage").await?;
    redis.stop();
    drop(b);
    let _c = track(&nodes[2], "user:3").await?;
    // Long enough for every node to count the others down.
    tokio::time::sleep(OUTAGE).await;
    redis.launch()?;
    let after_outage = converge(&nodes, &["user:1", "user:3"], "after the outage").await?;
    Ok(RedisRun {
        joins,
        leave,
        after_outage,
    })
}

fn part2() -> anyhow::Result<String> {
    let real = real_time_runtime()?;
    let bytes = real.block_on(live_bytes())?;
    eprintln!("live bytes: done");
    let costs = real.block_on(render_costs())?;
    eprintln!("render costs: done");
    let mut block = String::new();
    writeln!(
        block,
        "**What the feed sends, in bytes** (the reference feed over the in-memory socket, \
         30 seeded activities; frames as they go on the wire; the activity Create adds is \
         random, so the click's figures vary by a few tens of bytes from run to run):\n"
    )?;
    writeln!(block, "| what | bytes |\n|---|---:|")?;
    for (what, n) in &bytes.rows {
        writeln!(block, "| {what} | {} |", thousands(*n as f64))?;
    }
    writeln!(
        block,
        "\nThe click's diff is **{:.0}%** of re-sending the full render and **{:.0}%** of the \
         HTML; its keyed moves (`\"<i>\":<j>` entries) are {} of its {} bytes \
         (**{:.0}%**).",
        100.0 * bytes.click_diff as f64 / bytes.full_json as f64,
        100.0 * bytes.click_diff as f64 / bytes.full_html as f64,
        thousands(bytes.moves as f64),
        thousands(bytes.click_diff as f64),
        100.0 * bytes.moves as f64 / bytes.click_diff as f64
    )?;
    writeln!(
        block,
        "\n**What rendering everything costs per event** (the loops of `cargo bench -p live \
         --bench live`, which adds criterion's statistics, on the seeded feed: the page \
         with its {} newest activities against the page without the newest; {} calls per \
         figure, the median of {RENDER_RUNS} runs):\n",
        costs.activities,
        thousands(f64::from(RENDER_CALLS))
    )?;
    writeln!(
        block,
        "| per event | time |\n|---|---:|\n\
         | render + diff against the last render | {} |\n\
         | render + diff + the diff as JSON (all the channel does before the socket) | {} |\n\
         | baseline: render + the full render as JSON (a framework without diffs) | {} |\n\n\
         Render, diff and JSON cost **{:.2}x** the baseline.",
        micros(costs.diff_us),
        micros(costs.diff_json_us),
        micros(costs.full_json_us),
        costs.diff_json_us / costs.full_json_us
    )?;
    Ok(block)
}

/// What the feed sent, by step.
struct LiveBytes {
    rows: Vec<(&'static str, usize)>,
    click_diff: usize,
    full_json: usize,
    full_html: usize,
    moves: usize,
}

/// The next frame with `event`, skipping others.
async fn next(client: &mut ChannelClient, event: &str) -> Frame {
    loop {
        let frame = client.next_frame().await;
        if frame.event == event {
            return frame;
        }
    }
}

/// The bytes of the feed's first page, join, slow load and click.
async fn live_bytes() -> anyhow::Result<LiveBytes> {
    let store = ActivityStore::open("sqlite::memory:").await?;
    seed_store(&store, 30, 7).await?;
    let pubsub: Arc<dyn PubSub> = Arc::new(LocalPubSub::named("cluster"));
    let pages = live_app::live_routes(Implementation::Solution, "a measurement secret key base")
        .state(FeedDeps {
            store: store.clone(),
            pubsub,
        })
        .build();
    let page = pages
        .render("/feed", &HashMap::new())
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut client = pages
        .endpoint()
        .connect_in_memory(&[("_csrf_token", &page.csrf_token)])
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    client.set_timeout(Duration::from_secs(10));
    let topic = format!("lv:{}", page.id);
    let join = client
        .join(
            &topic,
            json!({"url": "http://localhost/feed", "params": {"_csrf_token": page.csrf_token},
                   "session": page.session, "static": null}),
        )
        .await;
    let loaded = next(&mut client, "diff").await;
    let click = client
        .call(
            &topic,
            "event",
            json!({"type": "click", "event": "create", "value": {"value": ""}}),
        )
        .await;
    let created = next(&mut client, "diff").await;
    // What the click would cost without diffs: the whole page again (26 activities).
    let all = store.list_newest(26).await?;
    let whole = feed_page(&all, false);
    let full_json = whole.to_json().to_string().len();
    let full_html = whole.to_html().len();
    let click_diff = created.encode().len();
    Ok(LiveBytes {
        rows: vec![
            (
                "first response: the static HTML page (3 activities)",
                page.html.len(),
            ),
            (
                "join reply: statics + dynamics (3 activities)",
                join.encode().len(),
            ),
            (
                "`diff` after the slow load (25 activities, no statics)",
                loaded.encode().len(),
            ),
            (
                "reply to the Create click (`{\"diff\": {}}`)",
                click.encode().len(),
            ),
            (
                "`diff` after the click (1 new entry + 25 moves + status)",
                click_diff,
            ),
            (
                "without diffs: the full render after the click, as JSON",
                full_json,
            ),
            ("without diffs: the view's HTML after the click", full_html),
        ],
        click_diff,
        full_json,
        full_html,
        moves: moves_bytes(&created.encode()),
    })
}

/// Bytes of the `"<i>":<j>` move entries in an encoded diff (each with its comma).
fn moves_bytes(encoded: &str) -> usize {
    let bytes = encoded.as_bytes();
    let mut total = 0;
    let mut i = 0;
    while i < bytes.len() {
        // A move is `"<digits>":<digits>` followed by `,` or `}`.
        if bytes[i] == b'"' {
            let key_end = bytes[i + 1..]
                .iter()
                .position(|b| !b.is_ascii_digit())
                .map(|p| i + 1 + p);
            if let Some(k) = key_end.filter(|&k| k > i + 1) {
                if bytes.get(k) == Some(&b'"') && bytes.get(k + 1) == Some(&b':') {
                    let value_end = bytes[k + 2..]
                        .iter()
                        .position(|b| !b.is_ascii_digit())
                        .map(|p| k + 2 + p);
                    if let Some(v) = value_end.filter(|&v| v > k + 2) {
                        if matches!(bytes.get(v), Some(b',') | Some(b'}')) {
                            total += v - i + usize::from(bytes[v] == b',');
                            i = v + 1;
                            continue;
                        }
                    }
                }
            }
        }
        i += 1;
    }
    total
}

const RENDER_RUNS: usize = 5;
const RENDER_CALLS: u32 = 10_000;

struct RenderCosts {
    activities: usize,
    diff_us: f64,
    diff_json_us: f64,
    full_json_us: f64,
}

/// The live bench's loops, on the seeded activities of [`live_bytes`].
async fn render_costs() -> anyhow::Result<RenderCosts> {
    let store = ActivityStore::open("sqlite::memory:").await?;
    seed_store(&store, 30, 7).await?;
    let after = store.list_newest(26).await?;
    let before = feed_page(&after[1..], false);
    let mut diff = Vec::new();
    let mut diff_json = Vec::new();
    let mut full_json = Vec::new();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    for _ in 0..RENDER_RUNS {
        diff.push(us(per_call(RENDER_CALLS, || {
            black_box(feed_page(&after, false).diff(&before));
        })));
        diff_json.push(us(per_call(RENDER_CALLS, || {
            black_box(
                serde_json::Value::Object(feed_page(&after, false).diff(&before)).to_string(),
            );
        })));
        full_json.push(us(per_call(RENDER_CALLS, || {
            black_box(feed_page(&after, false).to_json().to_string());
        })));
    }
    Ok(RenderCosts {
        activities: after.len(),
        diff_us: median(diff),
        diff_json_us: median(diff_json),
        full_json_us: median(full_json),
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Microseconds as `27 µs`, `4.1 µs` or `1.46 ms`.
fn micros(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else if us >= 10.0 {
        format!("{us:.0} µs")
    } else {
        format!("{us:.1} µs")
    }
}

/// `19800` as `19,800`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_are_the_digit_to_digit_entries() {
        let diff = r#"{"0":{"1":"x","d":{"k":[5],"m":{"1":0,"2":1,"13":12}}},"2":"3"}"#;
        assert_eq!(moves_bytes(diff), r#""1":0,"2":1,"13":12"#.len());
        assert_eq!(thousands(19_800.0), "19,800");
        assert_eq!(micros(1460.0), "1.46 ms");
        assert_eq!(micros(4.06), "4.1 µs");
    }
}
