//! The framework's control flow, frame by frame, against the Phoenix v2 protocol.
//!
//! Connections run in memory (the same socket state machine as over a WebSocket) on
//! tokio's paused clock, so timers cost no real time and "nothing arrived" is exact.

mod support;

use std::time::Duration;

use channels::client::Received;
use channels::socket::LEAVE_TIMEOUT;
use channels::{Frame, SocketConfig, payload};
use serde_json::json;
use support::*;

#[tokio::test(start_paused = true)]
async fn heartbeat_needs_no_join_and_gets_an_ok_reply() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client
        .send_text(r#"[null,"5","phoenix","heartbeat",{}]"#)
        .await;
    let reply = frame(&mut client).await;
    assert_eq!(
        reply.encode(),
        r#"[null,"5","phoenix","phx_reply",{"response":{},"status":"ok"}]"#
    );
}

#[tokio::test(start_paused = true)]
async fn join_push_reply_and_leave() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    let joined = client.join("orders:berlin", json!({})).await;
    assert_eq!(
        joined.encode(),
        r#"["1","1","orders:berlin","phx_reply",{"response":{"store":"orders:berlin"},"status":"ok"}]"#
    );
    let reply = client
        .call("orders:berlin", "echo", json!({"sku": "A-1"}))
        .await;
    assert_eq!(reply.join_ref.as_deref(), Some("1"));
    assert_eq!(reply.msg_ref.as_deref(), Some("2"));
    assert_reply(&reply, "ok", json!({"sku": "A-1"}));

    let left = client.leave("orders:berlin").await;
    assert_eq!(
        left.encode(),
        r#"["1","3","orders:berlin","phx_reply",{"response":{},"status":"ok"}]"#
    );
    let closed = frame(&mut client).await;
    assert_eq!(
        closed.encode(),
        r#"["1","1","orders:berlin","phx_close",{}]"#
    );

    // After the leave the topic is no longer joined.
    let reply = client.call("orders:berlin", "echo", json!({})).await;
    assert_reply(&reply, "error", json!({"reason": "unmatched topic"}));
}

#[tokio::test(start_paused = true)]
async fn a_refused_join_leaves_no_channel_and_sends_no_close() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    let reply = client
        .join("orders:berlin", json!({"refuse": "closed today"}))
        .await;
    assert_eq!(
        reply.encode(),
        r#"["1","1","orders:berlin","phx_reply",{"response":{"reason":"closed today"},"status":"error"}]"#
    );
    assert_silent(&mut client, Duration::from_secs(1)).await;
    let reply = client.call("orders:berlin", "echo", json!({})).await;
    assert_reply(&reply, "error", json!({"reason": "unmatched topic"}));
}

