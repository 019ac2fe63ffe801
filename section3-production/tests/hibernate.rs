//! Hibernating idle connections (s3.e10): real WebSockets (tungstenite on both ends)
//! over in-memory streams, so the idle period passes on tokio's paused clock; the
//! memory they give back is measured by a counting allocator, not assumed.

use std::sync::Arc;
use std::time::Duration;

use channels::client::{reply_response, reply_status};
use channels::hibernate::Hibernate;
use channels::{ChannelRouter, Endpoint, Frame, SocketConfig, payload};
use futures::{SinkExt, StreamExt};
use scale_lab::heap;
use section2_reference::part1::e01_ping::PingChannel;
use serde_json::json;
use testkit::exercise;
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

// Counts live heap bytes for the memory assertions (the `unsafe` lives in the scale
// lab's counting wrapper; every call goes to the system allocator unchanged).
#[global_allocator]
static ALLOCATOR: heap::Counting<std::alloc::System> = heap::Counting(std::alloc::System);

/// The tests here measure the whole process's heap: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The hibernation period of these tests.
const PERIOD: Duration = Duration::from_secs(10);
/// The WebSocket read buffer of these tests (section 2's default).
const READ_BUFFER: usize = 1024;
/// Connections per measurement: enough that one connection's bytes stand out from
/// whatever else the runtime allocates meanwhile.
const CONNECTIONS: usize = 50;

type Client = WebSocketStream<DuplexStream>;

/// An endpoint serving the ping channel, hibernating through `hook`.
fn endpoint(hook: Arc<dyn Hibernate>) -> Endpoint {
    testkit::panics::watch();
    heap::enable();
    let config = SocketConfig {
        read_buffer_size: READ_BUFFER,
        hibernate_after: Some(PERIOD),
        ..SocketConfig::default()
    };
    let router = ChannelRouter::new().channel::<PingChannel>("ping");
    Endpoint::builder(router)
        .config(config)
        .hibernation(hook)
        .build()
}

/// A client on an in-memory stream, past the handshake, joined to `ping`.
async fn joined(endpoint: &Endpoint) -> Client {
    let (server, client) = tokio::io::duplex(64 * 1024);
    endpoint
        .serve_stream(server, &[])
        .expect("anonymous sockets are let in");
    let mut client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
    send(&mut client, r#"["1","1","ping","phx_join",{}]"#).await;
    let reply = next_frame(&mut client, "the join's reply").await;
    assert_eq!(reply_status(&reply), Some("ok"), "join refused: {reply:?}");
    client
}

async fn send(client: &mut Client, text: &str) {
    client
        .send(Message::text(text))
        .await
        .expect("the server's end of the stream is open");
}

/// The next frame the server sends, within 5 s (of the paused clock: a server that
/// will never answer fails at once).
async fn next_frame(client: &mut Client, what: &str) -> Frame {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), client.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                return Frame::decode(&text).expect("the server sends Phoenix frames");
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            other => panic!(
                "waiting for {what}, the connection gave {other:?} instead{}",
                crashed()
            ),
        }
    }
}

