//! Trackers gossiping over section 2's PubSub: two nodes on one `LocalPubSub` (what
//! section 3 replaces with Redis), on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use channels::{LocalPubSub, PubSub};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::time::sleep;
use tracker::pubsub_transport::PubSubTransport;
use tracker::{Diff, Tracker, TrackerConfig};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Meta {
    name: String,
}

fn meta(name: &str) -> Meta {
    Meta { name: name.into() }
}

const PERIOD: Duration = Duration::from_millis(100);

fn start(
    pubsub: &Arc<dyn PubSub>,
    node: &str,
) -> (Tracker<Meta>, mpsc::UnboundedReceiver<Diff<Meta>>) {
    let (tx, diffs) = mpsc::unbounded_channel();
    let transport = Arc::new(PubSubTransport::new(pubsub.clone(), node));
    let config = TrackerConfig {
        pool_size: 2,
        permdown_period: Duration::from_millis(1500),
        ..TrackerConfig::with_periods(PERIOD, 2)
    };
    let tracker = Tracker::start(
        "presence",
        transport,
        move |diff: &Diff<Meta>| {
            let _ = tx.send(diff.clone());
        },
        config,
    )
    .expect("valid config");
    (tracker, diffs)
}

async fn keys(tracker: &Tracker<Meta>, topic: &str) -> Vec<(String, String)> {
    let mut keys: Vec<_> = tracker
        .list(topic)
        .await
        .into_iter()
        .map(|(key, tracked)| (key.to_string(), tracked.meta.name))
        .collect();
    keys.sort();
    keys
}

fn joined_keys(diffs: &mut mpsc::UnboundedReceiver<Diff<Meta>>) -> Vec<String> {
    let mut joined = Vec::new();
    while let Ok(diff) = diffs.try_recv() {
        for topic_diff in diff.values() {
            joined.extend(topic_diff.joins.iter().map(|(key, _)| key.to_string()));
        }
    }
    joined.sort();
    joined
}

#[tokio::test(start_paused = true)]
async fn two_trackers_on_one_local_pubsub_converge() {
    let pubsub: Arc<dyn PubSub> = Arc::new(LocalPubSub::named("cluster"));
    let (app, mut app_diffs) = start(&pubsub, "app@127.0.0.1");
    let (back, mut back_diffs) = start(&pubsub, "back@127.0.0.1");

    let alice = app.owner();
    let bob = back.owner();
    app.track(&alice, "room:lobby", "user:1", meta("Alice"))
        .await
        .expect("track on app");
    back.track(&bob, "room:lobby", "user:2", meta("Bob"))
        .await
        .expect("track on back");
    back.track(&bob, "room:kitchen", "user:2", meta("Bob"))
        .await
        .expect("track on back");

    // A few heartbeats: the replicas meet, exchange deltas and transfers.
    sleep(PERIOD * 5).await;
    let expected = vec![
        ("user:1".to_string(), "Alice".to_string()),
        ("user:2".to_string(), "Bob".to_string()),
    ];
    assert_eq!(
        keys(&app, "room:lobby").await,
        expected,
        "app's view of the lobby"
    );
    assert_eq!(
        keys(&back, "room:lobby").await,
        expected,
        "back's view of the lobby"
    );
    assert_eq!(keys(&app, "room:kitchen").await, vec![expected[1].clone()]);
    // `count` is `list`'s length without the copies, remote presences included.
    assert_eq!(
        app.count("room:lobby").await,
        2,
        "count sees back's Bob too"
    );
    assert_eq!(app.count("room:kitchen").await, 1);
    assert_eq!(
        app.count("room:attic").await,
        0,
        "an unknown topic counts 0"
    );
    // handle_diff fired on both nodes for the remote joins too.
    assert_eq!(joined_keys(&mut app_diffs), ["user:1", "user:2", "user:2"]);
    assert_eq!(joined_keys(&mut back_diffs), ["user:1", "user:2", "user:2"]);

    // Ending an owner untracks its presences on every node.
    drop(bob);
    sleep(PERIOD * 5).await;
    assert_eq!(keys(&app, "room:lobby").await, vec![expected[0].clone()]);
    assert!(keys(&app, "room:kitchen").await.is_empty());
    assert_eq!(
        app.count("room:kitchen").await,
        0,
        "Bob left: count is 0 again"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stopped_tracker_unsubscribes_from_the_pubsub() {
    let local = Arc::new(LocalPubSub::named("cluster"));
    let pubsub: Arc<dyn PubSub> = local.clone();
    let (app, _diffs) = start(&pubsub, "app@127.0.0.1");
    sleep(PERIOD).await;
    let topic = "tracker:presence:shard0";
    assert_eq!(
        local.subscriber_count(topic),
        1,
        "the shard listens on {topic}"
    );
    assert_eq!(
        local.subscriber_count(&PubSubTransport::<Meta>::direct_topic(
            topic,
            "app@127.0.0.1"
        )),
        1,
        "and on its direct topic"
    );
    drop(app);
    sleep(PERIOD * 3).await;
    assert_eq!(
        local.subscriber_count(topic),
        0,
        "dropping the tracker unsubscribes"
    );
}

#[tokio::test(start_paused = true)]
async fn malformed_gossip_is_ignored_and_replication_goes_on() {
    use channels::{Broadcast, payload};
    use tracker::pubsub_transport::GOSSIP_EVENT;

    let pubsub: Arc<dyn PubSub> = Arc::new(LocalPubSub::named("cluster"));
    let (app, _app_diffs) = start(&pubsub, "app@127.0.0.1");
    let (back, _back_diffs) = start(&pubsub, "back@127.0.0.1");
    // Garbage on every shard topic and on a direct topic: no panic, no lost shard.
    for shard in 0..2 {
        let topic = format!("tracker:presence:shard{shard}");
        for body in [
            serde_json::json!({"node": "mallory", "gossip": {"Heartbeat": 42}}),
            serde_json::json!({"node": "mallory"}),
            serde_json::json!({"gossip": "not a message"}),
        ] {
            pubsub.broadcast(Broadcast::new(
                topic.as_str(),
                GOSSIP_EVENT,
                payload(body.clone()),
            ));
            let direct = PubSubTransport::<Meta>::direct_topic(&topic, "app@127.0.0.1");
            pubsub.broadcast(Broadcast::new(direct, GOSSIP_EVENT, payload(body)));
        }
    }
    let alice = app.owner();
    app.track(&alice, "room:lobby", "user:1", meta("Alice"))
        .await
        .expect("the shard survived the garbage");
    sleep(PERIOD * 5).await;
    assert_eq!(
        keys(&back, "room:lobby").await,
        vec![("user:1".to_string(), "Alice".to_string())]
    );
}