#[tokio::test(start_paused = true)]
async fn unmatched_topic_replies_with_a_null_join_ref() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client
        .send_text(r#"["1","1","sensors:7","phx_join",{}]"#)
        .await;
    assert_eq!(
        frame(&mut client).await.encode(),
        r#"[null,"1","sensors:7","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]"#
    );
    // A push to a topic never joined gets the same answer.
    client
        .send_text(r#"[null,"2","orders:berlin","echo",{}]"#)
        .await;
    assert_eq!(
        frame(&mut client).await.encode(),
        r#"[null,"2","orders:berlin","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]"#
    );
}

#[tokio::test(start_paused = true)]
async fn duplicate_join_closes_the_old_channel_and_joins_again() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client
        .send_text(r#"["1","1","orders:berlin","phx_join",{}]"#)
        .await;
    assert_reply(
        &frame(&mut client).await,
        "ok",
        json!({"store": "orders:berlin"}),
    );
    client.call("orders:berlin", "count", json!({})).await;

    client
        .send_text(r#"["3","3","orders:berlin","phx_join",{}]"#)
        .await;
    assert_eq!(
        frame(&mut client).await.encode(),
        r#"["1","1","orders:berlin","phx_close",{}]"#
    );
    let reply = frame(&mut client).await;
    assert_eq!(reply.msg_ref.as_deref(), Some("3"));
    assert_reply(&reply, "ok", json!({"store": "orders:berlin"}));

    // The new channel starts from scratch, and the old join ref is ignored.
    client
        .send_text(r#"["1","4","orders:berlin","count",{}]"#)
        .await;
    client
        .send_text(r#"["3","5","orders:berlin","count",{}]"#)
        .await;
    let reply = frame(&mut client).await;
    assert_eq!(
        reply.msg_ref.as_deref(),
        Some("5"),
        "ref 4 carried an outdated join ref"
    );
    assert_reply(&reply, "ok", json!({"handled": 1}));
}

#[tokio::test(start_paused = true)]
async fn too_many_channels_is_an_error_reply_with_the_join_ref() {
    let endpoint = endpoint_with(SocketConfig {
        max_channels: 2,
        ..SocketConfig::default()
    });
    let mut client = client(&endpoint, "ada");
    client.join("orders:1", json!({})).await;
    client.join("orders:2", json!({})).await;
    let reply = client.join("orders:3", json!({})).await;
    assert_eq!(
        reply.encode(),
        r#"["3","3","orders:3","phx_reply",{"response":{"reason":"too many channels joined"},"status":"error"}]"#
    );
    // Leaving one makes room again.
    client.leave("orders:1").await;
    assert_reply(
        &client.join("orders:3", json!({})).await,
        "ok",
        json!({"store": "orders:3"}),
    );
}

#[tokio::test(start_paused = true)]
async fn a_crashed_channel_becomes_phx_error_and_the_socket_carries_on() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client.join("orders:berlin", json!({})).await;
    client.join("orders:paris", json!({})).await;
    client.push("orders:berlin", "crash", json!({})).await;
    assert_eq!(
        frame(&mut client).await.encode(),
        r#"["1","1","orders:berlin","phx_error",{"reason":"channel_crash"}]"#
    );
    assert_reply(&client.heartbeat().await, "ok", json!({}));
    assert_reply(
        &client.call("orders:paris", "count", json!({})).await,
        "ok",
        json!({"handled": 1}),
    );
    // The client may rejoin the crashed topic.
    assert_reply(
        &client.join("orders:berlin", json!({})).await,
        "ok",
        json!({"store": "orders:berlin"}),
    );
}

#[tokio::test(start_paused = true)]
async fn a_crashed_join_is_an_error_reply() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    let reply = client.join("orders:berlin", json!({"crash": true})).await;
    assert_reply(&reply, "error", json!({"reason": "join crashed"}));
    assert_reply(&client.heartbeat().await, "ok", json!({}));
}

#[tokio::test(start_paused = true)]
async fn leave_of_a_topic_not_joined_is_ok() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client
        .send_text(r#"[null,"1","orders:berlin","phx_leave",{}]"#)
        .await;
    assert_eq!(
        frame(&mut client).await.encode(),
        r#"[null,"1","orders:berlin","phx_reply",{"response":{},"status":"ok"}]"#
    );
}

#[tokio::test(start_paused = true)]
async fn stop_replies_then_closes() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client.join("orders:berlin", json!({})).await;
    let reply = client.call("orders:berlin", "close", json!({})).await;
    assert_reply(&reply, "ok", json!({"bye": true}));
    assert_eq!(
        frame(&mut client).await.encode(),
        r#"["1","1","orders:berlin","phx_close",{}]"#
    );
}

#[tokio::test(start_paused = true)]
async fn push_has_the_join_ref_and_no_ref() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client.join("orders:berlin", json!({})).await;
    client.push("orders:berlin", "push_me", json!({})).await;
    assert_eq!(
        frame(&mut client).await.encode(),
        r#"["1",null,"orders:berlin","pushed",{"to":"you"}]"#
    );
}

#[tokio::test(start_paused = true)]
async fn a_reply_can_come_later_from_another_task() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client.join("orders:berlin", json!({})).await;
    let later = client.push("orders:berlin", "later", json!({})).await;
    // The channel is free while the spawned task waits.
    assert_reply(
        &client.call("orders:berlin", "count", json!({})).await,
        "ok",
        json!({"handled": 2}),
    );
    let reply = client.reply_to(&later).await;
    assert_eq!(reply.join_ref.as_deref(), Some("1"));
    assert_reply(&reply, "ok", json!({"late": true}));
}

