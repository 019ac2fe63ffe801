//! The framework in a real browser: headless Chromium, driven by playwright-core,
//! running the official `phoenix_live_view` client against a form view.
//!
//! Needs node, Debian's `chromium` and `npm ci --prefix section4-tracker-live/tests/live`
//! (the npm folder the pages load their clients from, [`ASSETS_NPM_DIR`], which also
//! holds the browser scripts); `.ci/run` installs them. On a laptop without them the
//! test prints why it skipped; in CI (`CI` set) a missing tool is a failure, never a skip.

use channels::Server;
use live::LiveRoutes;
use live::routes::ASSETS_NPM_DIR;
use testkit::browser::{run_script, seen};

#[path = "support/guestbook.rs"]
mod guestbook;
use guestbook::Guestbook;

fn url(server: &Server, path: &str) -> String {
    format!("http://{}{path}", server.addr())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_drive_phx_change_and_phx_submit() {
    let Some(dir) = testkit::browser::dir_or_skip(
        ASSETS_NPM_DIR,
        &["playwright-core", "phoenix", "phoenix_live_view"],
        "the live form browser test",
    ) else {
        return;
    };
    let pages = LiveRoutes::new("a browser test secret key base, long enough")
        .view::<Guestbook>("/guestbook", "Guest book")
        .build();
    let server = Server::bind(0, pages.router()).await.unwrap();
    let output = run_script(dir.join("form.mjs"), vec![url(&server, "/guestbook")]).await;
    server.stop().await;

    let seen = seen(&output, "the form's change and submit");
    assert_eq!(
        seen["preview"], "Grace",
        "typing sent phx-change events: {seen}"
    );
    assert_eq!(
        seen["names"],
        serde_json::json!(["Grace"]),
        "Enter sent phx-submit: {seen}"
    );
    assert_eq!(
        seen["errors"],
        serde_json::json!([]),
        "the page logged errors: {seen}"
    );
}
