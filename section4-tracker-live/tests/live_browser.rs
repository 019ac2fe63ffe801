//! The section's live pages in a real browser: headless Chromium, driven by
//! playwright-core, running the official `phoenix_live_view` client the pages load.
//! (The framework's own browser test, a form, is the `live` crate's `tests/browser.rs`.)
//!
//! Needs node, `npm ci` in tests/live and Debian's `chromium`; `.ci/run` installs
//! them. On a laptop without them the test prints why it skipped; in CI (`CI` set)
//! a missing tool is a failure, never a skip. Runs the reference views on two nodes
//! in this process (one store, one cluster pubsub, gossiping trackers), served on
//! 127.0.0.1 with free ports.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use activity::{ActivityStore, seed_store};
use channels::{LocalPubSub, PubSub, Server};
use live::feed::FeedDeps;
use live::presence::PresenceDeps;
use section4_tracker_live::Implementation;
use section4_tracker_live::app::PresenceNode;
use section4_tracker_live::live_app;
use tracker::TrackerConfig;

// The node + playwright-core + Chromium helpers of the course's test kit.
use testkit::browser::{run_script, seen};

/// The live pages' scripts folder, or `None` where the tools are missing.
fn browser_dir_or_skip(test: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/live");
    testkit::browser::dir_or_skip(
        dir,
        &["playwright-core", "phoenix", "phoenix_live_view"],
        test,
    )
}

/// Two nodes serving the reference live pages; returns their servers (base URLs).
async fn two_nodes() -> (Vec<(PresenceNode, Server)>, ActivityStore) {
    let store = ActivityStore::open("sqlite::memory:").await.unwrap();
    seed_store(&store, 30, 11).await.unwrap();
    let cluster: Arc<dyn PubSub> = Arc::new(LocalPubSub::named("cluster"));
    // Short heartbeats: Bob reaches Ada's node within a few hundred milliseconds.
    let config = TrackerConfig {
        permdown_period: Duration::from_secs(3),
        ..TrackerConfig::with_periods(Duration::from_millis(100), 3)
    };
    let mut nodes = Vec::new();
    for name in ["app@127.0.0.1", "back@127.0.0.1"] {
        let node = PresenceNode::start(
            Implementation::Solution,
            cluster.clone(),
            name,
            config.clone(),
        )
        .unwrap();
        let pages = live_app::live_pages(
            Implementation::Solution,
            FeedDeps {
                store: store.clone(),
                pubsub: cluster.clone(),
            },
            PresenceDeps {
                tracker: node.tracker.clone(),
                pubsub: node.local.clone(),
            },
            "a browser test secret key base, long enough",
            Default::default(),
        );
        assert!(
            pages.assets_installed(),
            "the clients are in tests/live/node_modules"
        );
        let server = Server::bind(0, pages.router()).await.unwrap();
        nodes.push((node, server));
    }
    (nodes, store)
}

fn url(server: &Server, path: &str) -> String {
    format!("http://{}{path}", server.addr())
}

async fn stop(nodes: Vec<(PresenceNode, Server)>) {
    for (node, server) in nodes {
        node.endpoint.shutdown();
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_renders_statically_upgrades_and_updates_live_across_nodes() {
    let Some(dir) = browser_dir_or_skip("the live feed browser test") else {
        return;
    };
    let (nodes, store) = two_nodes().await;
    let args = vec![url(&nodes[0].1, "/feed"), url(&nodes[1].1, "/feed")];
    let output = run_script(dir.join("feed.mjs"), args).await;
    let created = store.count().await.unwrap();
    stop(nodes).await;

    let seen = seen(&output, "the feed render, upgrade and update");
    assert_eq!(
        seen["staticItems"], 3,
        "with JavaScript off the page is the static render: 3 activities. {seen}"
    );
    assert_eq!(
        seen["connected"], true,
        "the client joined the view: {seen}"
    );
    assert_eq!(created, 31, "the click created one activity");
    assert_eq!(
        seen["top"], "activity-31",
        "the new activity is on top: {seen}"
    );
    assert_eq!(
        seen["secondTop"], "activity-31",
        "the other node's page shows it: {seen}"
    );
    assert_eq!(
        seen["errors"],
        serde_json::json!([]),
        "the pages logged errors: {seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_presence_dashboard_follows_pages_opening_and_closing() {
    let Some(dir) = browser_dir_or_skip("the live presence browser test") else {
        return;
    };
    let (nodes, _store) = two_nodes().await;
    let args = vec![url(&nodes[0].1, "/presence"), url(&nodes[1].1, "/presence")];
    let output = run_script(dir.join("presence.mjs"), args).await;
    stop(nodes).await;

    let seen = seen(&output, "the presence list change");
    assert_eq!(seen["alone"], serde_json::json!(["Ada"]), "{seen}");
    assert_eq!(
        seen["withBob"],
        serde_json::json!(["Ada", "Bob"]),
        "Bob opened a page on the other node: {seen}"
    );
    assert_eq!(seen["bobSees"], serde_json::json!(["Ada", "Bob"]), "{seen}");
    assert_eq!(
        seen["afterBobLeft"],
        serde_json::json!(["Ada"]),
        "Bob closed his page: {seen}"
    );
    assert_eq!(
        seen["errors"],
        serde_json::json!([]),
        "the pages logged errors: {seen}"
    );
}
