//! The framework's side of hibernation: a hibernating connection's writer task ends
//! while nothing is queued, and whatever comes next (a reply, the idle timeout, the
//! server's shutdown) starts it again. Real WebSockets over in-memory streams, on
//! tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use channels::hibernate::{Hibernate, Idle};
use channels::{ChannelRouter, Endpoint, Frame, SocketConfig};
use futures::{SinkExt, StreamExt};
use tokio::io::DuplexStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

const PERIOD: Duration = Duration::from_secs(10);
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Releases the socket whenever that is safe, like s3.e10's reference.
struct Release;

impl Hibernate for Release {
    fn hibernate(&self, idle: &mut Idle<'_>) -> bool {
        idle.queued() == 0 && !idle.half_read() && idle.release_socket().is_ok()
    }

    fn wake(&self, _: &mut Idle<'_>) {}
}

fn endpoint() -> Endpoint {
    let config = SocketConfig {
        hibernate_after: Some(PERIOD),
        idle_timeout: IDLE_TIMEOUT,
        ..SocketConfig::default()
    };
    Endpoint::builder(ChannelRouter::new())
        .config(config)
        .hibernation(Arc::new(Release))
        .build()
}

type Client = WebSocketStream<DuplexStream>;

async fn connect(endpoint: &Endpoint) -> Client {
    let (server, client) = tokio::io::duplex(64 * 1024);
    endpoint.serve_stream(server, &[]).expect("anonymous");
    WebSocketStream::from_raw_socket(client, Role::Client, None).await
}

/// Tasks alive on this test's runtime once everything runnable has run.
async fn alive() -> usize {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

async fn heartbeat(client: &mut Client, msg_ref: &str) {
    client
        .send(Message::text(format!(
            r#"[null,"{msg_ref}","phoenix","heartbeat",{{}}]"#
        )))
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), client.next()).await;
    let Ok(Some(Ok(Message::Text(text)))) = reply else {
        panic!("no reply to heartbeat {msg_ref}: {reply:?}");
    };
    let frame = Frame::decode(&text).unwrap();
    assert_eq!(frame.msg_ref.as_deref(), Some(msg_ref), "{text}");
}

/// The close frame the server sends next, as (code, reason).
async fn close_frame(client: &mut Client) -> (u16, String) {
    match tokio::time::timeout(Duration::from_secs(5), client.next()).await {
        Ok(Some(Ok(Message::Close(Some(close))))) => (close.code.into(), close.reason.to_string()),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_writer_ends_while_hibernating_and_comes_back_for_the_next_frame() {
    let endpoint = endpoint();
    let mut client = connect(&endpoint).await;
    heartbeat(&mut client, "1").await;
    let awake = alive().await;

    tokio::time::sleep(PERIOD + Duration::from_secs(1)).await;
    assert_eq!(endpoint.hibernating(), 1, "quiet for the period");
    assert_eq!(
        alive().await,
        awake - 1,
        "a hibernating connection with nothing queued lets its writer task end"
    );

    heartbeat(&mut client, "2").await;
    assert_eq!(alive().await, awake, "the reply started the writer again");

    tokio::time::sleep(PERIOD + Duration::from_secs(1)).await;
    assert_eq!(alive().await, awake - 1, "and it ends again once quiet");
    heartbeat(&mut client, "3").await;
}

#[tokio::test(start_paused = true)]
async fn a_parked_writer_still_sends_the_idle_timeouts_close_frame() {
    let endpoint = endpoint();
    let mut client = connect(&endpoint).await;
    let before = alive().await;
    tokio::time::sleep(IDLE_TIMEOUT + Duration::from_secs(1)).await;
    let (code, reason) = close_frame(&mut client).await;
    assert_eq!(code, 1001, "{reason}");
    assert!(reason.starts_with("idle timeout"), "{reason}");
    assert_eq!(
        alive().await,
        before - 2,
        "the connection and its writer both ended"
    );
}

#[tokio::test(start_paused = true)]
async fn a_parked_writer_still_sends_the_shutdowns_close_frame() {
    let endpoint = endpoint();
    let mut client = connect(&endpoint).await;
    tokio::time::sleep(PERIOD + Duration::from_secs(1)).await;
    assert_eq!(endpoint.hibernating(), 1);
    endpoint.shutdown();
    let (code, reason) = close_frame(&mut client).await;
    assert_eq!((code, reason.as_str()), (1001, "server shutting down"));
}
