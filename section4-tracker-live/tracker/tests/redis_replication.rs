//! Three trackers replicating through a real Redis: the same `PubSubTransport` as on a
//! `LocalPubSub`, over section 3's `RedisPubSub` (reference). Each test starts its own
//! `redis-server` on a free port; without one it prints why it skipped (in CI, where
//! `CI` is set, it fails instead).
//!
//! Real time here (Redis is a real process), so the periods are short and every wait
//! has a generous deadline; `--nocapture` prints the convergence times.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use channels::PubSub;
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

struct Node {
    name: String,
    tracker: Tracker<String>,
    pubsub: Arc<RedisPubSub>,
}

async fn start_nodes(redis: &RedisServer, channel: &str, count: usize) -> Vec<Node> {
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
        let tracker =
            Tracker::start("presence", transport, |_: &_| {}, config()).expect("valid config");
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
        sleep(Duration::from_millis(10)).await;
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
