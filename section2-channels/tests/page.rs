//! The demo page in a real browser: headless Chromium, driven by playwright-core,
//! using the official phoenix client the page loads from the npm package.
//!
//! Needs node, `npm ci --prefix section2-channels/tests/js` and Debian's `chromium`;
//! `.ci/run` installs them. On a laptop without them the test prints why it skipped;
//! in CI (`CI` set) a missing tool is a failure, never a skip.

use std::path::Path;

use activity::{ActivityStore, seed_store};
use section2_channels::app::{self, Implementation};
use testkit::browser::{run_script, seen};

const SEEDED: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_page_pings_creates_and_signs_in() {
    let Some(dir) = testkit::browser::dir_or_skip(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js"),
        &["playwright-core", "phoenix"],
        "the demo page browser test",
    ) else {
        return;
    };
    let store = ActivityStore::open("sqlite::memory:").await.unwrap();
    seed_store(&store, SEEDED, 1).await.unwrap();
    let app = app::new(Implementation::Solution, "app@127.0.0.1", store.clone());
    let server = app.serve(0).await.unwrap();
    let url = format!("http://{}/", server.addr());

    let output = run_script(dir.join("page.mjs"), vec![url, SEEDED.to_string()]).await;
    app.endpoint.shutdown();
    app.auth_endpoint.shutdown();
    server.stop().await;

    let seen = seen(&output, "the ping, the new activity and the sign-in");
    assert_eq!(seen["ping"], r#"ok {"ping":"pong"}"#, "{seen}");
    assert_eq!(seen["feed"], SEEDED + 1, "{seen}");
    assert_eq!(seen["auth"], "connected as user 1", "{seen}");
    assert_eq!(seen["userChannel"], "joined user:1", "{seen}");
    assert_eq!(
        seen["errors"],
        serde_json::json!([]),
        "the page logged errors: {seen}"
    );
    assert_eq!(store.count().await.unwrap(), SEEDED as u64 + 1);
}
