//! The official `phoenix` JavaScript client's `Presence` against two presence nodes:
//! node runs tests/js/presence.test.mjs (node's own test runner) with `ws` as the
//! WebSocket.
//!
//! Twice: two nodes in one process on a shared `LocalPubSub`, then two nodes each with
//! its own connection to a real `redis-server` (section 3's `RedisPubSub`), as two
//! machines would be. The suite's last test stops one node as SIGTERM would: its
//! clients read 1001, and the other node's `Presence` drops its users at once.
//! Third, as an operator runs them: two `serve --redis` processes, and the stop is a
//! real SIGTERM to one of them.
//!
//! Needs node and `npm ci --prefix section4-tracker-live/tests/js`; `.ci/run` does both.
//! On a laptop without them the test prints why it skipped; in CI (`CI` set) a
//! missing tool is a failure, never a skip.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use channels::{LocalPubSub, PubSub, Server};
use section3_reference::part2::e06_redis_pubsub::RedisPubSub;
use section4_tracker_live::Implementation;
use section4_tracker_live::app::PresenceNode;
use testkit::process::ServerProcess;
use testkit::redis::RedisServer;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracker::TrackerConfig;

/// What the skip lines and failures call this suite.
const SUITE: &str = "the phoenix Presence suite";

async fn serve(routes: axum::Router) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::spawn(listener, routes).unwrap()
}

/// `POST /test/stop`: what SIGTERM does to a node. Its tracker says goodbye (the
/// other node drops its presences at once) before the answer; then its sockets are
/// closed with 1001 and its server drains (`stop` asks `run_suite` to).
fn stop_route(node: &PresenceNode, stop: mpsc::Sender<()>) -> axum::Router {
    let node = node.clone();
    axum::Router::new().route(
        "/test/stop",
        post(move || {
            let (node, stop) = (node.clone(), stop.clone());
            async move {
                node.tracker.graceful_permdown().await;
                node.endpoint.shutdown();
                let _ = stop.try_send(());
                StatusCode::ACCEPTED
            }
        }),
    )
}

/// The suite's directory, or `None` after saying why it cannot run (a failure in CI).
fn suite_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    testkit::node::dir_or_skip(dir, &["phoenix", "ws"], SUITE)
}

/// The trackers' broadcast period. Real time here (node runs beside us): a short
/// heartbeat keeps the suite quick.
const PERIOD: Duration = Duration::from_millis(50);

/// Down after 1 s of silence: what a crashed node would cost; a graceful stop must
/// show within two periods.
fn config() -> TrackerConfig {
    TrackerConfig::with_periods(PERIOD, 10)
}

fn start(cluster: Arc<dyn PubSub>, name: &str) -> PresenceNode {
    PresenceNode::start(Implementation::Solution, cluster, name, config()).expect("valid config")
}

/// Runs presence.test.mjs against `app` and `back`; fails with node's output.
async fn run_suite(dir: &Path, app: &PresenceNode, back: &PresenceNode) {
    let (stop_tx, mut stop) = mpsc::channel(1);
    let app_server = serve(app.endpoint.routes("/socket")).await;
    let back_routes = back
        .endpoint
        .routes("/socket")
        .merge(stop_route(back, stop_tx));
    let back_server = serve(back_routes).await;
    let mut command = testkit::node::test_command(dir, "presence.test.mjs");
    command
        .env("APP", app_server.addr().to_string())
        .env("BACK", back_server.addr().to_string())
        .env("PERIOD_MS", PERIOD.as_millis().to_string());
    let suite = testkit::node::run_suite(command, Duration::from_secs(60), SUITE);
    tokio::pin!(suite);
    let back_server = tokio::select! {
        _ = &mut suite => Some(back_server),
        Some(()) = stop.recv() => {
            // The rest of the graceful stop: wait for the sockets' closes, bounded.
            let drained = tokio::time::timeout(Duration::from_secs(5), back_server.shutdown()).await;
            assert!(drained.is_ok(), "the stopped node did not drain within 5 s");
            let _ = suite.await;
            None
        }
    };
    app_server.stop().await;
    if let Some(server) = back_server {
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_presence_syncs_across_two_nodes() {
    let Some(dir) = suite_dir() else { return };
    let cluster: Arc<dyn PubSub> = Arc::new(LocalPubSub::named("cluster"));
    let app = start(cluster.clone(), "app@127.0.0.1");
    let back = start(cluster, "back@127.0.0.1");
    run_suite(&dir, &app, &back).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_presence_syncs_across_two_nodes_through_redis() {
    let Some(dir) = suite_dir() else { return };
    let test = "the_official_presence_syncs_across_two_nodes_through_redis";
    let Some(redis) = RedisServer::start(test) else {
        return;
    };
    let mut nodes = Vec::new();
    for name in ["app@127.0.0.1", "back@127.0.0.1"] {
        let pubsub = RedisPubSub::connect_on(&redis.url(), "rts:s4:js", name)
            .await
            .expect("connect to our redis-server");
        assert!(
            pubsub.link().wait_subscribed(Duration::from_secs(5)).await,
            "{name} could not subscribe to Redis within 5 s"
        );
        nodes.push(start(Arc::new(pubsub), name));
    }
    run_suite(&dir, &nodes[0], &nodes[1]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_through_redis_a_sigterm_leaves_at_once() {
    let Some(dir) = suite_dir() else { return };
    let test = "two_serve_processes_through_redis_a_sigterm_leaves_at_once";
    let Some(redis) = RedisServer::start(test) else {
        return;
    };
    let url = redis.url();
    let start = |name: &str| {
        let args = [
            "serve",
            "--solution",
            "--port",
            "0",
            "--database",
            "sqlite::memory:",
            "--redis",
            &url,
            "--name",
            name,
        ];
        ServerProcess::start(env!("CARGO_BIN_EXE_section4-tracker-live"), &args)
    };
    let app = start("app@127.0.0.1");
    let mut back = start("back@127.0.0.1");
    // The binary's own period (TrackerConfig::default): a crash would take the down
    // period, 20 of them.
    let period = TrackerConfig::default().broadcast_period;
    let mut command = testkit::node::test_command(&dir, "presence.test.mjs");
    command
        .env("APP", app.addr.to_string())
        .env("BACK", back.addr.to_string())
        .env("BACK_PID", back.pid().to_string())
        .env("PERIOD_MS", period.as_millis().to_string());
    testkit::node::run_suite(command, Duration::from_secs(90), SUITE).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = back.wait_exit(Duration::from_secs(15));
        (status, back.stderr())
    })
    .await
    .unwrap();
    match status {
        (Some(status), logs) => assert!(status.success(), "BACK exited {status}:\n{logs}"),
        (None, logs) => panic!("BACK still runs 15 s after SIGTERM:\n{logs}"),
    }
}
