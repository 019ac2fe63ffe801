//! Running it for real: health probes, `--bind`, the token secret from the
//! environment, and a graceful stop on SIGTERM that closes every socket with 1001.

use std::time::{Duration, Instant};

use activity::ActivityStore;
use channels::client::{ChannelClient, ConnectError};
use section2_channels::app::{self, Implementation};
use serde_json::{Value, json};
use testkit::process::{
    ServerProcess, assert_allowed_origins_honoured, assert_binds_only_where_told,
    assert_short_secret_refused, http_get,
};

const BIN: &str = env!("CARGO_BIN_EXE_section2-channels");
/// The reference, on an in-memory database with no seed: nothing on disk, nothing
/// shared between tests.
const SERVE: [&str; 8] = [
    "serve",
    "--solution",
    "--port",
    "0",
    "--database",
    "sqlite::memory:",
    "--seed",
    "0",
];

async fn get(addr: std::net::SocketAddr, path: &'static str) -> (u16, String) {
    tokio::task::spawn_blocking(move || http_get(addr, path))
        .await
        .unwrap()
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn readyz_reports_the_database_and_names_it_when_it_is_gone() {
    let store = ActivityStore::open("sqlite::memory:").await.unwrap();
    let app = app::new(Implementation::Solution, "app@127.0.0.1", store.clone());
    let server = app.serve(0).await.unwrap();
    assert_eq!(get(server.addr(), "/healthz").await, (200, "ok".to_owned()));
    let (status, body) = get(server.addr(), "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json(&body),
        json!({"status": "ready", "checks": {"database": "up"}})
    );

    store.close().await;
    let (status, body) = get(server.addr(), "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(json(&body)["failing"], json!(["database"]), "{body}");
    assert_eq!(
        get(server.addr(), "/healthz").await.0,
        200,
        "alive still: a database outage is no reason to restart the node"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_sockets_with_1001_and_exits_0_within_the_drain_deadline() {
    let drain = Duration::from_secs(5);
    let mut server = ServerProcess::start(BIN, &[&SERVE[..], &["--drain-timeout", "5"]].concat());
    let url = format!("ws://{}/socket/websocket?vsn=2.0.0", server.addr);
    let mut client = ChannelClient::connect(&url).await.unwrap();
    let joined = client.join("ping", json!({})).await;
    assert_eq!(channels::client::reply_status(&joined), Some("ok"));

    let signalled = Instant::now();
    server.terminate();
    let closed = client.closed().await;
    assert_eq!(closed.code, 1001, "going away: {closed:?}");
    let status = tokio::task::spawn_blocking(move || {
        let status = server.wait_exit(drain + Duration::from_secs(2));
        (status, server.stderr())
    })
    .await
    .unwrap();
    let (status, logs) = status;
    let status =
        status.unwrap_or_else(|| panic!("still running after the drain deadline:\n{logs}"));
    assert!(status.success(), "exit {status}:\n{logs}");
    assert!(
        signalled.elapsed() < drain,
        "the socket closed, so the drain ends early:\n{logs}"
    );
    assert!(logs.contains("SIGTERM"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_a_generated_one_is_announced_and_tokens_do_not_cross_processes() {
    let first = ServerProcess::start(BIN, &SERVE);
    let second = ServerProcess::start(BIN, &SERVE);
    assert!(
        first.logged("COURSE_TOKEN_SECRET is not set", Duration::from_secs(5)),
        "the development secret must be announced:\n{}",
        first.stderr()
    );
    let (status, body) = get(first.addr, "/token").await;
    assert_eq!(status, 200, "{body}");
    let token = json(&body)["token"].as_str().unwrap().to_owned();
    let on = |server: &ServerProcess| {
        format!(
            "ws://{}/auth_socket/websocket?vsn=2.0.0&token={token}",
            server.addr
        )
    };
    assert!(ChannelClient::connect(&on(&first)).await.is_ok());
    assert!(
        matches!(
            ChannelClient::connect(&on(&second)).await,
            Err(ConnectError::Status(403))
        ),
        "another process generated another secret: the token must be refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_secret_set_a_token_signed_on_one_node_verifies_on_another() {
    let secret = [(
        "COURSE_TOKEN_SECRET",
        "a deployment secret shared by every node, long enough",
    )];
    let first = ServerProcess::start_with_env(BIN, &SERVE, &secret);
    let second = ServerProcess::start_with_env(BIN, &SERVE, &secret);
    let token = json(&get(first.addr, "/token").await.1)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!(
        "ws://{}/auth_socket/websocket?vsn=2.0.0&token={token}",
        second.addr
    );
    assert!(ChannelClient::connect(&url).await.is_ok());
}

#[test]
fn a_secret_too_short_is_refused_at_startup_naming_the_variable() {
    assert_short_secret_refused(BIN, &SERVE, "COURSE_TOKEN_SECRET");
}

#[cfg(target_os = "linux")]
#[test]
fn bind_picks_the_address_it_listens_on() {
    assert_binds_only_where_told(BIN, &SERVE, &[]);
}

#[test]
fn allowed_origin_decides_which_pages_may_open_either_socket() {
    assert_allowed_origins_honoured(BIN, &SERVE, &[], |addr| {
        // The user socket wants a token: the demo page's, from /token.
        let token = json(&http_get(addr, "/token").1)["token"].clone();
        let token = token.as_str().expect("/token answers a token").to_owned();
        vec![
            "/socket/websocket?vsn=2.0.0".to_owned(),
            format!("/auth_socket/websocket?vsn=2.0.0&token={token}"),
        ]
    });
}
