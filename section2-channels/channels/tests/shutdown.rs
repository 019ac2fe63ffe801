//! Stopping gracefully: every socket gets what was queued for it, then a close frame
//! with 1001 "going away", and the server waits for the clients' own closes, within
//! the drain deadline, before the process may exit.
//!
//! A process exit is what makes the difference, so the servers of the first tests
//! run on a runtime of their own, dropped as `main` returning would drop it: whatever
//! the shutdown did not finish is cut off.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use channels::client::{ChannelClient, ConnectError};
use channels::{Broadcast, Server, SocketConfig, payload};
use futures::{SinkExt, StreamExt};
use serde_json::json;
use support::*;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

/// Frames the server queues for the client just before it stops, and the padding of
/// each: 6 MB in all, more than the kernel's socket buffers take while the client
/// is not reading yet, so the writer is still at work when the stop comes.
const QUEUED: usize = 200;
const PAD: usize = 32 * 1024;
/// The drain deadline the "process" gives itself.
const DRAIN: Duration = Duration::from_secs(5);

/// How the server "process" stops once told to.
#[derive(Clone, Copy)]
enum Stop {
    /// `Endpoint::shutdown`, then `Server::shutdown` within the deadline.
    Graceful,
    /// What servers did before: signal, then abort (`Server::stop`).
    Abort,
}

/// A server process: serves `orders:*` on a runtime of its own; when `go` fires it
/// broadcasts [`QUEUED`] frames, stops as `stop` says, and exits (the runtime is
/// dropped). Returns its address and, once it exited, how long the stop took.
fn server_process(stop: Stop) -> (SocketAddr, oneshot::Sender<()>, oneshot::Receiver<Duration>) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (go_tx, go) = oneshot::channel::<()>();
    let (took_tx, took) = oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let took = runtime.block_on(async move {
            // The queue may take the whole drain to write, not just the default 1 s.
            let endpoint = endpoint_with(SocketConfig {
                close_timeout: DRAIN,
                ..SocketConfig::default()
            });
            let server = Server::bind(0, endpoint.routes("/socket")).await.unwrap();
            // Encoded now: queueing them is then a matter of microseconds, and the
            // stop comes while the writer is still at work.
            let placed: Vec<Broadcast> = (0..QUEUED)
                .map(|n| {
                    let order = json!({ "n": n, "pad": "x".repeat(PAD) });
                    Broadcast::new("orders:berlin", "order.placed", payload(order))
                })
                .collect();
            addr_tx.send(server.addr()).unwrap();
            go.await.unwrap();
            for broadcast in placed {
                endpoint.pubsub().broadcast(broadcast);
            }
            let started = Instant::now();
            match stop {
                Stop::Graceful => {
                    endpoint.shutdown();
                    let drained = tokio::time::timeout(DRAIN, server.shutdown()).await;
                    assert!(drained.is_ok(), "not drained within {DRAIN:?}");
                }
                Stop::Abort => {
                    endpoint.shutdown();
                    server.stop().await;
                }
            }
            started.elapsed()
        });
        // As the end of `main` would: every task still running is dropped with it.
        drop(runtime);
        let _ = took_tx.send(took);
    });
    (addr_rx.recv().unwrap(), go_tx, took)
}

fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}/socket/websocket?user=ada&vsn=2.0.0")
}

/// How a connection ended, as the client saw it.
#[derive(Debug, PartialEq)]
enum End {
    /// A close frame with this code and reason.
    Close(u16, String),
    /// No close frame: the connection was reset or cut (a browser reports 1006).
    Lost(String),
}

