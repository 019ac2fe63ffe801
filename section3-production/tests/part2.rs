//! Exercise tests for section 3, part 2: a cluster over Redis (s3.e6).
//!
//! Every test starts a real `redis-server` on a free loopback port (nothing on
//! disk) and two nodes in this process, each with its own Redis connections, as two
//! machines would have. `.ci/run` installs redis-server; without it a local run
//! prints a skip line, and CI fails.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use channels::pubsub::{Broadcast, PubSub, Subscriber, Subscription};
use channels::{Payload, payload};
use serde_json::json;
use testkit::exercise;
use testkit::redis::RedisServer;
use tokio::sync::Notify;

/// A subscriber that keeps the frames it receives (what a channel would push).
#[derive(Default)]
struct Probe {
    frames: Mutex<Vec<String>>,
    arrived: Notify,
}

impl Subscriber for Probe {
    fn deliver(&self, broadcast: &Arc<Broadcast>) {
        self.frames
            .lock()
            .unwrap()
            .push(broadcast.frame().to_string());
        self.arrived.notify_waiters();
    }
}

impl Probe {
    fn frames(&self) -> Vec<String> {
        self.frames.lock().unwrap().clone()
    }

    /// Waits until `count` frames arrived or `limit` passed, then a little longer, so
    /// a duplicate has time to show up; returns all frames.
    async fn wait_for(&self, count: usize, limit: Duration) -> Vec<String> {
        let _ = tokio::time::timeout(limit, async {
            loop {
                let arrived = self.arrived.notified();
                if self.frames.lock().unwrap().len() >= count {
                    return;
                }
                arrived.await;
            }
        })
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.frames()
    }
}

fn activity(id: u64) -> Payload {
    payload(json!({"id": id, "kind": "order.shipped"}))
}

fn frame(id: u64) -> String {
    format!(r#"[null,null,"feed","activity.created",{{"id":{id},"kind":"order.shipped"}}]"#)
}

/// Polls `condition` every 20 ms for up to `limit`.
async fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    condition()
}

const WAIT: Duration = Duration::from_secs(5);

#[exercise(section3_production)]
mod e06_redis_pubsub {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_broadcast_reaches_every_node_once() {
        let Some(redis) = RedisServer::start("e06_redis_pubsub cross-node delivery") else {
            return;
        };
        let app = Arc::new(
            imp::part2::e06_redis_pubsub::RedisPubSub::connect(&redis.url(), "app@127.0.0.1")
                .await
                .unwrap(),
        );
        let backend = Arc::new(
            imp::part2::e06_redis_pubsub::RedisPubSub::connect(&redis.url(), "backend@127.0.0.1")
                .await
                .unwrap(),
        );
        let on_app = Arc::new(Probe::default());
        let on_backend = Arc::new(Probe::default());
        let _a = Subscription::new(app.clone(), "feed", on_app.clone());
        let _b = Subscription::new(backend.clone(), "feed", on_backend.clone());

        let reached = backend.broadcast(Broadcast::new("feed", "activity.created", activity(1)));
        assert_eq!(
            reached, 1,
            "broadcast returns how many subscribers *of this node* it reached: backend has \
             one on `feed`, but it returned {reached}. Deliver locally with \
             `self.local.local_broadcast(..)` and return its count."
        );
        let got = on_app.wait_for(1, WAIT).await;
        assert_eq!(
            got,
            [frame(1)],
            "a broadcast on backend should reach the subscriber on app exactly once, through \
             Redis; app received {got:?}. broadcast must publish an Envelope to the link, and \
             receive must hand what other nodes sent to the local pubsub."
        );
        let got = on_backend.wait_for(1, WAIT).await;
        assert_eq!(
            got,
            [frame(1)],
            "backend's own subscriber should get the broadcast exactly once; it received \
             {got:?}. Redis echoes every message to its publisher too: receive must skip \
             envelopes whose from_node is this node (it delivered them locally already)."
        );

