//! The demo page in a real browser: headless Chromium, driven by playwright-core,
//! using the official phoenix client the page loads from the npm package.
//!
//! Needs node, `npm ci --prefix section2-channels/tests/js` and Debian's `chromium`;
//! `.ci/run` installs them. On a laptop without them the test prints why it skipped;
//! in CI (`CI` set) a missing tool is a failure, never a skip.

use std::path::Path;
use std::process::Command;

use activity::{ActivityStore, seed_store};
use section2_channels::app::{self, Implementation};

const SEEDED: usize = 5;

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string())
}

/// Why the browser test cannot run here, if it cannot.
fn missing_tool(dir: &Path) -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed (apt-get install nodejs npm)".into());
    }
    for package in ["playwright-core", "phoenix"] {
        if !dir.join("node_modules").join(package).exists() {
            return Some(format!(
                "{package} is not installed (npm ci --prefix {})",
                dir.display()
            ));
        }
    }
    if !Path::new(&chromium()).exists() {
        return Some(format!(
            "{} not found (apt-get install chromium)",
            chromium()
        ));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_page_pings_creates_and_signs_in() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    if let Some(reason) = missing_tool(&dir) {
        assert!(
            std::env::var_os("CI").is_none(),
            "the page test cannot run in CI: {reason}"
        );
        eprintln!("skipped: the demo page browser test: {reason}");
        return;
    }
    let store = ActivityStore::open("sqlite::memory:").await.unwrap();
    seed_store(&store, SEEDED, 1).await.unwrap();
    let app = app::new(Implementation::Solution, "app@127.0.0.1", store.clone());
    let server = app.serve(0).await.unwrap();
    let url = format!("http://{}/", server.addr());

    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join("page.mjs"))
            .arg(url)
            .arg(SEEDED.to_string())
            .env("CHROMIUM", chromium())
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    app.endpoint.shutdown();
    app.auth_endpoint.shutdown();
    server.stop().await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the page did not work in the browser:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value =
        serde_json::from_str(stdout.trim()).expect("the script prints JSON");
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