#[tokio::test(start_paused = true)]
async fn handle_info_runs_timers_on_the_channel() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client.join("orders:berlin", json!({})).await;
    client
        .call("orders:berlin", "remind", json!({"text": "restock"}))
        .await;
    assert_silent(&mut client, Duration::from_millis(4900)).await;
    assert_eq!(
        frame(&mut client).await.encode(),
        r#"["1",null,"orders:berlin","reminder",{"text":"restock"}]"#
    );
    // A timer can stop the channel too. (Wait longer than the timer: a 5 s timeout
    // would race the 5 s timer on the paused clock.)
    client.set_timeout(Duration::from_secs(10));
    client
        .call("orders:berlin", "remind", json!({"text": "stop"}))
        .await;
    assert_eq!(frame(&mut client).await.event, "phx_close");
}

#[tokio::test(start_paused = true)]
async fn broadcast_reaches_every_subscriber_and_broadcast_from_skips_the_sender() {
    let endpoint = endpoint();
    let mut ada = client(&endpoint, "ada");
    let mut bob = client(&endpoint, "bob");
    ada.join("orders:berlin", json!({})).await;
    bob.join("orders:berlin", json!({})).await;

    ada.call("orders:berlin", "place", json!({"id": 7})).await;
    let expected = r#"[null,null,"orders:berlin","order.placed",{"id":7}]"#;
    assert_eq!(frame(&mut ada).await.encode(), expected);
    assert_eq!(frame(&mut bob).await.encode(), expected);

    ada.call("orders:berlin", "place_quietly", json!({"id": 8}))
        .await;
    assert_eq!(
        frame(&mut bob).await.encode(),
        r#"[null,null,"orders:berlin","order.placed",{"id":8}]"#
    );
    assert_silent(&mut ada, Duration::from_secs(1)).await;

    // From outside any channel, e.g. after a database write.
    let reached = endpoint.broadcast("orders:berlin", "order.shipped", payload(json!({"id": 7})));
    assert_eq!(reached, 2);
    assert_eq!(frame(&mut bob).await.event, "order.shipped");
}

#[tokio::test(start_paused = true)]
async fn intercepted_broadcasts_go_through_handle_out_per_client() {
    let endpoint = endpoint();
    let mut ada = client(&endpoint, "ada");
    let mut bob = client(&endpoint, "bob");
    ada.join("orders:berlin", json!({})).await;
    bob.join("orders:berlin", json!({})).await;
    ada.push("orders:berlin", "price", json!({"total": 12}))
        .await;
    // Each channel rewrote the broadcast for its own client, as a push.
    assert_eq!(
        frame(&mut ada).await.encode(),
        r#"["1",null,"orders:berlin","order.priced",{"seen_by":"1","total":12}]"#
    );
    assert_eq!(
        frame(&mut bob).await.encode(),
        r#"["1",null,"orders:berlin","order.priced",{"seen_by":"1","total":12}]"#
    );
}

