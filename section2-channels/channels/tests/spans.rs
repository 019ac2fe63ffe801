//! What the framework's logs carry: spans with the socket id, topic and event.
//!
//! Alone in its test binary on purpose: `tracing` caches, per call site and for the
//! whole process, whether anyone listens. A test on another thread reaching the same
//! call sites with no subscriber can make them skip this test's thread-local one.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use support::*;

/// A writer into a shared buffer, for a test's log subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn an_error_logged_in_handle_in_carries_socket_topic_and_event() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    // This thread's default: the test runtime runs every task on it.
    let _default = tracing::subscriber::set_default(subscriber);

    let endpoint = endpoint();
    let mut client = client(&endpoint, "ada");
    client.join("orders:berlin", json!({})).await;
    let reply = client.call("orders:berlin", "log_error", json!({})).await;
    assert_reply(&reply, "ok", json!({}));

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = logs
        .lines()
        .find(|l| l.contains("could not price the order"))
        .unwrap_or_else(|| panic!("the error was not logged; logs:\n{logs}"));
    for field in [
        "socket_id=user_socket:ada",
        "topic=orders:berlin",
        "event=log_error",
    ] {
        assert!(
            line.contains(field),
            "the error logged in handle_in should carry `{field}` from its spans; got:\n{line}"
        );
    }
}
