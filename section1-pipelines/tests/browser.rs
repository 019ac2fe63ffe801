//! The dashboard in a real browser: headless Chromium, driven by playwright-core.
//!
//! Needs node, `npm ci` in tests/browser and Debian's `chromium`; `.ci/run` installs
//! them. On a laptop without them the test prints why it skipped; in CI (`CI` set)
//! a missing tool is a failure, never a skip.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pipeline::mock_resource::MockResource;
use section1_pipelines::app::{self, AppState, Implementation};
use testkit::browser::{run_script, seen};

/// The dashboard scripts' folder, or `None` where the tools are missing (see
/// `testkit::browser`).
fn browser_dir_or_skip(test: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    testkit::browser::dir_or_skip(dir, &["playwright-core"], test)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_live_resource_use() {
    let Some(dir) = browser_dir_or_skip("the dashboard browser test") else {
        return;
    };

    let resource = MockResource::with_hold(Duration::from_secs(60));
    let server = app::spawn(AppState::new(resource.clone(), Implementation::Solution), 0)
        .await
        .unwrap();
    let users: Vec<_> = (0..3)
        .map(|_| {
            let resource = resource.clone();
            tokio::spawn(async move { resource.use_resource().await })
        })
        .collect();

    let url = server.url("/part1");
    let output = run_script(dir.join("dashboard.mjs"), vec![url, "3".into()]).await;
    for user in users {
        user.abort();
    }
    server.stop().await.unwrap();

    let seen = seen(&output, "3 users on the dashboard");
    assert_eq!(seen["current"], "3", "{seen}");
    assert_eq!(seen["status"], "live", "{seen}");
    assert_eq!(seen["implementation"], "solution", "{seen}");
    assert_eq!(
        seen["errors"],
        serde_json::json!([]),
        "the page logged errors: {seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_dashboard_shows_queue_and_resource() {
    let Some(dir) = browser_dir_or_skip("the part 2 dashboard browser test") else {
        return;
    };

    // A pool of 10 in front of a 60 s resource: 15 events leave 10 in use, 5 waiting.
    let resource = MockResource::with_hold(Duration::from_secs(60));
    let state = AppState::new(resource, Implementation::Solution);
    let pipeline = state.pipeline.clone();
    let server = app::spawn(state, 0).await.unwrap();
    for _ in 0..15 {
        pipeline.push(pipeline::Event::new()).await.unwrap();
    }

    let url = server.url("/part2");
    let args = vec![url, "5".into(), "10".into()];
    let output = run_script(dir.join("dashboard_part2.mjs"), args).await;
    server.stop().await.unwrap();

    let seen = seen(&output, "5 queued and 10 in use on /part2");
    assert_eq!(seen["queue"], "5", "{seen}");
    assert_eq!(seen["capacity"], "1000", "{seen}");
    assert_eq!(seen["status"], "live", "{seen}");
    assert_eq!(seen["implementation"], "solution", "{seen}");
    assert_eq!(
        seen["errors"],
        serde_json::json!([]),
        "the page logged errors: {seen}"
    );
}