/// A ping pushed with `phrase` is answered with it.
async fn ping(client: &mut Client, msg_ref: u32, phrase: &str) {
    send(
        client,
        &format!(r#"["1","{msg_ref}","ping","ping",{{"ack_phrase":"{phrase}"}}]"#),
    )
    .await;
    let reply = next_frame(client, "the reply to a ping").await;
    assert_eq!(
        (reply_status(&reply), reply_response(&reply)),
        (Some("ok"), &json!({ "ping": phrase })),
        "a ping sent to a hibernated connection must be answered like any other: {reply:?}"
    );
}

/// Live heap bytes once the connections' tasks have run.
async fn heap_bytes() -> i64 {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    heap::snapshot().live_bytes
}

/// What panicked meanwhile on this test's thread (its connections run there), as
/// the end of a failure message.
fn crashed() -> String {
    let mut panics: Vec<String> = testkit::panics::since(MARK.with(|m| m.get()))
        .into_iter()
        .filter(|seen| seen.on_this_thread() && !seen.in_a_test_file())
        .map(|seen| seen.to_string())
        .collect();
    let times = panics.len();
    // Every connection panics the same way: say it once.
    panics.dedup();
    match panics.as_slice() {
        [] => String::new(),
        [one] => format!(". The connection's task panicked in your hook ({times}x): {one}"),
        many => format!(
            ". The connections' tasks panicked in your hook ({times}x): {}",
            many.join("; ")
        ),
    }
}

thread_local! {
    static MARK: std::cell::Cell<testkit::panics::Mark> =
        std::cell::Cell::new(testkit::panics::mark());
}

fn mark() {
    MARK.with(|m| m.set(testkit::panics::mark()));
}

/// One frame of text from a client, masked as clients must, as it goes on the wire.
fn masked_frame(text: &str) -> Vec<u8> {
    assert!(text.len() < 126, "a short frame: one length byte");
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![0x81, 0x80 | text.len() as u8];
    frame.extend(mask);
    frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

#[exercise(section3_production)]
mod e10_hibernate {
    use super::*;

    fn hook() -> Arc<dyn Hibernate> {
        Arc::new(imp::part3::e10_hibernate::ReleaseWhenIdle)
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_quiet_for_the_period_gives_its_buffers_back() {
        let _serial = SERIAL.lock().await;
        mark();
        let endpoint = endpoint(hook());
        let mut clients = Vec::new();
        for _ in 0..CONNECTIONS {
            clients.push(joined(&endpoint).await);
        }
        let awake = heap_bytes().await;
        assert_eq!(
            endpoint.hibernating(),
            0,
            "nobody hibernates before the period"
        );

        tokio::time::sleep(PERIOD + Duration::from_secs(1)).await;
        let asleep = heap_bytes().await;
        assert_eq!(
            endpoint.hibernating(),
            CONNECTIONS,
            "{CONNECTIONS} joined connections were quiet for {PERIOD:?} (the period); \
             {} of them released their WebSocket. A quiet connection with nothing queued \
             and nothing half read should call `Idle::release_socket` and return true{}",
            endpoint.hibernating(),
            crashed()
        );
        let given_back = (awake - asleep) / CONNECTIONS as i64;
        assert!(
            given_back >= READ_BUFFER as i64,
            "each hibernated connection gave back {given_back} B of heap; its WebSocket \
             alone holds a {READ_BUFFER}-byte read buffer. Release the socket, and give \
             back the outbox's empty slots (`Idle::shrink_outbox`)"
        );
        drop(clients);
    }

    #[tokio::test(start_paused = true)]
    async fn the_next_frame_is_answered_and_takes_the_buffers_back() {
        let _serial = SERIAL.lock().await;
        mark();
        let endpoint = endpoint(hook());
        let mut clients = Vec::new();
        for _ in 0..CONNECTIONS {
            clients.push(joined(&endpoint).await);
        }
        tokio::time::sleep(PERIOD + Duration::from_secs(1)).await;
        let asleep = heap_bytes().await;
        assert_eq!(
            endpoint.hibernating(),
            CONNECTIONS,
            "every quiet connection should hibernate after {PERIOD:?}{}",
            crashed()
        );

        for (i, client) in clients.iter_mut().enumerate() {
            ping(client, 2, &format!("order {i}")).await;
        }
        let woken = heap_bytes().await;
        assert_eq!(
            endpoint.hibernating(),
            0,
            "a frame from the client wakes its connection"
        );
        let taken_back = (woken - asleep) / CONNECTIONS as i64;
        assert!(
            taken_back >= READ_BUFFER as i64,
            "each woken connection took back {taken_back} B; reading its frame needs the \
             {READ_BUFFER}-byte read buffer again"
        );

        // And it hibernates again once quiet for another period.
        tokio::time::sleep(PERIOD + Duration::from_secs(1)).await;
        assert_eq!(
            endpoint.hibernating(),
            CONNECTIONS,
            "a woken connection hibernates again after another quiet period{}",
            crashed()
        );
        ping(&mut clients[0], 3, "again").await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_never_hibernates() {
        let _serial = SERIAL.lock().await;
        mark();
        let endpoint = endpoint(hook());
        let mut client = joined(&endpoint).await;
        // A heartbeat every half period, for six periods.
        for i in 0..12 {
            tokio::time::sleep(PERIOD / 2).await;
            send(
                &mut client,
                &format!(r#"[null,"h{i}","phoenix","heartbeat",{{}}]"#),
            )
            .await;
            let reply = next_frame(&mut client, "a heartbeat's reply").await;
            assert_eq!(reply_status(&reply), Some("ok"));
            assert_eq!(
                endpoint.hibernating(),
                0,
                "a client that sends a frame every {:?} is never quiet for {PERIOD:?}: it \
                 must not hibernate",
                PERIOD / 2
            );
        }
        tokio::time::sleep(PERIOD + Duration::from_secs(1)).await;
        assert_eq!(
            endpoint.hibernating(),
            1,
            "once the heartbeats stop, the connection is quiet for the period and should \
             hibernate{}",
            crashed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_frame_half_read_is_not_lost() {
        let _serial = SERIAL.lock().await;
        mark();
        let endpoint = endpoint(hook());
        let mut client = joined(&endpoint).await;
        // The first half of a ping arrives, then the client stalls past the period.
        let frame = masked_frame(r#"["1","2","ping","ping",{"ack_phrase":"half"}]"#);
        let (first, rest) = frame.split_at(frame.len() / 2);
        client.get_mut().write_all(first).await.unwrap();
        tokio::time::sleep(PERIOD + Duration::from_secs(1)).await;
        assert_eq!(
            endpoint.hibernating(),
            0,
            "the connection holds half a frame in its read buffer: releasing the socket \
             would lose those bytes. Check `Idle::half_read` before releasing{}",
            crashed()
        );
        client.get_mut().write_all(rest).await.unwrap();
        let reply = next_frame(&mut client, "the reply to the ping sent in two halves").await;
        assert_eq!(
            reply_response(&reply),
            &json!({ "ping": "half" }),
            "the frame sent in two halves, around the period, must arrive whole"
        );
        // Quiet again, with nothing half read: now it may hibernate.
        tokio::time::sleep(PERIOD + Duration::from_secs(1)).await;
        assert_eq!(
            endpoint.hibernating(),
            1,
            "with nothing half read, the quiet connection should hibernate{}",
            crashed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_frame_is_lost_across_hibernation() {
        let _serial = SERIAL.lock().await;
        mark();
        let endpoint = endpoint(hook());
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(joined(&endpoint).await);
        }
        tokio::time::sleep(PERIOD + Duration::from_secs(1)).await;
        assert_eq!(
            endpoint.hibernating(),
            3,
            "every quiet connection should hibernate after {PERIOD:?}{}",
            crashed()
        );
        // The server speaks first: broadcasts wake the sockets from the other side.
        for n in 0..3 {
            endpoint.broadcast("ping", "order_shipped", payload(json!({ "order": n })));
        }
        for client in &mut clients {
            for n in 0..3 {
                let frame = next_frame(client, "a broadcast sent while hibernating").await;
                assert_eq!(
                    (frame.event.as_str(), &frame.payload),
                    ("order_shipped", &json!({ "order": n })),
                    "broadcasts to a hibernated connection arrive, all of them, in order"
                );
            }
        }
        // Then the clients, each pushing twice in a row.
        for (i, client) in clients.iter_mut().enumerate() {
            ping(client, 10, &format!("first {i}")).await;
            ping(client, 11, &format!("second {i}")).await;
        }
    }
}
