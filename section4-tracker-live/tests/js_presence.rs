//! The official `phoenix` JavaScript client's `Presence` against two presence nodes:
//! node runs tests/js/presence.test.mjs (node's own test runner) with `ws` as the
//! WebSocket.
//!
//! Twice: two nodes in one process on a shared `LocalPubSub`, then two nodes each with
//! its own connection to a real `redis-server` (section 3's `RedisPubSub`), as two
//! machines would be.
//!
//! Needs node and `npm ci --prefix section4-tracker-live/tests/js`; `.ci/run` does both.
//! On a laptop without them the test prints why it skipped; in CI (`CI` set) a
//! missing tool is a failure, never a skip.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

mod support;

use channels::{LocalPubSub, PubSub, Server};
use section3_production::solution::part2::redis_pubsub::RedisPubSub;
use section4_tracker_live::Implementation;
use section4_tracker_live::app::PresenceNode;
use section4_tracker_live::tracker::TrackerConfig;
use tokio::net::TcpListener;

/// Why the suite cannot run here, if it cannot.
fn missing_tool(dir: &Path) -> Option<String> {
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Some("node is not installed (apt-get install nodejs npm)".into());
    }
    for package in ["phoenix", "ws"] {
        if !dir.join("node_modules").join(package).exists() {
            return Some(format!(
                "the {package} npm package is not installed (npm ci --prefix {})",
                dir.display()
            ));
        }
    }
    None
}

async fn serve(node: &PresenceNode) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::spawn(listener, node.endpoint.routes("/socket")).unwrap()
}

/// The suite's directory, or `None` after saying why it cannot run (a failure in CI).
fn suite_dir() -> Option<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    if let Some(reason) = missing_tool(&dir) {
        assert!(
            std::env::var_os("CI").is_none(),
            "the phoenix Presence suite cannot run in CI: {reason}"
        );
        eprintln!("skipped: the phoenix Presence suite: {reason}");
        return None;
    }
    Some(dir)
}

/// Real time here (node runs beside us): a short heartbeat keeps the suite quick.
fn config() -> TrackerConfig {
    TrackerConfig::with_periods(Duration::from_millis(50), 10)
}

fn start(cluster: Arc<dyn PubSub>, name: &str) -> PresenceNode {
    PresenceNode::start(Implementation::Solution, cluster, name, config()).expect("valid config")
}

/// Runs presence.test.mjs against `app` and `back`; fails with node's output.
async fn run_suite(dir: &Path, app: &PresenceNode, back: &PresenceNode) {
    let (app_server, back_server) = (serve(app).await, serve(back).await);
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("node")
            .arg("--test")
            .arg("--test-reporter=spec")
            .arg(dir.join("presence.test.mjs"))
            .current_dir(dir)
            .env("APP", app_server.addr().to_string())
            .env("BACK", back_server.addr().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the node suite finishes within 60 s")
    .expect("run node");
    // The spec reporter's lines, for `cargo test -- --nocapture`.
    eprintln!("{}", String::from_utf8_lossy(&output.stdout));
    app_server.stop().await;
    back_server.stop().await;
    assert!(
        output.status.success(),
        "the phoenix Presence suite failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
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
    let Some(redis) = support::redis::RedisServer::start(test) else {
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
