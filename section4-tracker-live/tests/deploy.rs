//! Running the presence nodes for real: `/healthz` and `/readyz` (the database, the
//! Redis link), `--bind`, the live views' secret from the environment, and a graceful
//! stop on SIGTERM.

use std::time::{Duration, Instant};

use channels::client::ChannelClient;
use serde_json::{Value, json};
use testkit::process::{
    ServerProcess, assert_allowed_origins_honoured, assert_binds_only_where_told,
    assert_short_secret_refused,
};
use testkit::redis::RedisServer;

const BIN: &str = env!("CARGO_BIN_EXE_section4-tracker-live");
/// The reference on a free port and an in-memory store (no file under target/).
const SERVE: [&str; 6] = [
    "serve",
    "--solution",
    "--port",
    "0",
    "--database",
    "sqlite::memory:",
];

fn readyz(server: &ServerProcess) -> (u16, Value) {
    let (status, body) = server.get("/readyz");
    let body = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (status, body)
}

#[test]
fn healthz_and_readyz_answer_200_with_the_database_up() {
    let server = ServerProcess::start(BIN, &SERVE);
    assert_eq!(server.get("/healthz"), (200, "ok".to_owned()));
    assert_eq!(
        readyz(&server),
        (
            200,
            json!({"status": "ready", "checks": {"database": "up"}})
        )
    );
}

#[test]
fn readyz_is_503_naming_redis_while_the_link_is_down() {
    let Some(mut redis) = RedisServer::start("section 4 /readyz with Redis down") else {
        return;
    };
    let url = redis.url();
    let server = ServerProcess::start(BIN, &[&SERVE[..], &["--redis", &url]].concat());
    assert_eq!(
        readyz(&server),
        (
            200,
            json!({"status": "ready", "checks": {"database": "up", "redis": "up"}})
        )
    );
    redis.stop();
    let deadline = Instant::now() + Duration::from_secs(5);
    let body = loop {
        let (status, body) = readyz(&server);
        if status == 503 {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz still says {status} {body} 5 s after Redis went down"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(body["failing"], json!(["redis"]), "{body}");
    assert_eq!(
        server.get("/healthz").0,
        200,
        "alive still: the link reconnects on its own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_sockets_with_1001_and_exits_0_within_the_drain_deadline() {
    let drain = Duration::from_secs(5);
    let mut server = ServerProcess::start(BIN, &[&SERVE[..], &["--drain-timeout", "5"]].concat());
    let url = format!("ws://{}/socket/websocket?vsn=2.0.0", server.addr);
    let mut client = ChannelClient::connect(&url).await.unwrap();
    let joined = client
        .join("room:lobby", json!({"user_id": "1", "name": "Alice"}))
        .await;
    assert_eq!(channels::client::reply_status(&joined), Some("ok"));

    let signalled = Instant::now();
    server.terminate();
    let closed = client.closed().await;
    assert_eq!(closed.code, 1001, "going away: {closed:?}");
    let (status, logs) = tokio::task::spawn_blocking(move || {
        let status = server.wait_exit(drain + Duration::from_secs(2));
        (status, server.stderr())
    })
    .await
    .unwrap();
    let status =
        status.unwrap_or_else(|| panic!("still running after the drain deadline:\n{logs}"));
    assert!(status.success(), "exit {status}:\n{logs}");
    assert!(
        signalled.elapsed() < drain,
        "the socket closed, so the drain ends early:\n{logs}"
    );
    assert!(
        logs.contains("COURSE_LIVE_SECRET is not set"),
        "the development secret must be announced:\n{logs}"
    );
}

#[test]
fn a_live_secret_too_short_is_refused_at_startup_naming_the_variable() {
    assert_short_secret_refused(BIN, &SERVE, "COURSE_LIVE_SECRET");
}

#[cfg(target_os = "linux")]
#[test]
fn bind_picks_the_address_it_listens_on() {
    assert_binds_only_where_told(BIN, &SERVE, &[]);
}

#[test]
fn allowed_origin_decides_which_pages_may_open_the_channel_and_live_sockets() {
    assert_allowed_origins_honoured(BIN, &SERVE, &[], |addr| {
        // The live socket wants the CSRF token of a page it rendered.
        let (_, page) = testkit::process::http_get(addr, "/feed");
        let csrf = page
            .split_once(r#"<meta name="csrf-token" content=""#)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(token, _)| token.to_owned())
            .unwrap_or_else(|| panic!("no csrf-token meta in /feed: {page}"));
        vec![
            "/socket/websocket?vsn=2.0.0".to_owned(),
            format!("/live/websocket?vsn=2.0.0&_csrf_token={csrf}"),
        ]
    });
}
