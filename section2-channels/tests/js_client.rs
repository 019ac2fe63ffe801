//! The official `phoenix` JavaScript client against the server: node runs
//! tests/js/channels.test.mjs (node's own test runner) with `ws` as the WebSocket.
//!
//! Needs node and `npm ci --prefix section2-channels/tests/js`; `.ci/run` does both.
//! On a laptop without them the test prints why it skipped; in CI (`CI` set) a
//! missing tool is a failure, never a skip.
//!
//! The harness serves the section's app (reference channels, the anonymous socket and
//! the token-authenticated one) plus two control routes: `POST /test/broadcast` to
//! broadcast from the server, and `POST /test/restart`, which stops the server
//! gracefully (as SIGTERM would) and starts a new one on the same port.

use std::path::Path;
use std::time::Duration;

use activity::ActivityStore;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use channels::{Endpoint, Server, payload};
use section2_channels::app::{self, App, Implementation};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const NODE_NAME: &str = "node-test@127.0.0.1";
const USER_ID: i64 = 7;

#[derive(Clone)]
struct Control {
    endpoint: Endpoint,
    restart: mpsc::Sender<()>,
}

#[derive(serde::Deserialize)]
struct BroadcastQuery {
    topic: String,
    event: String,
}

async fn broadcast(State(control): State<Control>, Query(q): Query<BroadcastQuery>) -> StatusCode {
    control
        .endpoint
        .broadcast(&q.topic, &q.event, payload(json!({"from": "test"})));
    StatusCode::ACCEPTED
}

async fn restart(State(control): State<Control>) -> StatusCode {
    let _ = control.restart.try_send(());
    StatusCode::ACCEPTED
}

/// The section's app plus the suite's extra socket and control routes.
async fn router(restart_tx: mpsc::Sender<()>) -> (App, axum::Router) {
    let store = ActivityStore::open("sqlite::memory:").await.unwrap();
    let app = app::new(Implementation::Solution, NODE_NAME, store);
    let control = Control {
        endpoint: app.endpoint.clone(),
        restart: restart_tx,
    };
    let router = app.router().merge(
        axum::Router::new()
            .route("/test/broadcast", post(broadcast))
            .route("/test/restart", post(restart))
            .with_state(control),
    );
    (app, router)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_phoenix_client_works_against_the_server() {
    let Some(dir) = testkit::node::dir_or_skip(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js"),
        &["phoenix", "ws"],
        "the phoenix client suite",
    ) else {
        return;
    };

    let (restart_tx, mut restart_rx) = mpsc::channel(1);
    let (mut app, routes) = router(restart_tx.clone()).await;
    let mut server =
        Server::spawn(TcpListener::bind("127.0.0.1:0").await.unwrap(), routes).unwrap();
    let addr = server.addr();

    let mut node = testkit::node::test_command(&dir, "channels.test.mjs")
        .env("SERVER", addr.to_string())
        .env("TOKEN", app.signer.sign(&USER_ID).unwrap())
        .env("USER_ID", USER_ID.to_string())
        .spawn()
        .expect("run node");
    let stdout = node.stdout.take().unwrap();
    let stderr = node.stderr.take().unwrap();
    let read_all = |mut pipe: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
        tokio::spawn(async move {
            let mut text = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut text).await;
            text
        })
    };
    let stdout = read_all(Box::new(stdout));
    let stderr = read_all(Box::new(stderr));

    let (status, server) = tokio::time::timeout(Duration::from_secs(120), async move {
        loop {
            tokio::select! {
                status = node.wait() => break (status.expect("node ran"), server),
                Some(()) = restart_rx.recv() => {
                    // Let the 202 reach the client, then stop gracefully (sockets
                    // closed with 1001, drained) and start a fresh server (new
                    // endpoint, new pubsub) on the same port.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    app.endpoint.shutdown();
                    app.auth_endpoint.shutdown();
                    let drained = tokio::time::timeout(Duration::from_secs(5), server.shutdown()).await;
                    assert!(drained.is_ok(), "the server did not drain within 5 s");
                    let (new_app, routes) = router(restart_tx.clone()).await;
                    app = new_app;
                    server = Server::spawn(TcpListener::bind(addr).await.expect("rebind the same port"), routes).unwrap();
                }
            }
        }
    })
    .await
    .expect("the node suite finished within 120 s");
    server.stop().await;

    let stdout = stdout.await.unwrap();
    let stderr = stderr.await.unwrap();
    assert!(
        status.success(),
        "the phoenix client suite failed:\n{stdout}\n{stderr}"
    );
    println!("{stdout}");
}
