//! Running a node for real: `/readyz` names the dependency that is down (the
//! database, the Redis link), `--bind`, and a graceful stop on SIGTERM.

use std::process::Command;
use std::time::{Duration, Instant};

use channels::client::ChannelClient;
use section3_production::Implementation;
use section3_production::node::{Node, NodeConfig};
use serde_json::{Value, json};
use testkit::process::{
    ServerProcess, assert_allowed_origins_honoured, assert_binds_only_where_told, http_get,
};
use testkit::redis::RedisServer;

const BIN: &str = env!("CARGO_BIN_EXE_section3-production");
/// Section 3 logs on stdout, where the address line is read: warnings only.
const QUIET: [(&str, &str); 1] = [("RUST_LOG", "warn")];

async fn get(addr: std::net::SocketAddr, path: &'static str) -> (u16, Value) {
    let (status, body) = tokio::task::spawn_blocking(move || http_get(addr, path))
        .await
        .unwrap();
    if path == "/healthz" {
        return (status, Value::String(body));
    }
    let body = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_names_redis_when_the_link_is_lost() {
    let Some(mut redis) = RedisServer::start("section 3 /readyz with Redis down") else {
        return;
    };
    let node = Node::start(&NodeConfig {
        name: "app@127.0.0.1".into(),
        redis_url: Some(redis.url()),
        implementation: Implementation::Solution,
        database: "sqlite::memory:".into(),
        check_origin: Default::default(),
    })
    .await
    .unwrap();
    let server = node.serve(0).await.unwrap();
    let (status, body) = get(server.addr(), "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"status": "ready", "checks": {"database": "up", "redis": "up"}})
    );

    redis.stop();
    // The subscription notices when the connection ends; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    let body = loop {
        let (status, body) = get(server.addr(), "/readyz").await;
        if status == 503 {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz still says {status} {body} 5 s after Redis went down"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(body["failing"], json!(["redis"]), "{body}");
    assert_eq!(body["checks"]["database"], "up", "{body}");
    assert_eq!(
        get(server.addr(), "/healthz").await,
        (200, Value::String("ok".into())),
        "alive still: the link reconnects on its own"
    );

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(server.addr(), "/readyz").await.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "not ready again 10 s after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_names_the_database_when_it_is_gone() {
    let node = Node::start(&NodeConfig {
        name: "app@127.0.0.1".into(),
        redis_url: None,
        implementation: Implementation::Solution,
        database: "sqlite::memory:".into(),
        check_origin: Default::default(),
    })
    .await
    .unwrap();
    let server = node.serve(0).await.unwrap();
    assert_eq!(
        get(server.addr(), "/readyz").await,
        (
            200,
            json!({"status": "ready", "checks": {"database": "up"}})
        ),
        "alone (no Redis), only the database is checked"
    );
    node.store.close().await;
    let (status, body) = get(server.addr(), "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["failing"], json!(["database"]), "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_sockets_with_1001_and_exits_0_within_the_drain_deadline() {
    let drain = Duration::from_secs(5);
    let mut server = ServerProcess::start_with_env(
        BIN,
        &["serve", "--solution", "--port", "0", "--drain-timeout", "5"],
        &QUIET,
    );
    let url = format!("ws://{}/socket/websocket?vsn=2.0.0", server.addr);
    let mut client = ChannelClient::connect(&url).await.unwrap();
    client.join("feed", json!({})).await;

    let signalled = Instant::now();
    server.terminate();
    let closed = client.closed().await;
    assert_eq!(closed.code, 1001, "going away: {closed:?}");
    let status =
        tokio::task::spawn_blocking(move || server.wait_exit(drain + Duration::from_secs(2)))
            .await
            .unwrap()
            .expect("exits within the drain deadline");
    assert!(status.success(), "exit {status}");
    assert!(
        signalled.elapsed() < drain,
        "the socket closed, so the drain ends early"
    );
}

#[test]
fn the_backend_stops_between_two_activities_on_sigterm() {
    let Some(redis) = RedisServer::start("section 3 backend SIGTERM") else {
        return;
    };
    let mut backend = Command::new(BIN)
        .args([
            "backend",
            "--solution",
            "--redis",
            &redis.url(),
            "--every-ms",
            "50",
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let status = Command::new("kill")
        .args(["-TERM", &backend.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = backend.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = backend.kill();
            panic!("the backend still runs 5 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "exit {status}");
}

#[cfg(target_os = "linux")]
#[test]
fn bind_picks_the_address_it_listens_on() {
    assert_binds_only_where_told(BIN, &["serve", "--solution", "--port", "0"], &QUIET);
}

#[test]
fn allowed_origin_decides_which_pages_may_open_the_socket() {
    assert_allowed_origins_honoured(BIN, &["serve", "--solution", "--port", "0"], &QUIET, |_| {
        vec!["/socket/websocket?vsn=2.0.0".to_owned()]
    });
}

/// The members `node`'s `/observe` lists (its `cluster` field).
fn members(node: &ServerProcess) -> Vec<String> {
    let (status, body) = node.get("/observe");
    assert_eq!(status, 200, "{body}");
    let snapshot: Value = serde_json::from_str(&body).unwrap();
    let cluster = snapshot["cluster"].as_array();
    let cluster = cluster.unwrap_or_else(|| panic!("no cluster list in /observe: {body}"));
    cluster
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect()
}

/// Polls `node`'s members every 20 ms until `done` holds; the time it took, or `None`
/// after `limit`.
fn members_until(
    node: &ServerProcess,
    limit: Duration,
    done: impl Fn(&[String]) -> bool,
) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done(&members(node)) {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn a_node_stopped_with_sigterm_leaves_the_cluster_at_once() {
    let Some(redis) = RedisServer::start("section 3 graceful leave") else {
        return;
    };
    let url = redis.url();
    let start = |name: &str| {
        let args = [
            "serve",
            "--solution",
            "--port",
            "0",
            "--redis",
            &url,
            "--node",
            name,
            "--drain-timeout",
            "5",
        ];
        ServerProcess::start_with_env(BIN, &args, &QUIET)
    };
    let app = start("app@127.0.0.1");
    let mut backend = start("backend@127.0.0.1");
    let both = |m: &[String]| m == ["app@127.0.0.1", "backend@127.0.0.1"];
    assert!(
        members_until(&app, Duration::from_secs(10), both).is_some(),
        "the two nodes never saw each other: app lists {:?}",
        members(&app)
    );

    backend.terminate();
    // Heartbeats expire after 3 s (Membership::default): a crashed node stays listed
    // that long. The goodbye must beat it by far.
    let alone = |m: &[String]| m == ["app@127.0.0.1"];
    let took = members_until(&app, Duration::from_secs(5), alone);
    let status = backend.wait_exit(Duration::from_secs(7));
    let took = took.unwrap_or_else(|| {
        panic!(
            "5 s after SIGTERM app still lists {:?}: the stopping node must say goodbye \
             (ClusterQueries::leave) before it exits",
            members(&app)
        )
    });
    println!("backend left app's member list {took:?} after SIGTERM");
    assert!(
        took < Duration::from_millis(1500),
        "the backend left app's member list {took:?} after SIGTERM: its goodbye should \
         arrive in milliseconds, well before the 3 s heartbeat expiry"
    );
    let status = status.expect("the backend exits within its drain deadline");
    assert!(status.success(), "exit {status}");
}
