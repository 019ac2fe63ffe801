//! The cluster's query plane against a real `redis-server`: membership by
//! heartbeat, a question to every node, and a node that goes away.
//!
//! Provided infrastructure, not an exercise (its gathering is s3.e8's reference).

use std::sync::Arc;
use std::time::Duration;

use cluster::queries::{ClusterQueries, Membership};
use cluster::scatter::Gathered;
use serde_json::{Value, json};
use testkit::redis::RedisServer;

const FAST: Membership = Membership {
    heartbeat: Duration::from_millis(100),
    expiry: Duration::from_millis(500),
};

async fn node(redis: &RedisServer, name: &str, users: u64) -> ClusterQueries {
    let answerer = Arc::new(move |question: &str| match question {
        "connected_users" => json!(users),
        _ => Value::Null,
    });
    ClusterQueries::connect(&redis.url(), name, FAST, answerer)
        .await
        .unwrap()
}

/// Asks every node how many users it has, gathering as a clustered node's
/// `GET /cluster/users` does.
async fn ask(node: &ClusterQueries, limit: Duration) -> Gathered<Value> {
    section3_production::node::ask(node, "connected_users", limit).await
}

async fn until_members(node: &ClusterQueries, count: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while node.members().len() != count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected {count} members, {:?} has {:?}",
            node.members(),
            node.members()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_answers_and_a_lost_node_is_named() {
    let Some(redis) = RedisServer::start("cluster scatter-gather") else {
        return;
    };
    let app = node(&redis, "app@127.0.0.1", 3).await;
    let backend = node(&redis, "backend@127.0.0.1", 5).await;
    let worker = node(&redis, "worker@127.0.0.1", 0).await;
    until_members(&app, 3).await;
    until_members(&backend, 3).await;

    let gathered = ask(&app, Duration::from_secs(1)).await;
    assert!(gathered.missing.is_empty(), "{gathered:?}");
    assert_eq!(
        gathered.answered.into_iter().collect::<Vec<_>>(),
        [
            ("app@127.0.0.1".to_string(), json!(3)),
            ("backend@127.0.0.1".to_string(), json!(5)),
            ("worker@127.0.0.1".to_string(), json!(0)),
        ]
    );

    // The worker crashes: it is still a member until its heartbeat expires, and
    // the question names it as not answering.
    drop(worker);
    let started = tokio::time::Instant::now();
    let gathered = ask(&backend, Duration::from_millis(300)).await;
    assert_eq!(
        gathered.missing.into_iter().collect::<Vec<_>>(),
        ["worker@127.0.0.1"]
    );
    assert_eq!(gathered.answered.len(), 2, "{:?}", gathered.answered);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Once the heartbeat expired, the cluster is two nodes and answers in full.
    until_members(&app, 2).await;
    let gathered = ask(&app, Duration::from_secs(1)).await;
    assert!(gathered.missing.is_empty(), "{gathered:?}");
    assert_eq!(gathered.answered.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_leaves_says_goodbye_and_is_dropped_before_its_expiry() {
    let Some(redis) = RedisServer::start("cluster goodbye") else {
        return;
    };
    // A long expiry: only the goodbye can drop the worker within the test.
    let slow = Membership {
        heartbeat: Duration::from_millis(100),
        expiry: Duration::from_secs(60),
    };
    let answerer: Arc<dyn Fn(&str) -> Value + Send + Sync> = Arc::new(|_: &str| json!(0));
    let app = ClusterQueries::connect(&redis.url(), "app@127.0.0.1", slow, answerer.clone())
        .await
        .unwrap();
    let worker = ClusterQueries::connect(&redis.url(), "worker@127.0.0.1", slow, answerer)
        .await
        .unwrap();
    until_members(&app, 2).await;

    let left = tokio::time::Instant::now();
    worker.leave().await;
    until_members(&app, 1).await;
    assert_eq!(
        app.members().into_iter().collect::<Vec<_>>(),
        ["app@127.0.0.1"]
    );
    assert!(
        left.elapsed() < Duration::from_secs(5),
        "the worker left after {:?}: with its goodbye it goes at once, not after the 60 s expiry",
        left.elapsed()
    );
    // No heartbeat after the goodbye brings it back.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.members().len(), 1, "{:?}", app.members());
    // A question asked now does not wait for the node that left.
    let gathered = ask(&app, Duration::from_millis(300)).await;
    assert!(gathered.missing.is_empty(), "{gathered:?}");
    drop(worker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_redis_fills_a_bounded_queue_and_the_overflow_is_counted() {
    use cluster::RedisLink;
    use cluster::redis_link::OUTBOUND_QUEUE;

    let Some(redis) = RedisServer::start("cluster bounded publish queue") else {
        return;
    };
    let link = RedisLink::connect(&redis.url(), "rts:test", |_| {})
        .await
        .unwrap();
    redis.freeze();
    // The publisher task takes one message and waits on the frozen Redis; the queue
    // holds OUTBOUND_QUEUE more; everything beyond is dropped at once, and counted.
    let extra = 500;
    let sent = OUTBOUND_QUEUE + 1 + extra;
    let started = std::time::Instant::now();
    let accepted = (0..sent)
        .filter(|n| link.publish(format!("{{\"n\":{n}}}").into_bytes()))
        .count();
    let took = started.elapsed();
    redis.thaw();
    assert!(
        took < Duration::from_secs(1),
        "publishing must never wait for Redis; {sent} publishes took {took:?}"
    );
    assert!(
        accepted <= OUTBOUND_QUEUE + 1,
        "at most the queue plus the one in flight are accepted, got {accepted}"
    );
    assert_eq!(
        link.stats().lost as usize,
        sent - accepted,
        "every message that did not fit is counted as lost"
    );
}

#[tokio::test]
async fn without_a_redis_url_a_node_runs_alone_on_the_in_process_pubsub() {
    use section3_production::Implementation;
    use section3_production::node::{Node, NodeConfig};

    let node = Node::start(&NodeConfig {
        name: "solo@127.0.0.1".into(),
        redis_url: None,
        implementation: Implementation::Solution,
        database: "sqlite::memory:".into(),
        check_origin: Default::default(),
    })
    .await
    .expect("a node needs nothing to run alone");
    assert!(node.queries.is_none(), "no cluster, no cluster queries");
    assert_eq!(node.endpoint.pubsub().node_name(), "solo@127.0.0.1");
    let reached = node
        .endpoint
        .broadcast("feed", "activity.created", serde_json::Map::new());
    assert_eq!(reached, 0, "nobody joined, nobody reached, nothing failed");
}
