//! Bad input gets a clear answer (an error reply, or a close with a reason) and the
//! server keeps serving everyone else.
//!
//! Frames that can still be answered (a ref and a topic are readable) get an error
//! reply; frames that cannot close the connection with a code and a reason.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use channels::client::{ChannelClient, ConnectError, Received};
use channels::{Endpoint, Server, SocketConfig, payload};
use futures::{SinkExt, StreamExt};
use serde_json::json;
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// A bystander on the same endpoint, proving the server still serves others.
async fn bystander_is_served(endpoint: &Endpoint) {
    let mut other = client(endpoint, "bystander");
    assert_reply(&other.heartbeat().await, "ok", json!({}));
    assert_reply(
        &other.join("orders:berlin", json!({})).await,
        "ok",
        json!({"store": "orders:berlin"}),
    );
}

async fn expect_close(client: &mut ChannelClient, code: u16, reason: &str) {
    let closed = client.closed().await;
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (code, reason),
        "transcript:\n{}",
        client.transcript()
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_json_closes_with_a_protocol_error() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client.send_text("[null, \"1\", \"phoenix\", ").await;
    expect_close(
        &mut client,
        1002,
        "bad frame: invalid JSON: EOF while parsing a value at line 1 column 23",
    )
    .await;
    bystander_is_served(&endpoint).await;
}

#[tokio::test(start_paused = true)]
async fn a_short_array_closes_with_a_protocol_error() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client
        .send_text(r#"["1","1","orders:berlin","phx_join"]"#)
        .await;
    expect_close(
        &mut client,
        1002,
        "bad frame: a frame has 5 elements [join_ref, ref, topic, event, payload], got 4",
    )
    .await;
    bystander_is_served(&endpoint).await;
}

#[tokio::test(start_paused = true)]
async fn a_non_object_payload_gets_an_error_reply() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client.join("orders:berlin", json!({})).await;
    client
        .send_text(r#"["1","2","orders:berlin","echo",[1,2,3]]"#)
        .await;
    let reply = frame(&mut client).await;
    assert_eq!(
        reply.encode(),
        r#"[null,"2","orders:berlin","phx_reply",{"response":{"reason":"payload must be a JSON object"},"status":"error"}]"#
    );
    // The channel is still joined and working.
    assert_reply(
        &client.call("orders:berlin", "count", json!({})).await,
        "ok",
        json!({"handled": 1}),
    );
}

#[tokio::test(start_paused = true)]
async fn unknown_topic_and_event_before_join_get_unmatched_topic() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    let reply = client.join("warehouse:1", json!({})).await;
    assert_reply(&reply, "error", json!({"reason": "unmatched topic"}));
    let reply = client.call("orders:berlin", "echo", json!({})).await;
    assert_reply(&reply, "error", json!({"reason": "unmatched topic"}));
    assert_eq!(reply.join_ref, None);
    assert_reply(&client.heartbeat().await, "ok", json!({}));
}

#[tokio::test(start_paused = true)]
async fn binary_garbage_closes_and_a_binary_push_gets_an_error_reply() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    // A well-formed v2 binary push: this server speaks JSON, and says so.
    let mut push = vec![0u8, 1, 1, 13, 4];
    push.extend_from_slice(b"12orders:berlinecho");
    push.extend_from_slice(&[0xde, 0xad]);
    client.send_binary(push).await;
    assert_reply(
        &frame(&mut client).await,
        "error",
        json!({"reason": "binary payloads are not supported; send JSON text frames"}),
    );
    client.send_binary(vec![0xff, 0x00, 0x13, 0x37]).await;
    expect_close(&mut client, 1003, "binary frame is not a Phoenix v2 push").await;
    bystander_is_served(&endpoint).await;
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_reads_is_disconnected_in_memory() {
    let endpoint = endpoint_with(SocketConfig {
        outbound_capacity: 16,
        ..SocketConfig::default()
    });
    let mut reader = client(&endpoint, "reader");
    reader.join("orders:berlin", json!({})).await;
    let mut stuck = client(&endpoint, "stuck");
    stuck.join("orders:berlin", json!({})).await;
    assert_eq!(endpoint.connections(), 2);

    // The stuck client reads nothing: its transport queue (8) and then its outbox (16)
    // fill up, and the next frame for it closes it. The reader keeps up.
    for id in 0..40 {
        endpoint.broadcast(
            "orders:berlin",
            "order.placed",
            payload(json!({ "id": id })),
        );
        assert_eq!(frame(&mut reader).await.payload["id"], id);
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        endpoint.connections(),
        1,
        "the stuck client should have been disconnected"
    );
    // It gets what was already in its transport, then sees the connection end.
    let closed = stuck.closed().await;
    assert_eq!(closed.code, 1006, "{closed:?}");
    bystander_is_served(&endpoint).await;
}

async fn serve(config: SocketConfig) -> (Endpoint, Server) {
    let endpoint = endpoint_with(config);
    let server = Server::bind(0, endpoint.routes("/socket")).await.unwrap();
    (endpoint, server)
}

