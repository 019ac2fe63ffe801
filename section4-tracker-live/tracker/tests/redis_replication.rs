//! Three trackers replicating through a real Redis: the same `PubSubTransport` as on a
//! `LocalPubSub`, over section 3's `RedisPubSub` (reference). Each test starts its own
//! `redis-server` on a free port; without one it prints why it skipped (in CI, where
//! `CI` is set, it fails instead).
//!
//! Real time here (Redis is a real process), so the periods are short and every wait
//! has a generous deadline; `--nocapture` prints the convergence times.
//!
//! A node that stops runs as a process would: on a runtime of its own, dropped when
//! it is done, so whatever it had not sent by then is lost, as on a real exit.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use channels::{Broadcast, PubSub};
use section3_reference::part2::e06_redis_pubsub::RedisPubSub;
use testkit::redis::RedisServer;
use tokio::time::{Instant, sleep};
use tracker::pubsub_transport::PubSubTransport;
use tracker::{Owner, Tracker, TrackerConfig};

const PERIOD: Duration = Duration::from_millis(50);
const TOPIC: &str = "room:lobby";
/// Far beyond what convergence takes (a few periods, plus Redis reconnect backoff).
const DEADLINE: Duration = Duration::from_secs(15);

fn config() -> TrackerConfig {
    TrackerConfig {
        permdown_period: Duration::from_secs(30),
        ..TrackerConfig::with_periods(PERIOD, 2)
    }
}

/// A down period 20 times the broadcast period, like production's (30 s against
/// 1.5 s), for the tests that tell a graceful stop from a crash: with the
/// reference suite's 4 periods, the two would overlap.
fn long_down_config() -> TrackerConfig {
    TrackerConfig {
        down_period: PERIOD * 20,
        ..config()
    }
}

struct Node {
    name: String,
    tracker: Tracker<String>,
    pubsub: Arc<RedisPubSub>,
}

async fn start_nodes(redis: &RedisServer, channel: &str, count: usize) -> Vec<Node> {
    start_nodes_with(redis, channel, count, config()).await
}

async fn start_nodes_with(
    redis: &RedisServer,
    channel: &str,
    count: usize,
    config: TrackerConfig,
) -> Vec<Node> {
    let mut nodes = Vec::new();
    for i in 0..count {
        let name = format!("node{i}@127.0.0.1");
        let pubsub = Arc::new(
            RedisPubSub::connect_on(&redis.url(), channel, name.clone())
                .await
                .expect("connect to our redis-server"),
        );
        assert!(
            pubsub.link().wait_subscribed(Duration::from_secs(5)).await,
            "{name} could not subscribe to Redis within 5 s"
        );
        let shared: Arc<dyn PubSub> = pubsub.clone();
        let transport = Arc::new(PubSubTransport::new(shared, name.clone()));
        let tracker = Tracker::start("presence", transport, |_: &_| {}, config.clone())
            .expect("valid config");
        nodes.push(Node {
            name,
            tracker,
            pubsub,
        });
    }
    nodes
}

async fn keys(tracker: &Tracker<String>) -> BTreeSet<String> {
    tracker
        .list(TOPIC)
        .await
        .into_iter()
        .map(|(key, _)| key.to_string())
        .collect()
}

/// Waits until every node lists exactly `expected`; returns how long it took.
async fn converge(nodes: &[Node], expected: &[&str], what: &str) -> Duration {
    let expected: BTreeSet<String> = expected.iter().map(|k| k.to_string()).collect();
    let started = Instant::now();
    loop {
        let mut lists = Vec::new();
        for node in nodes {
            lists.push((node.name.clone(), keys(&node.tracker).await));
        }
        if lists.iter().all(|(_, keys)| *keys == expected) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{what}: the nodes did not agree on {expected:?} within {DEADLINE:?} through \
             Redis; they list {lists:?}"
        );
        sleep(Duration::from_millis(2)).await;
    }
}

async fn track(node: &Node, key: &str) -> Owner {
    let owner = node.tracker.owner();
    node.tracker
        .track(&owner, TOPIC, key, node.name.clone())
        .await
        .expect("a new owner");
    owner
}

#[tokio::test]
async fn three_trackers_replicate_through_redis() {
    let Some(redis) = RedisServer::start("three_trackers_replicate_through_redis") else {
        return;
    };
    let nodes = start_nodes(&redis, "rts:s4:replicate", 3).await;
    let _a = track(&nodes[0], "user:1").await;
    let _b = track(&nodes[1], "user:2").await;
    let c = track(&nodes[2], "user:3").await;
    let took = converge(&nodes, &["user:1", "user:2", "user:3"], "three joins").await;
    println!(
        "three joins on three nodes: every node listed all three after {} ms ({:.1} broadcast periods)",
        took.as_millis(),
        took.as_secs_f64() / PERIOD.as_secs_f64()
    );
    drop(c);
    let took = converge(&nodes, &["user:1", "user:2"], "a leave").await;
    println!("a leave: gone everywhere after {} ms", took.as_millis());
    for node in &nodes {
        assert!(
            node.pubsub.link().stats().published > 0,
            "{} sent nothing through Redis",
            node.name
        );
    }
}