        // And the other way round, with several in a row: order is kept per publisher.
        for id in 2..=4 {
            app.broadcast(Broadcast::new("feed", "activity.created", activity(id)));
        }
        let got = on_backend.wait_for(4, WAIT).await;
        assert_eq!(
            got,
            [frame(1), frame(2), frame(3), frame(4)],
            "backend should receive app's broadcasts once each, in order"
        );
        assert_eq!(
            on_app.wait_for(4, WAIT).await,
            [frame(1), frame(2), frame(3), frame(4)]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nodes_say_who_sent_and_ignore_what_they_cannot_read() {
        let Some(redis) = RedisServer::start("e06_redis_pubsub envelope on the wire") else {
            return;
        };
        let client = redis::Client::open(redis.url()).unwrap();
        let mut wire = client.get_async_pubsub().await.unwrap();
        wire.subscribe(cluster::DEFAULT_CHANNEL).await.unwrap();
        let app = Arc::new(
            imp::part2::e06_redis_pubsub::RedisPubSub::connect(&redis.url(), "app@127.0.0.1")
                .await
                .unwrap(),
        );
        let backend = Arc::new(
            imp::part2::e06_redis_pubsub::RedisPubSub::connect(&redis.url(), "backend@127.0.0.1")
                .await
                .unwrap(),
        );
        let on_app = Arc::new(Probe::default());
        let _a = Subscription::new(app.clone(), "feed", on_app.clone());

        // Someone else publishes garbage on the cluster's channel first.
        let mut publisher = client.get_multiplexed_async_connection().await.unwrap();
        let _: i64 = redis::AsyncCommands::publish(
            &mut publisher,
            cluster::DEFAULT_CHANNEL,
            "not an envelope",
        )
        .await
        .unwrap();
        backend.broadcast(Broadcast::new("feed", "activity.created", activity(7)));

        let got = on_app.wait_for(1, WAIT).await;
        assert_eq!(
            got,
            [frame(7)],
            "after a malformed message on the channel, app should still deliver backend's \
             broadcast (once); it received {got:?}. A message that does not decode is \
             logged and skipped, never a panic: it would end the subscription."
        );

        let mut messages = wire.on_message();
        let mut envelopes = Vec::new();
        while envelopes.len() < 2 {
            let message = tokio::time::timeout(WAIT, futures::StreamExt::next(&mut messages))
                .await
                .expect("the broadcast on the wire")
                .unwrap();
            envelopes.push(String::from_utf8_lossy(message.get_payload_bytes()).into_owned());
        }
        assert_eq!(envelopes[0], "not an envelope");
        let envelope: serde_json::Value = serde_json::from_str(&envelopes[1]).unwrap_or_else(|e| {
            panic!(
                "what backend published is not JSON ({e}): {:?}",
                envelopes[1]
            )
        });
        assert_eq!(
            envelope["from_node"], "backend@127.0.0.1",
            "every message a node publishes names the node (from_node): {envelope}"
        );
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!("s3_e6_envelope_on_the_wire", envelope);
        });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn survives_a_redis_restart_and_counts_what_was_lost() {
        let Some(mut redis) = RedisServer::start("e06_redis_pubsub Redis restart") else {
            return;
        };
        let app = Arc::new(
            imp::part2::e06_redis_pubsub::RedisPubSub::connect(&redis.url(), "app@127.0.0.1")
                .await
                .unwrap(),
        );
        let backend = Arc::new(
            imp::part2::e06_redis_pubsub::RedisPubSub::connect(&redis.url(), "backend@127.0.0.1")
                .await
                .unwrap(),
        );
        let on_app = Arc::new(Probe::default());
        let on_backend = Arc::new(Probe::default());
        let _a = Subscription::new(app.clone(), "feed", on_app.clone());
        let _b = Subscription::new(backend.clone(), "feed", on_backend.clone());
        backend.broadcast(Broadcast::new("feed", "activity.created", activity(1)));
        assert_eq!(
            on_app.wait_for(1, WAIT).await,
            [frame(1)],
            "delivery before the outage"
        );

        redis.stop();
        assert!(
            eventually(WAIT, || !app.link().is_subscribed()
                && !backend.link().is_subscribed())
            .await,
            "both links should notice that Redis is gone"
        );
        for id in 2..=4 {
            backend.broadcast(Broadcast::new("feed", "activity.created", activity(id)));
        }
        assert!(
            eventually(WAIT, || backend.link().stats().lost >= 3).await,
            "the three broadcasts sent while Redis was down should be counted as lost; \
             backend's link says {:?}",
            backend.link().stats()
        );

        redis.restart();
        assert!(
            app.link().wait_subscribed(Duration::from_secs(10)).await,
            "app should resubscribe after Redis restarts"
        );
        assert!(
            backend
                .link()
                .wait_subscribed(Duration::from_secs(10))
                .await,
            "backend should resubscribe after Redis restarts"
        );
        // At-most-once: keep sending until one gets through (the first may meet a
        // connection that has not noticed the restart yet, and is counted lost).
        let mut id = 10;
        let delivered = eventually(WAIT, || {
            id += 1;
            backend.broadcast(Broadcast::new("feed", "activity.created", activity(id)));
            on_app.frames().len() > 1
        })
        .await;
        assert!(
            delivered,
            "after Redis is back, backend's broadcasts should reach app again; app has {:?}",
            on_app.frames()
        );
        let after = on_app.wait_for(2, WAIT).await;
        let outage: Vec<String> = (2..=4).map(frame).collect();
        assert!(
            after.iter().all(|f| !outage.contains(f)),
            "messages sent during the outage are lost, not delivered late: {after:?}"
        );
        let mut unique = after.clone();
        unique.dedup();
        assert_eq!(unique, after, "no message is delivered twice: {after:?}");
        // Local delivery never depended on Redis: all broadcasts reached backend's own.
        assert_eq!(on_backend.frames().len(), 3 + (id - 10) as usize + 1);
    }
}

/// The nodes of a test cluster, as the asker knows them.
fn nodes(names: &[&str]) -> std::collections::BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Answers sent on their own task: each `(after, node, value)` is sent `after` the
/// start. The sender is kept open until `hold_open` has passed, so "the channel
/// closed" never ends a gathering that should end on the deadline.
fn answers(
    script: Vec<(u64, &'static str, u64)>,
    hold_open: Duration,
) -> tokio::sync::mpsc::Receiver<cluster::scatter::Answer<u64>> {
    use cluster::scatter::Answer;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        for (after, node, value) in script {
            tokio::time::sleep_until(start + Duration::from_millis(after)).await;
            let _ = tx
                .send(Answer {
                    node: node.to_string(),
                    value,
                })
                .await;
        }
        tokio::time::sleep_until(start + hold_open).await;
    });
    rx
}

