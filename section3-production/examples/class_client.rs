//! A client that makes a running node emit each of s3.e2's and s3.e3's measurements
//! once, for the sink on the projector (and the walkthrough's transcript):
//!
//! ```sh
//! cargo run -p section3-production -- statsd-sink
//! cargo run -p section3-production -- serve --solution
//! cargo run -p section3-production --example class_client -- 127.0.0.1:4000
//! ```
//!
//! It connects, joins `ping` and pushes `ping`, joins an unmatched topic, connects
//! once with a protocol version the server refuses, joins `orders:demo` and waits for
//! one demo order, then closes.

use std::time::Duration;

use channels::client::{ChannelClient, ConnectError};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4000".to_owned());
    let url = format!("ws://{addr}/socket/websocket?vsn=2.0.0");
    let mut client = ChannelClient::connect(&url)
        .await
        .map_err(|e| anyhow::anyhow!("connect to {url}: {e}"))?;
    client.set_timeout(Duration::from_secs(3));
    client.join("ping", json!({})).await;
    client.call("ping", "ping", json!({})).await;
    client.join("no_such_topic", json!({})).await;
    match ChannelClient::connect(&format!("ws://{addr}/socket/websocket?vsn=1.0.0")).await {
        Err(ConnectError::Status(403)) => {}
        Err(other) => anyhow::bail!("a v1 client should be refused with 403, got {other}"),
        Ok(_) => anyhow::bail!("a v1 client should be refused with 403, it was let in"),
    }
    client.join("orders:demo", json!({})).await;
    // The node enqueues a demo order every second.
    let order = client.next_frame().await;
    println!("received {} {}", order.event, order.payload);
    client.close().await;
    // Give the server a moment to see the close before the process exits.
    tokio::time::sleep(Duration::from_millis(200)).await;
    println!("done: the sink shows the lines");
    Ok(())
}
