//! Back-pressure, not blame: a client that sends faster than it reads is slowed down
//! by TCP and gets a reply to every request; only a client whose socket takes nothing
//! is closed as slow. A client still sending when the server closes it reads why.
//! And frames for one topic are handled in order: a leave is answered before the next
//! join of its topic.
//!
//! Real WebSockets over loopback where the kernel's buffers are the point; in memory,
//! on tokio's paused clock, where a timer is.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use channels::telemetry::{TelemetryEvent, TelemetryHandler};
use channels::{ChannelRouter, Endpoint, Server, SocketConfig};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::*;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame as WsFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type WsSink = futures::stream::SplitSink<Ws, Message>;
type WsStream = futures::stream::SplitStream<Ws>;

/// Longest a test waits for the next frame before it says how far it got.
const PATIENCE: Duration = Duration::from_secs(20);

async fn serve(config: SocketConfig) -> (Endpoint, Server) {
    let endpoint = endpoint_with(config);
    let server = Server::bind(0, endpoint.routes("/socket")).await.unwrap();
    (endpoint, server)
}

fn url(server: &Server) -> String {
    server.socket_url("/socket", &[("user", "ada")])
}

async fn connect_ws(server: &Server) -> (WsSink, WsStream) {
    let (ws, _) = tokio_tungstenite::connect_async(url(server))
        .await
        .expect("connect");
    ws.split()
}

fn text(frame: Value) -> Message {
    Message::text(frame.to_string())
}

/// The next frame the server sent, as JSON; panics with `what` (and how the
/// connection ended) on anything else.
async fn next_frame(rx: &mut WsStream, what: &str) -> Value {
    loop {
        match tokio::time::timeout(PATIENCE, rx.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).unwrap(),
            Ok(Some(Ok(Message::Close(close)))) => {
                panic!("{what}: the server closed the connection instead: {close:?}")
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => panic!("{what}: the connection failed instead: {e}"),
            Ok(None) => panic!("{what}: the connection ended instead"),
            Err(_) => panic!("{what}: nothing arrived within {PATIENCE:?}"),
        }
    }
}

/// Joins `orders:berlin` with ref "1".
async fn join(tx: &mut WsSink, rx: &mut WsStream) {
    tx.send(text(json!(["1", "1", "orders:berlin", "phx_join", {}])))
        .await
        .unwrap();
    let reply = next_frame(rx, "waiting for the join reply").await;
    assert_eq!(reply[4]["status"], "ok", "join reply: {reply}");
}

/// Replies counted by what they said.
#[derive(Debug, Default)]
struct Replies {
    ok: usize,
    busy: usize,
}

impl Replies {
    fn total(&self) -> usize {
        self.ok + self.busy
    }

    fn count(&mut self, reply: &Value) {
        assert_eq!(reply[3], "phx_reply", "expected only replies, got {reply}");
        match (
            reply[4]["status"].as_str(),
            reply[4]["response"]["reason"].as_str(),
        ) {
            (Some("ok"), _) => self.ok += 1,
            (Some("error"), Some(reason)) if reason.starts_with("channel busy") => self.busy += 1,
            _ => panic!("expected an ok reply or `channel busy`, got {reply}"),
        }
    }
}

