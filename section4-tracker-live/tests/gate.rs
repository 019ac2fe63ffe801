//! Exercise tests for s4.e4, the tracker-gated pipeline.
//!
//! Written once, instantiated for your code (`e04_gated_pipeline::start::*`, ignored by a plain
//! `cargo test`, run by `cargo xtask check`) and the reference (`e04_gated_pipeline::solution::*`).
//! Time is paused: the resource's 500 ms holds and the tracker's heartbeats cost no
//! real time. Dashboards join `sensor:<id>` through a real channel, in memory.

use std::sync::Arc;
use std::time::Duration;

use channels::client::{ChannelClient, Received, reply_status};
use channels::{LocalPubSub, PubSub};
use pipeline::mock_resource::MockResource;
use section4_tracker_live::Implementation;
use section4_tracker_live::gated::{
    GateCounts, GatedNode, GatedPipeline, Handler, SensorReading, sensor_topic,
};
use serde_json::json;
use testkit::exercise;
use tracker::TrackerConfig;

const PERIOD: Duration = Duration::from_millis(100);
const WORKERS: usize = 4;

fn config() -> TrackerConfig {
    TrackerConfig {
        permdown_period: Duration::from_millis(1500),
        ..TrackerConfig::with_periods(PERIOD, 2)
    }
}

/// A node alone, on the paused clock, with its own resource (so counts are this test's).
fn node() -> (GatedNode, MockResource) {
    tokio::time::pause();
    let pubsub: Arc<dyn PubSub> = Arc::new(LocalPubSub::named("app@127.0.0.1"));
    let resource = MockResource::new();
    let node = GatedNode::start(
        pubsub.clone(),
        pubsub,
        "app@127.0.0.1",
        config(),
        resource.clone(),
    )
    .expect("valid config");
    (node, resource)
}

async fn watch(node: &GatedNode, sensor: u32, user_id: &str) -> ChannelClient {
    let mut client = node
        .endpoint
        .connect_in_memory(&[])
        .expect("the sensor socket lets everyone in");
    let topic = sensor_topic(sensor);
    let reply = client
        .join(
            &topic,
            json!({"user_id": user_id, "name": format!("dashboard {user_id}")}),
        )
        .await;
    assert_eq!(
        reply_status(&reply),
        Some("ok"),
        "joining {topic}: {reply:?}"
    );
    client
}

/// Pushes `per_sensor` readings for each sensor in `sensors`, ids from `first_id`, and
/// waits until the pool handled them all.
async fn run(
    node: &GatedNode,
    implementation: Implementation,
    sensors: std::ops::Range<u32>,
    per_sensor: u32,
    first_id: u64,
) -> GateCounts {
    let before = node.stage.stats.counts();
    let pipeline = GatedPipeline::spawn(
        node.stage.clone(),
        Handler::from(implementation),
        WORKERS,
        16,
    );
    let mut id = first_id;
    for _ in 0..per_sensor {
        for sensor in sensors.clone() {
            pipeline
                .push(SensorReading {
                    id,
                    sensor,
                    celsius: 21.5,
                })
                .await;
            id += 1;
        }
    }
    let after = pipeline.finish().await;
    let counts = GateCounts {
        events: after.events - before.events,
        delivered: after.delivered - before.delivered,
        skipped: after.skipped - before.skipped,
        failed: after.failed - before.failed,
    };
    assert_eq!(
        counts.failed, 0,
        "{} of {} readings panicked in handle_reading (a `todo!()` left in \
         src/start/part1/e04_gated_pipeline.rs?): every reading must end as Delivered or Skipped",
        counts.failed, counts.events
    );
    counts
}

/// The ids of the `reading` pushes `client` has received so far, in order.
async fn received_ids(client: &mut ChannelClient) -> Vec<u64> {
    client.set_timeout(Duration::from_millis(50));
    let mut ids = Vec::new();
    while let Some(Received::Frame(frame)) = client.next().await {
        if frame.event == "reading" {
            ids.push(frame.payload["id"].as_u64().expect("a reading has an id"));
        }
    }
    ids
}

#[exercise(section4_tracker_live)]
mod e04_gated_pipeline {
    use super::*;