/// Joins `orders:berlin`, lets the server stop, and returns the `n` of every
/// `order.placed` received, how the connection ended, and how long the stop took.
///
/// The client's receive buffer is small (64 KiB, which also stops the kernel growing
/// it), so what the server queued cannot all hide in kernel buffers: at least 2 MB
/// of it is still the server's to write when the stop comes.
async fn queued_then_closed(stop: Stop) -> (Vec<u64>, End, Duration) {
    let (addr, go, took) = server_process(stop);
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(url(addr), stream)
        .await
        .unwrap();
    let join = json!(["1", "1", "orders:berlin", "phx_join", {}]).to_string();
    ws.send(Message::text(join)).await.unwrap();
    match ws.next().await {
        Some(Ok(Message::Text(reply))) => assert!(reply.contains("\"ok\""), "{reply}"),
        other => panic!("expected the join reply, got {other:?}"),
    }
    go.send(()).unwrap();
    // A client busy elsewhere for a moment: the backlog waits in the server.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut placed = Vec::new();
    let end = loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next()).await;
        match message.expect("the connection ended within 10 s") {
            Some(Ok(Message::Text(text))) => {
                let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
                if frame[3] == "order.placed" {
                    placed.push(frame[4]["n"].as_u64().unwrap());
                }
            }
            Some(Ok(Message::Close(frame))) => {
                let frame = frame.expect("a close frame with a code");
                break End::Close(u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => break End::Lost(error.to_string()),
            None => break End::Lost("ended without a close frame".into()),
        }
    };
    // Reading on sends the client's own close (tungstenite answers when it next
    // reads); then it closes its end, as a browser does once the server has.
    while let Some(Ok(_)) = ws.next().await {}
    drop(ws);
    let took = took.await.expect("the server process exited");
    (placed, end, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_writes_what_was_queued_then_closes_with_1001() {
    let (placed, end, took) = queued_then_closed(Stop::Graceful).await;
    assert_eq!(
        placed,
        (0..QUEUED as u64).collect::<Vec<_>>(),
        "every frame queued before the shutdown, in order"
    );
    assert_eq!(end, End::Close(1001, "server shutting down".into()));
    println!(
        "graceful stop: {QUEUED} queued frames ({} MB), 1001, and the client's close \
         within {took:?} (the client started reading after 300 ms)",
        (QUEUED * PAD) >> 20
    );
}

/// The known-wrong stop, kept as a test so the difference stays visible: aborting
/// right after the signal loses what the writer had not written yet, the close frame
/// included, when the process exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborting_stop_loses_the_queue_and_the_close() {
    let (placed, end, _) = queued_then_closed(Stop::Abort).await;
    println!("aborted: {} of {QUEUED} frames, then {end:?}", placed.len());
    assert!(placed.len() < QUEUED, "{} frames arrived", placed.len());
    assert!(matches!(end, End::Lost(_)), "{end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_answers_the_close_holds_the_shutdown_for_linger_at_most() {
    let endpoint = endpoint();
    let server = Server::bind(0, endpoint.routes("/socket")).await.unwrap();
    // Connected, then never reads again: it neither sees the close nor answers it.
    let (_silent, _) = tokio_tungstenite::connect_async(url(server.addr()))
        .await
        .unwrap();
    wait_for(|| endpoint.connections() == 1).await;
    let started = Instant::now();
    endpoint.shutdown();
    tokio::time::timeout(DRAIN, server.shutdown())
        .await
        .expect("bounded by the close timeout and the linger");
    let took = started.elapsed();
    let linger = channels::endpoint::LINGER;
    assert!(
        took >= linger && took < linger + Duration::from_secs(1),
        "waited for the client's close for LINGER ({linger:?}), then let go: took {took:?}"
    );
}

#[tokio::test]
async fn a_shutting_down_endpoint_refuses_new_sockets_with_503() {
    let endpoint = endpoint();
    let server = Server::bind(0, endpoint.routes("/socket")).await.unwrap();
    let addr = server.addr();
    endpoint.shutdown();
    assert!(endpoint.is_shutting_down());
    match ChannelClient::connect(&url(addr)).await {
        Err(ConnectError::Status(503)) => {}
        Err(other) => panic!("expected 503, got {other}"),
        Ok(_) => panic!("a socket was opened during the shutdown"),
    }
    tokio::time::timeout(DRAIN, server.shutdown())
        .await
        .expect("nothing left to wait for");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn a_client_that_answers_the_close_lets_the_server_go_at_once() {
    let endpoint = endpoint();
    let server = Server::bind(0, endpoint.routes("/socket")).await.unwrap();
    let addr = server.addr();
    let (mut ws, _) = tokio_tungstenite::connect_async(url(addr)).await.unwrap();
    wait_for(|| endpoint.connections() == 1).await;
    // Reads until the end, answering the close (tungstenite does, while reading on),
    // then closes its end of the connection.
    let client = tokio::spawn(async move {
        let mut close = None;
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Close(frame) = message {
                close = frame.map(|f| u16::from(f.code));
            }
        }
        close
    });
    let started = Instant::now();
    endpoint.shutdown();
    tokio::time::timeout(DRAIN, server.shutdown())
        .await
        .expect("drained");
    let took = started.elapsed();
    assert_eq!(client.await.unwrap(), Some(1001));
    assert!(
        took < channels::endpoint::LINGER / 2,
        "the client closed at once, so nothing was left to linger for; took {took:?}"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "not accepting"
    );
}

#[tokio::test(start_paused = true)]
async fn closed_completes_when_the_last_connection_has_ended() {
    let endpoint = endpoint();
    let mut ada = client(&endpoint, "ada");
    let mut bob = client(&endpoint, "bob");
    ada.join("orders:berlin", json!({})).await;
    bob.join("orders:berlin", json!({})).await;
    assert_eq!(endpoint.connections(), 2);
    let closed = tokio::spawn({
        let endpoint = endpoint.clone();
        async move { endpoint.closed().await }
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(!closed.is_finished(), "two connections are open");

    let (signal, signalled) = oneshot::channel::<()>();
    endpoint.shutdown_on(async move {
        let _ = signalled.await;
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(endpoint.connections(), 2, "no signal yet");
    signal.send(()).unwrap();
    for client in [&mut ada, &mut bob] {
        assert_eq!(client.closed().await.code, 1001);
    }
    tokio::time::timeout(Duration::from_secs(2), closed)
        .await
        .expect("closed() completes with the last connection")
        .unwrap();
    assert_eq!(endpoint.connections(), 0);
    // Nothing open: at once.
    endpoint.closed().await;
}

async fn wait_for(mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "condition not met"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