#[exercise(section3_production)]
mod e08_scatter_gather {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn returns_as_soon_as_every_node_answered() {
        let expected = nodes(&["app@127.0.0.1", "backend@127.0.0.1", "worker@127.0.0.1"]);
        let mut replies = answers(
            vec![
                (100, "backend@127.0.0.1", 7),
                (200, "app@127.0.0.1", 12),
                (300, "worker@127.0.0.1", 0),
            ],
            Duration::from_secs(60),
        );
        let started = tokio::time::Instant::now();
        let gathered =
            imp::part2::e08_scatter_gather::gather(&expected, &mut replies, Duration::from_secs(5))
                .await;
        let took = started.elapsed();
        assert_eq!(
            gathered.answered.len(),
            3,
            "all three nodes answered within 300 ms, but gathered.answered is {:?}",
            gathered.answered
        );
        assert_eq!(
            gathered.answered["app@127.0.0.1"], 12,
            "each node's answer is kept under its name"
        );
        assert!(
            gathered.missing.is_empty(),
            "nobody is missing, but missing = {:?}",
            gathered.missing
        );
        assert!(
            took == Duration::from_millis(300),
            "the last answer arrived at 300 ms, so gather should return then; it took {took:?}. \
             Stop waiting once every expected node has answered: the deadline is a limit, not a wait."
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_node_is_named_missing_at_the_deadline() {
        let expected = nodes(&["app@127.0.0.1", "backend@127.0.0.1"]);
        let mut replies = answers(vec![(100, "app@127.0.0.1", 3)], Duration::from_secs(60));
        let started = tokio::time::Instant::now();
        let gathered =
            imp::part2::e08_scatter_gather::gather(&expected, &mut replies, Duration::from_secs(1))
                .await;
        let took = started.elapsed();
        assert_eq!(
            took,
            Duration::from_secs(1),
            "backend never answers: gather should give up exactly at the 1 s deadline; it took {took:?}"
        );
        assert_eq!(
            gathered.answered.into_iter().collect::<Vec<_>>(),
            [("app@127.0.0.1".to_string(), 3)]
        );
        assert_eq!(
            gathered.missing,
            nodes(&["backend@127.0.0.1"]),
            "the answer must say which nodes did not answer, so the caller knows the count is partial"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_is_for_the_whole_gathering_not_each_reply() {
        let expected = nodes(&["a@127.0.0.1", "b@127.0.0.1", "c@127.0.0.1", "d@127.0.0.1"]);
        // Each answer comes 600 ms after the previous one: always within a 1 s
        // timeout of the last, never all within 1 s of the question.
        let mut replies = answers(
            vec![
                (600, "a@127.0.0.1", 1),
                (1200, "b@127.0.0.1", 1),
                (1800, "c@127.0.0.1", 1),
            ],
            Duration::from_secs(60),
        );
        let started = tokio::time::Instant::now();
        let gathered =
            imp::part2::e08_scatter_gather::gather(&expected, &mut replies, Duration::from_secs(1))
                .await;
        let took = started.elapsed();
        assert_eq!(
            took,
            Duration::from_secs(1),
            "with answers trickling in every 600 ms, gather must still return 1 s after it was \
             called; it took {took:?}. A timeout around each `recv()` restarts with every \
             answer: compute one deadline up front (`Instant::now() + limit`) and use \
             `tokio::time::timeout_at`."
        );
        assert_eq!(
            gathered.answered.keys().collect::<Vec<_>>(),
            ["a@127.0.0.1"]
        );
        assert_eq!(
            gathered.missing,
            nodes(&["b@127.0.0.1", "c@127.0.0.1", "d@127.0.0.1"])
        );
    }

    #[tokio::test(start_paused = true)]
    async fn duplicates_latecomers_and_a_closed_channel() {
        let expected = nodes(&["app@127.0.0.1", "backend@127.0.0.1"]);
        // app answers twice; a node nobody expected answers too; then every sender
        // is gone (the cluster shut down) before backend answered.
        let mut replies = answers(
            vec![
                (10, "app@127.0.0.1", 5),
                (20, "app@127.0.0.1", 99),
                (30, "newcomer@127.0.0.1", 1),
            ],
            Duration::from_millis(40),
        );
        let started = tokio::time::Instant::now();
        let gathered =
            imp::part2::e08_scatter_gather::gather(&expected, &mut replies, Duration::from_secs(5))
                .await;
        let took = started.elapsed();
        assert_eq!(
            gathered.answered.get("app@127.0.0.1"),
            Some(&5),
            "a node that answers twice counts once, with its first answer; answered = {:?}",
            gathered.answered
        );
        assert_eq!(
            gathered.answered.get("newcomer@127.0.0.1"),
            Some(&1),
            "a node that joined after the question went out still answered: keep its answer"
        );
        assert_eq!(gathered.missing, nodes(&["backend@127.0.0.1"]));
        assert_eq!(
            took,
            Duration::from_millis(40),
            "when the replies channel closes nobody can answer any more: return then, not at \
             the deadline; gather took {took:?}"
        );
    }
}

mod two_nodes {
    pub use activity::{ActivityKind, ActivityStore, CustomerTier, NewActivity};
    pub use channels::client::ChannelClient;
    pub use section3_production::Implementation;
    pub use section3_production::node::{Node, NodeConfig};

    /// The `app` node of the demo: section 2's channels served on a free port, on the
    /// reference Redis adapter (s3.e7 is about the backend's half).
    pub async fn app_node(url: &str) -> Node {
        Node::start(&NodeConfig {
            name: "app@127.0.0.1".into(),
            redis_url: Some(url.into()),
            implementation: Implementation::Solution,
            database: "sqlite::memory:".into(),
            check_origin: Default::default(),
        })
        .await
        .expect("start the app node")
    }

    pub fn espresso() -> NewActivity {
        NewActivity::new(
            "Ada L.",
            "bought 2 × espresso grinder",
            ActivityKind::Purchase,
            CustomerTier::Pro,
        )
    }
}

#[exercise(section3_production)]
mod e07_two_nodes {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_activity_created_on_backend_reaches_a_client_on_app() {
        use two_nodes::*;
        let Some(redis) = RedisServer::start("e07_two_nodes two-node demo") else {
            return;
        };
        let app = app_node(&redis.url()).await;
        let server = app.serve(0).await.unwrap();
        let mut browser = ChannelClient::connect(&server.socket_url("/socket", &[]))
            .await
            .unwrap();
        browser.join("feed", json!({})).await;

        // The backend node: no web server, its own store and its own Redis link.
        let backend = section3_production::solution::part2::e06_redis_pubsub::RedisPubSub::connect(
            &redis.url(),
            "backend@127.0.0.1",
        )
        .await
        .unwrap();
        let store = ActivityStore::open("sqlite::memory:").await.unwrap();
        let stored = imp::part2::e07_two_nodes::create_activity(&store, &backend, espresso())
            .await
            .expect("a valid activity is created");

        assert_eq!(
            store.list_newest(10).await.unwrap(),
            std::slice::from_ref(&stored),
            "create_activity should store the activity (ActivityStore::create) and return what \
             was stored, with its id and time"
        );
        let pushed = tokio::time::timeout(WAIT, browser.next_frame())
            .await
            .expect("the browser on app should receive the activity created on backend within 5 s: \
                     broadcast it on the pubsub (topic `feed`, event `activity.created`) after storing it");
        assert_eq!(
            (pushed.topic.as_str(), pushed.event.as_str()),
            ("feed", "activity.created"),
            "the browser joined `feed` and expects `activity.created`; it received {pushed:?}"
        );
        assert_eq!(
            pushed.payload,
            serde_json::to_value(&stored).unwrap(),
            "the payload should be the *stored* activity (with the id and occurred_at the \
             database gave it), so every browser shows the same entry"
        );
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_activity_that_cannot_be_stored_is_not_broadcast() {
        use two_nodes::*;
        let Some(redis) = RedisServer::start("e07_two_nodes invalid activity") else {
            return;
        };
        let backend = section3_production::solution::part2::e06_redis_pubsub::RedisPubSub::connect(
            &redis.url(),
            "backend@127.0.0.1",
        )
        .await
        .unwrap();
        let watcher = Arc::new(Probe::default());
        let _watching = Subscription::new(Arc::new(backend), "feed", watcher.clone());
        // Build a second handle on the same cluster to broadcast from: the probe sits
        // on the first node, as a browser on another node would.
        let backend = section3_production::solution::part2::e06_redis_pubsub::RedisPubSub::connect(
            &redis.url(),
            "backend2@127.0.0.1",
        )
        .await
        .unwrap();
        let store = ActivityStore::open("sqlite::memory:").await.unwrap();
        let mut empty = espresso();
        empty.who = "   ".into();
        let outcome = imp::part2::e07_two_nodes::create_activity(&store, &backend, empty).await;
        assert!(
            outcome.is_err(),
            "an activity with an empty `who` must be refused by the store, and the error \
             returned; create_activity returned {outcome:?}"
        );
        let seen = watcher.wait_for(1, Duration::from_millis(500)).await;
        assert!(
            seen.is_empty(),
            "nothing was stored, yet the cluster received {seen:?}. Store first and broadcast \
             only what was stored: the database is the truth."
        );
        assert_eq!(store.count().await.unwrap(), 0);
    }
}