    #[tokio::test]
    async fn only_watched_topics_use_the_resource() {
        let (node, resource) = node();
        let _kitchen = watch(&node, 3, "1").await;
        let _garage = watch(&node, 7, "2").await;
        let counts = run(&node, IMPLEMENTATION, 0..10, 5, 1).await;
        assert_eq!(
            (resource.usage().total, counts.delivered),
            (10, 10),
            "dashboards watch sensor:3 and sensor:7 of ten sensors, five readings each: \
             the resource should be used 10 times (only for watched topics), got {} uses \
             and {} delivered. Ask the tracker before calling stage.enrich.",
            resource.usage().total,
            counts.delivered
        );
        assert_eq!(
            (counts.events, counts.skipped),
            (50, 40),
            "the 40 readings of unwatched sensors must come back as Outcome::Skipped, \
             counted, not dropped: {counts:?}"
        );
    }

    #[tokio::test]
    async fn delivered_readings_reach_the_watchers() {
        let (node, _resource) = node();
        let mut dashboard = watch(&node, 3, "1").await;
        let counts = run(&node, IMPLEMENTATION, 3..4, 3, 100).await;
        assert_eq!(counts.delivered, 3, "{counts:?}");
        assert_eq!(
            received_ids(&mut dashboard).await,
            vec![100, 101, 102],
            "the dashboard on sensor:3 should get each enriched reading as a `reading` \
             push: broadcast stage.enrich's payload on the reading's topic"
        );
    }

    #[tokio::test]
    async fn a_watcher_who_joins_mid_stream_starts_receiving() {
        let (node, resource) = node();
        let before = run(&node, IMPLEMENTATION, 5..6, 4, 1).await;
        assert_eq!(
            (before.skipped, resource.usage().total),
            (4, 0),
            "nobody watches sensor:5 yet: skip all four readings without using the \
             resource; got {before:?} and {} uses",
            resource.usage().total
        );
        let mut late = watch(&node, 5, "9").await;
        let after = run(&node, IMPLEMENTATION, 5..6, 4, 10).await;
        assert_eq!(
            (after.delivered, resource.usage().total),
            (4, 4),
            "a dashboard joined sensor:5: the next four readings must be processed; \
             ask the tracker for every reading (never cache the answer for good)"
        );
        assert_eq!(received_ids(&mut late).await, vec![10, 11, 12, 13]);
    }

    #[tokio::test]
    async fn should_process_follows_the_tracker() {
        let (node, _resource) = node();
        let gate = |topic: &'static str| {
            let tracker = node.tracker.clone();
            async move { imp::part1::e04_gated_pipeline::should_process(&tracker, topic).await }
        };
        assert!(
            !gate("sensor:1").await,
            "nobody tracked on sensor:1: should_process is false"
        );
        let mut dashboard = watch(&node, 1, "1").await;
        assert!(
            gate("sensor:1").await,
            "a dashboard joined sensor:1: should_process is true"
        );
        assert!(
            !gate("sensor:2").await,
            "sensor:2 is another topic: still false"
        );
        dashboard.leave("sensor:1").await;
        tokio::time::sleep(PERIOD).await;
        assert!(
            !gate("sensor:1").await,
            "the dashboard left sensor:1: should_process is false again"
        );
    }

    #[tokio::test]
    async fn a_watcher_on_another_node_counts_once_gossip_arrives() {
        tokio::time::pause();
        // Two nodes sharing one pubsub, as two machines sharing a Redis.
        let shared: Arc<dyn PubSub> = Arc::new(LocalPubSub::named("cluster"));
        let resource = MockResource::new();
        let start = |name: &str| {
            GatedNode::start(
                shared.clone(),
                shared.clone(),
                name,
                config(),
                resource.clone(),
            )
            .expect("valid config")
        };
        let (app, back) = (start("app@127.0.0.1"), start("back@127.0.0.1"));
        // Let the nodes hear each other's heartbeats first.
        tokio::time::sleep(PERIOD * 3).await;
        let _remote = watch(&back, 4, "1").await;
        tokio::time::sleep(PERIOD * 3).await;
        let counts = run(&app, IMPLEMENTATION, 0..6, 2, 1).await;
        assert_eq!(
            (counts.delivered, counts.skipped),
            (2, 10),
            "the dashboard of sensor:4 joined on the other node; after a few heartbeats \
             this node's tracker knows it: process sensor:4's two readings, skip the \
             other ten. Got {counts:?}"
        );
    }
}