#[tokio::test(start_paused = true)]
async fn a_join_right_after_a_leave_waits_for_the_leave_and_is_a_fresh_join() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client.join("orders:berlin", json!({})).await;
    client.call("orders:berlin", "count", json!({})).await;
    // Leave and join again without waiting for the leave's reply.
    let leave = client.push("orders:berlin", "phx_leave", json!({})).await;
    client
        .send_text(r#"["4","4","orders:berlin","phx_join",{}]"#)
        .await;
    let frames: Vec<String> = [
        frame(&mut client).await,
        frame(&mut client).await,
        frame(&mut client).await,
    ]
    .iter()
    .map(Frame::encode)
    .collect();
    assert_eq!(
        frames,
        [
            format!(r#"["1","{leave}","orders:berlin","phx_reply",{{"response":{{}},"status":"ok"}}]"#),
            r#"["1","1","orders:berlin","phx_close",{}]"#.to_string(),
            r#"["4","4","orders:berlin","phx_reply",{"response":{"store":"orders:berlin"},"status":"ok"}]"#.to_string(),
        ],
        "the leave is answered and its channel closed before the join is handled"
    );
    // A fresh channel: its count starts again.
    client
        .send_text(r#"["4","5","orders:berlin","count",{}]"#)
        .await;
    assert_reply(&frame(&mut client).await, "ok", json!({"handled": 1}));
}

#[tokio::test(start_paused = true)]
async fn a_channel_that_does_not_answer_its_leave_in_time_is_stopped_and_the_socket_answers() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client.set_timeout(Duration::from_secs(30));
    client.join("orders:berlin", json!({})).await;
    // Ten requests of 1 s each are ahead of the leave: longer than LEAVE_TIMEOUT.
    let mut slow = Vec::new();
    for _ in 0..10 {
        slow.push(client.push("orders:berlin", "slow", json!({})).await);
    }
    let leave = client.push("orders:berlin", "phx_leave", json!({})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = tokio::time::Instant::now();
    let joined = client.join("orders:berlin", json!({})).await;
    assert_eq!(
        started.elapsed(),
        LEAVE_TIMEOUT,
        "the join waits for the leaving channel, LEAVE_TIMEOUT at most"
    );
    assert_reply(&joined, "ok", json!({"store": "orders:berlin"}));
    // What came before the join's reply: the five requests handled in time, then the
    // leave answered by the socket and the old channel's close.
    let mut before = Vec::new();
    while let Some(Received::Frame(frame)) = client.next().await {
        before.push((frame.event, frame.msg_ref.unwrap_or_default()));
        if before.len() == 7 {
            break;
        }
    }
    let expected: Vec<(String, String)> = slow[..5]
        .iter()
        .map(|r| ("phx_reply".to_string(), r.clone()))
        .chain([
            ("phx_reply".to_string(), leave),
            ("phx_close".to_string(), "1".to_string()),
        ])
        .collect();
    assert_eq!(before, expected);
    assert_silent(&mut client, Duration::from_secs(10)).await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_handler_delays_its_channel_only() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client.join("orders:slow", json!({})).await;
    client.join("orders:fast", json!({})).await;
    let started = tokio::time::Instant::now();
    let slow = client.push("orders:slow", "slow", json!({})).await;
    assert_reply(&client.heartbeat().await, "ok", json!({}));
    assert_reply(
        &client.call("orders:fast", "count", json!({})).await,
        "ok",
        json!({"handled": 1}),
    );
    assert!(started.elapsed() < Duration::from_millis(100));
    client.reply_to(&slow).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn idle_connections_are_closed_and_heartbeats_keep_them_open() {
    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client.set_timeout(Duration::from_secs(3600));
    // phoenix.js sends a heartbeat every 30 s: that keeps the connection.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_reply(&client.heartbeat().await, "ok", json!({}));
    }
    let quiet_since = tokio::time::Instant::now();
    let reason = client.closed().await;
    assert_eq!(reason.code, 1001, "{reason:?}");
    assert_eq!(reason.reason, "idle timeout: no frame for 60 s");
    assert_eq!(quiet_since.elapsed(), Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn disconnect_by_socket_id_closes_that_users_connections_only() {
    let endpoint = endpoint();
    let mut ada_phone = client(&endpoint, "ada");
    let mut ada_laptop = client(&endpoint, "ada");
    let mut bob = client(&endpoint, "bob");
    assert_reply(&ada_phone.heartbeat().await, "ok", json!({}));
    assert_eq!(endpoint.connections(), 3);

    endpoint.disconnect("user_socket:ada");
    for ada in [&mut ada_phone, &mut ada_laptop] {
        let reason = ada.closed().await;
        assert_eq!(
            (reason.code, reason.reason.as_str()),
            (1001, "disconnected by the server")
        );
    }
    assert_reply(&bob.heartbeat().await, "ok", json!({}));
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(endpoint.connections(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_full_mailbox_answers_busy_instead_of_growing() {
    let endpoint = endpoint_with(SocketConfig {
        mailbox_capacity: 2,
        ..SocketConfig::default()
    });
    let mut client = client(&endpoint, "ada");
    client.join("orders:berlin", json!({})).await;
    // One request is being handled (slow), two wait in the mailbox, the fourth is refused.
    let first = client.push("orders:berlin", "slow", json!({})).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let refs = [
        first,
        client.push("orders:berlin", "slow", json!({})).await,
        client.push("orders:berlin", "slow", json!({})).await,
        client.push("orders:berlin", "slow", json!({})).await,
    ];
    let busy = client.reply_to(&refs[3]).await;
    assert_reply(
        &busy,
        "error",
        json!({"reason": "channel busy: too many messages waiting"}),
    );
    for r in &refs[..3] {
        assert_reply(&client.reply_to(r).await, "ok", json!({}));
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_closes_every_connection() {
    let endpoint = endpoint();
    let mut ada = client(&endpoint, "ada");
    ada.join("orders:berlin", json!({})).await;
    endpoint.shutdown();
    match ada.next().await {
        Some(Received::Closed(reason)) => assert_eq!(reason.code, 1001),
        other => panic!("expected a close, got {other:?}"),
    }
}