/// Sends `frames` as one burst (fed, then flushed once) on a task of its own, while
/// the caller reads; returns the sink once all of it is written.
fn send_burst(mut tx: WsSink, frames: Vec<Message>) -> tokio::task::JoinHandle<WsSink> {
    tokio::spawn(async move {
        for frame in frames {
            tx.feed(frame)
                .await
                .expect("the server stopped taking frames");
        }
        tx.flush().await.expect("the server stopped taking frames");
        tx
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_pipelining_pushes_while_reading_gets_every_reply_and_stays_connected() {
    let (_endpoint, server) = serve(SocketConfig::default()).await;
    let (mut tx, mut rx) = connect_ws(&server).await;
    join(&mut tx, &mut rx).await;

    // As phoenix.js does when a page pushes in a loop: 1,000 pushes, none awaited,
    // five times. The channel's mailbox (64) overflows, so some replies are `channel
    // busy`; none may be missing, and the connection must stay open.
    let (rounds, pushes) = (5, 1_000);
    let mut replies = Replies::default();
    let mut next_ref = 2;
    for round in 1..=rounds {
        let frames = (0..pushes)
            .map(|_| {
                next_ref += 1;
                text(json!(["1", next_ref.to_string(), "orders:berlin", "echo", {"n": next_ref}]))
            })
            .collect();
        let sending = send_burst(tx, frames);
        for _ in 0..pushes {
            let what = format!(
                "round {round}: {} of {} replies received ({replies:?})",
                replies.total(),
                rounds * pushes
            );
            replies.count(&next_frame(&mut rx, &what).await);
        }
        tx = sending.await.unwrap();
    }
    assert_eq!(replies.total(), rounds * pushes, "{replies:?}");
    eprintln!("{rounds} x {pushes} pipelined pushes: {replies:?}");

    // Still connected, still served.
    tx.send(text(json!([null, "hb", "phoenix", "heartbeat", {}])))
        .await
        .unwrap();
    let reply = next_frame(&mut rx, "the heartbeat after the pushes").await;
    assert_eq!(reply[1], "hb", "{reply}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_heartbeats_gets_a_reply_each() {
    let (_endpoint, server) = serve(SocketConfig::default()).await;
    let (tx, mut rx) = connect_ws(&server).await;
    let beats = 1_000;
    let frames = (0..beats)
        .map(|i| text(json!([null, i.to_string(), "phoenix", "heartbeat", {}])))
        .collect();
    let sending = send_burst(tx, frames);
    for i in 0..beats {
        let what = format!("{i} of {beats} heartbeat replies received");
        let reply = next_frame(&mut rx, &what).await;
        assert_eq!(
            (reply[1].as_str(), reply[4]["status"].as_str()),
            (Some(i.to_string().as_str()), Some("ok")),
            "heartbeat replies come in order, each ok: {reply}"
        );
    }
    let _sink = sending.await.unwrap();
    server.stop().await;
}

/// Keeps the code of every connection's close.
#[derive(Clone, Default)]
struct Closes(Arc<Mutex<Vec<u16>>>);

impl TelemetryHandler for Closes {
    fn handle(&self, event: &TelemetryEvent<'_>) {
        if let TelemetryEvent::SocketClosed { code } = event {
            self.0.lock().unwrap().push(*code);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_that_sends_and_never_reads_is_closed_as_slow_and_freed() {
    let closes = Closes::default();
    let config = SocketConfig::default();
    let endpoint = Endpoint::builder(ChannelRouter::new().channel::<OrdersChannel>("orders:*"))
        .handler(support::connect)
        .telemetry(Arc::new(closes.clone()))
        .config(config.clone())
        .build();
    let mut stuck = client(&endpoint, "stuck");
    stuck.join("orders:berlin", json!({})).await;

    // It pushes and never reads. The socket stops reading it once half the outbox is
    // queued; its pushes then wait, and nothing it is sent moves any more.
    let started = tokio::time::Instant::now();
    let pushing = tokio::spawn(async move {
        for _ in 0..2_000 {
            stuck.push("orders:berlin", "echo", json!({})).await;
        }
    });
    let deadline = started + config.write_timeout + config.close_timeout + Duration::from_secs(1);
    while endpoint.connections() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let waited = started.elapsed();
    assert_eq!(
        endpoint.connections(),
        0,
        "a client whose socket took nothing for {:?} should have been disconnected \
         and its connection freed; after {waited:?} it is still open",
        config.write_timeout
    );
    assert_eq!(
        *closes.0.lock().unwrap(),
        [1008],
        "closed as a slow client (1008)"
    );
    assert!(
        waited >= config.write_timeout,
        "closed after {waited:?}: a client is slow only once its socket took nothing for \
         write_timeout ({:?})",
        config.write_timeout
    );
    // Its sends fail now: the connection is gone.
    tokio::time::timeout(Duration::from_secs(5), pushing)
        .await
        .expect("the client's sends fail once the server is gone")
        .unwrap();
}

/// Connects with a small receive buffer: a few replies the client does not read yet
/// fill its TCP window, so what the server writes next waits in the server's kernel.
async fn connect_small_window(server: &Server) -> (WsSink, WsStream) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr()).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(url(server), MaybeTlsStream::Plain(stream))
        .await
        .expect("connect");
    ws.split()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_still_sending_when_the_server_closes_it_reads_the_close_frame() {
    let (_endpoint, server) = serve(SocketConfig {
        max_message_size: 16 * 1024,
        ..SocketConfig::default()
    })
    .await;
    let cases: [(&str, Message, u16, &str); 3] = [
        (
            "a message above the limit",
            Message::text(format!(
                r#"[null,"x","phoenix","heartbeat",{{"pad":"{}"}}]"#,
                "x".repeat(20 * 1024)
            )),
            1009,
            "message larger than 16384 bytes",
        ),
        (
            "a text frame that is not UTF-8",
            Message::Frame(WsFrame::message(
                vec![b'[', 0xff, 0xfe, b']'],
                OpCode::Data(Data::Text),
                true,
            )),
            1007,
            "text frame is not valid UTF-8",
        ),
        (
            "a frame that is not JSON",
            Message::text("[null, \"1\", "),
            1002,
            "bad frame: invalid JSON: EOF while parsing a value at line 1 column 12",
        ),
    ];
    for (case, bad, code, reason) in cases {
        let (mut tx, mut rx) = connect_small_window(&server).await;
        // Replies it does not read yet (about 12 KiB) fill its window; the close frame
        // the bad frame earns queues behind them, in the server's kernel.
        let beats = 200;
        for i in 0..beats {
            tx.feed(text(json!([
                null,
                i.to_string(),
                "phoenix",
                "heartbeat",
                {}
            ])))
            .await
            .unwrap();
        }
        tx.feed(bad).await.unwrap();
        tx.flush().await.unwrap();
        // It keeps sending while the server closes it, as a busy page does.
        let sending = tokio::spawn(async move {
            let mut sent = 0;
            while sent < 2_000 {
                let beat = text(json!([null, "hb", "phoenix", "heartbeat", {}]));
                if tx.send(beat).await.is_err() {
                    break;
                }
                sent += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut frames = 0;
        let closed = loop {
            match tokio::time::timeout(PATIENCE, rx.next()).await {
                Ok(Some(Ok(Message::Text(_)))) => frames += 1,
                Ok(Some(Ok(Message::Close(Some(close))))) => {
                    break (u16::from(close.code), close.reason.to_string());
                }
                Ok(None) | Ok(Some(Ok(Message::Close(None)))) => {
                    panic!(
                        "{case}: the connection ended after {frames} replies, without a close frame"
                    )
                }
                Ok(Some(Ok(other))) => panic!("{case}: unexpected {other:?}"),
                Ok(Some(Err(e))) => panic!(
                    "{case}: after {frames} replies the connection failed ({e}) where the \
                     client should have read a close frame {code} \"{reason}\": the server \
                     closed its socket with the client's data unread, so the kernel reset \
                     the connection and dropped the close frame"
                ),
                Err(_) => panic!("{case}: nothing arrived within {PATIENCE:?}"),
            }
        };
        assert_eq!(frames, beats, "{case}: every reply before the close frame");
        assert_eq!(closed, (code, reason.to_string()), "{case}");
        sending.await.unwrap();
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_and_leaves_written_in_one_burst_are_answered_in_order() {
    let (_endpoint, server) = serve(SocketConfig::default()).await;
    let (tx, mut rx) = connect_ws(&server).await;
    let pairs = 500;
    let frames = (0..pairs)
        .flat_map(|i| {
            let (join_ref, leave_ref) = ((2 * i + 1).to_string(), (2 * i + 2).to_string());
            [
                text(json!([join_ref, join_ref, "orders:berlin", "phx_join", {}])),
                text(json!([
                    join_ref,
                    leave_ref,
                    "orders:berlin",
                    "phx_leave",
                    {}
                ])),
            ]
        })
        .collect();
    let sending = send_burst(tx, frames);
    // Each pair: the join's ok, the leave's ok, then phx_close, before the next join.
    for i in 0..pairs {
        let (join_ref, leave_ref) = ((2 * i + 1).to_string(), (2 * i + 2).to_string());
        let expected = [
            json!([join_ref, join_ref, "orders:berlin", "phx_reply",
                {"response": {"store": "orders:berlin"}, "status": "ok"}]),
            json!([join_ref, leave_ref, "orders:berlin", "phx_reply",
                {"response": {}, "status": "ok"}]),
            json!([join_ref, join_ref, "orders:berlin", "phx_close", {}]),
        ];
        for (what, expected) in ["join reply", "leave reply", "phx_close"]
            .iter()
            .zip(expected)
        {
            let context = format!("pair {} of {pairs}: waiting for its {what}", i + 1);
            let frame = next_frame(&mut rx, &context).await;
            assert_eq!(
                frame, expected,
                "{context}: got another frame. Every pair must get its join reply, its \
                 leave reply and phx_close, in that order"
            );
        }
    }
    let _sink = sending.await.unwrap();
    server.stop().await;
}