#[tokio::test]
async fn a_redis_outage_heals_into_one_list() {
    let Some(mut redis) = RedisServer::start("a_redis_outage_heals_into_one_list") else {
        return;
    };
    let nodes = start_nodes(&redis, "rts:s4:outage", 3).await;
    let _a = track(&nodes[0], "user:1").await;
    let b = track(&nodes[1], "user:2").await;
    converge(&nodes, &["user:1", "user:2"], "before the outage").await;

    // Every node is cut off from every other; each goes on changing its own part.
    redis.stop();
    drop(b);
    let _c = track(&nodes[2], "user:3").await;
    // Long enough for every node to count the others down (4 silent periods).
    sleep(PERIOD * 10).await;
    redis.restart();
    let took = converge(&nodes, &["user:1", "user:3"], "after the outage").await;
    println!(
        "after a {} ms Redis outage: the three nodes agreed {} ms after redis-server came \
         back (reconnect backoff included)",
        (PERIOD * 10).as_millis(),
        took.as_millis()
    );
}

/// Broadcasts the stopping node still has queued for Redis when it stops.
const BACKLOG: usize = 100;

/// How the node of [`NodeProcess`] stops.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stop {
    /// SIGTERM or Ctrl-C: `graceful_permdown`, then the process exits.
    Graceful,
    /// SIGKILL: the process is gone, nothing sent.
    Crash,
}

/// A node running as its own process would: its own runtime on its own thread,
/// tracking `users` until told to stop, then stopping as told and exiting (the
/// runtime, its Redis connections and everything still queued, dropped).
struct NodeProcess {
    stop: tokio::sync::oneshot::Sender<()>,
    exited: tokio::sync::oneshot::Receiver<()>,
}

impl NodeProcess {
    async fn start(redis: &RedisServer, channel: &str, users: &[&str], how: Stop) -> NodeProcess {
        let (url, channel) = (redis.url(), channel.to_owned());
        let users: Vec<String> = users.iter().map(|u| u.to_string()).collect();
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (exited_tx, exited) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let name = "leaving@127.0.0.1".to_owned();
                let pubsub = Arc::new(
                    RedisPubSub::connect_on(&url, &channel, name.clone())
                        .await
                        .expect("connect to our redis-server"),
                );
                assert!(pubsub.link().wait_subscribed(Duration::from_secs(5)).await);
                let shared: Arc<dyn PubSub> = pubsub.clone();
                let transport = Arc::new(PubSubTransport::new(shared, name.clone()));
                let tracker = Tracker::start("presence", transport, |_: &_| {}, long_down_config())
                    .expect("valid config");
                let mut owners = Vec::new();
                for user in &users {
                    let owner = tracker.owner();
                    tracker
                        .track(&owner, TOPIC, user, name.clone())
                        .await
                        .unwrap();
                    owners.push(owner);
                }
                let _ = ready_tx.send(());
                let _ = stop_rx.await;
                // A busy node: its last broadcasts are still queued for Redis when
                // the stop comes, and the goodbye queues behind them.
                for n in 0..BACKLOG {
                    let chatter = channels::payload(serde_json::json!({ "n": n }));
                    pubsub.broadcast(Broadcast::new("room:busy", "chatter", chatter));
                }
                if how == Stop::Graceful {
                    tracker.graceful_permdown().await;
                }
                // The owners die with the process: their untracks never leave it
                // (block_on returns at once, the shard does not run again).
                std::mem::forget(owners);
            });
            drop(runtime);
            let _ = exited_tx.send(());
        });
        ready.await.expect("the node process started");
        NodeProcess { stop, exited }
    }
}

/// Node "leaving" tracks two users in its own process; the nodes here list them;
/// then it stops as `how` says. Returns how long the others still listed its users.
async fn listed_after_stop(redis: &RedisServer, channel: &str, how: Stop) -> Duration {
    let nodes = start_nodes_with(redis, channel, 2, long_down_config()).await;
    let _here = track(&nodes[0], "user:1").await;
    let leaving = NodeProcess::start(redis, channel, &["user:7", "user:8"], how).await;
    converge(&nodes, &["user:1", "user:7", "user:8"], "before the stop").await;

    let stopped = Instant::now();
    leaving.stop.send(()).unwrap();
    leaving.exited.await.expect("the node process exited");
    let exited = stopped.elapsed();
    converge(&nodes, &["user:1"], &format!("after a {how:?}")).await;
    let listed = stopped.elapsed();
    println!(
        "{how:?}: the process exited after {} ms; the other nodes listed its users for \
         {} ms ({:.1} broadcast periods; the down period is {} ms)",
        exited.as_millis(),
        listed.as_millis(),
        listed.as_secs_f64() / PERIOD.as_secs_f64(),
        long_down_config().down_period.as_millis()
    );
    listed
}

#[tokio::test]
async fn a_node_stopping_gracefully_leaves_the_others_within_two_periods() {
    let test = "a_node_stopping_gracefully_leaves_the_others_within_two_periods";
    let Some(redis) = RedisServer::start(test) else {
        return;
    };
    let took = listed_after_stop(&redis, "rts:s4:graceful", Stop::Graceful).await;
    assert!(
        took <= PERIOD * 2,
        "the goodbye went through Redis before the process exited, so the others drop its \
         users at once; they listed them for {took:?} (two periods: {:?})",
        PERIOD * 2
    );
}

#[tokio::test]
async fn a_crashed_node_leaves_the_others_only_after_the_down_period() {
    let Some(redis) =
        RedisServer::start("a_crashed_node_leaves_the_others_only_after_the_down_period")
    else {
        return;
    };
    let took = listed_after_stop(&redis, "rts:s4:crash", Stop::Crash).await;
    let down = long_down_config().down_period;
    // Its last heartbeat came up to three periods before the crash.
    assert!(
        took >= down - PERIOD * 3,
        "no goodbye from a crash: the others wait for the down period ({down:?}); took {took:?}"
    );
}