#[tokio::test]
async fn bad_vsn_and_refused_connect_get_403() {
    let (_endpoint, server) = serve(SocketConfig::default()).await;
    let cases = [
        (
            "no vsn",
            format!("ws://{}/socket/websocket?user=ada", server.addr()),
        ),
        (
            "vsn 1.0.0",
            format!("ws://{}/socket/websocket?user=ada&vsn=1.0.0", server.addr()),
        ),
        ("no user", server.socket_url("/socket", &[])),
        (
            "refused user",
            server.socket_url("/socket", &[("user", "blocked")]),
        ),
    ];
    for (case, url) in cases {
        match ChannelClient::connect(&url).await {
            Err(ConnectError::Status(403)) => {}
            Err(e) => panic!("{case}: expected 403, got {e}"),
            Ok(_) => panic!("{case}: expected 403, the connection was accepted"),
        }
    }
    let mut ok = ChannelClient::connect(&server.socket_url("/socket", &[("user", "ada")]))
        .await
        .expect("a valid connection is accepted");
    assert_reply(&ok.heartbeat().await, "ok", json!({}));
    server.stop().await;
}

#[tokio::test]
async fn an_oversized_frame_closes_with_1009() {
    let (endpoint, server) = serve(SocketConfig {
        max_message_size: 16 * 1024,
        ..SocketConfig::default()
    })
    .await;
    let url = server.socket_url("/socket", &[("user", "ada")]);
    let mut client = ChannelClient::connect(&url).await.unwrap();
    let huge = "x".repeat(20 * 1024);
    client
        .send_text(&format!(
            r#"[null,"1","phoenix","heartbeat",{{"pad":"{huge}"}}]"#
        ))
        .await;
    let closed = client.closed().await;
    assert_eq!(closed.code, 1009, "{closed:?}");
    assert_eq!(closed.reason, "message larger than 16384 bytes");

    let mut other = ChannelClient::connect(&url).await.unwrap();
    assert_reply(&other.heartbeat().await, "ok", json!({}));
    drop(other);
    drop(endpoint);
    server.stop().await;
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame as WsFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

    let (endpoint, server) = serve(SocketConfig::default()).await;
    let url = server.socket_url("/socket", &[("user", "ada")]);
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    // `[` then two bytes that are never UTF-8: a text frame the client library would
    // not build, so it is written as a raw frame.
    let bytes = vec![b'[', 0xff, 0xfe, b']'];
    ws.send(Message::Frame(WsFrame::message(
        bytes,
        OpCode::Data(Data::Text),
        true,
    )))
    .await
    .unwrap();
    let closed = loop {
        match ws.next().await {
            Some(Ok(Message::Close(close))) => break close,
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let closed = closed.expect("a close frame with a code");
    assert_eq!(
        (u16::from(closed.code), closed.reason.as_str()),
        (1007, "text frame is not valid UTF-8"),
        "RFC 6455 (7.4.1): 1007 is for data inconsistent with the message type"
    );
    bystander_is_served(&endpoint).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_disconnected_over_tcp() {
    let (endpoint, server) = serve(SocketConfig {
        outbound_capacity: 64,
        ..SocketConfig::default()
    })
    .await;
    let url = server.socket_url("/socket", &[("user", "ada")]);

    // The stuck client joins, then never reads again.
    let (mut stuck, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    stuck
        .send(Message::text(r#"["1","1","orders:berlin","phx_join",{}]"#))
        .await
        .unwrap();
    stuck.next().await.unwrap().unwrap();

    // The reader reads everything, on its own task, and says how far it got.
    let mut reader = ChannelClient::connect(&url).await.unwrap();
    reader.join("orders:berlin", json!({})).await;
    let total = 1500;
    let progress = Arc::new(AtomicUsize::new(0));
    let reading = tokio::spawn({
        let progress = progress.clone();
        async move {
            let mut seen = 0;
            while seen < total {
                match reader.next().await {
                    Some(Received::Frame(frame)) if frame.event == "order.placed" => {
                        seen += 1;
                        progress.store(seen, Ordering::Relaxed);
                    }
                    Some(Received::Frame(_)) => {}
                    other => panic!("the reader lost its connection after {seen}: {other:?}"),
                }
            }
            reader
        }
    });

    // 1500 x 16 KiB = 24 MiB: more than loopback buffers hold for the stuck client.
    // Paced by the reader, never more than 16 frames ahead of it: on a loaded machine
    // a fixed pace could leave the *reader* 64 frames behind, and the server would
    // rightly disconnect it too.
    let pad = "o".repeat(16 * 1024);
    for id in 0..total {
        endpoint.broadcast(
            "orders:berlin",
            "order.placed",
            payload(json!({ "id": id, "pad": pad })),
        );
        if id % 16 == 15 {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            while progress.load(Ordering::Relaxed) + 16 <= id {
                assert!(
                    tokio::time::Instant::now() < deadline && !reading.is_finished(),
                    "the reader stopped at {} of {total}",
                    progress.load(Ordering::Relaxed)
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    let mut reader = tokio::time::timeout(Duration::from_secs(20), reading)
        .await
        .expect("the reader got every broadcast in time")
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while endpoint.connections() > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        endpoint.connections(),
        1,
        "the client that never reads should have been disconnected"
    );
    assert_reply(&reader.heartbeat().await, "ok", json!({}));
    drop(stuck);
    server.stop().await;
}
