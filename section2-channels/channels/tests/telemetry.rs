//! What the framework tells an observer (telemetry events). What its logs carry
//! (spans) is in `spans.rs`.
//!
//! In-memory connections on tokio's paused clock: durations are exact.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use channels::telemetry::{TelemetryEvent, TelemetryHandler};
use channels::{ChannelRouter, Endpoint};
use serde_json::json;
use support::*;

/// Keeps every event, written out as one line each.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<String>>>);

impl Events {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl TelemetryHandler for Events {
    fn handle(&self, event: &TelemetryEvent<'_>) {
        self.0.lock().unwrap().push(format!("{event:?}"));
    }
}

fn observed_endpoint(events: &Events) -> Endpoint {
    Endpoint::builder(ChannelRouter::new().channel::<OrdersChannel>("orders:*"))
        .handler(connect)
        .telemetry(Arc::new(events.clone()))
        .build()
}

/// Lets the spawned tasks (channel tasks, the connection's end) run.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test(start_paused = true)]
async fn the_endpoint_tells_its_observer_what_happens() {
    let events = Events::default();
    let endpoint = observed_endpoint(&events);

    assert!(endpoint.connect_in_memory(&[]).is_err());
    let mut client = client(&endpoint, "ada");
    settle().await;
    assert_eq!(
        events.take(),
        [
            r#"SocketRefused { reason: "no user param" }"#,
            "SocketConnected"
        ]
    );

    client.join("orders:berlin", json!({})).await;
    client
        .join("orders:paris", json!({"refuse": "closed"}))
        .await;
    client.join("invoices:1", json!({})).await;
    assert_eq!(
        events.take(),
        [
            r#"ChannelJoined { topic: "orders:*", result: Ok }"#,
            r#"ChannelJoined { topic: "orders:*", result: Refused }"#,
            r#"ChannelJoined { topic: "unmatched", result: Unmatched }"#,
        ],
        "joins are labelled by route pattern, never by the client's topic"
    );

    let reply = client.call("orders:berlin", "slow", json!({})).await;
    assert_reply(&reply, "ok", json!({}));
    client.push("orders:berlin", "push_me", json!({})).await;
    frame(&mut client).await;
    assert_eq!(
        events.take(),
        [
            r#"HandleIn { topic: "orders:*", event: "slow", duration: 1s }"#,
            r#"Pushed { topic: "orders:*", event: "pushed" }"#,
            r#"HandleIn { topic: "orders:*", event: "push_me", duration: 0ns }"#,
        ]
    );

    client.close().await;
    settle().await;
    assert_eq!(
        events.take(),
        [
            r#"ChannelLeft { topic: "orders:*" }"#,
            "SocketClosed { code: 1000 }"
        ],
        "closing the connection ends its channel, then the socket"
    );
    assert_eq!(endpoint.connections(), 0);
}

#[tokio::test(start_paused = true)]
async fn each_joined_channel_is_left_exactly_once() {
    let events = Events::default();
    let endpoint = observed_endpoint(&events);
    let mut client = client(&endpoint, "ada");
    client.join("orders:berlin", json!({})).await;
    // A second join of the same topic replaces the channel: one left, one joined.
    client.join("orders:berlin", json!({})).await;
    let reply = client.call("orders:berlin", "close", json!({})).await;
    assert_reply(&reply, "ok", json!({"bye": true}));
    settle().await;
    let seen = events.take();
    let joined = seen.iter().filter(|e| e.contains("result: Ok")).count();
    let left = seen.iter().filter(|e| e.starts_with("ChannelLeft")).count();
    assert_eq!(
        (joined, left),
        (2, 2),
        "two channels joined (the second replacing the first), both ended: {seen:?}"
    );
}
