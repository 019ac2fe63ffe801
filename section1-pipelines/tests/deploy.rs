//! Running it for real: health probes, `--bind`, and a graceful stop on SIGTERM or
//! Ctrl-C that lets the requests in flight finish within the drain deadline.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use pipeline::mock_resource::MockResource;
use section1_pipelines::app::{self, AppState, Implementation};
use testkit::process::{ServerProcess, assert_binds_only_where_told, http_get};

const BIN: &str = env!("CARGO_BIN_EXE_section1-pipelines");

#[tokio::test]
async fn healthz_and_readyz_answer_200() {
    let server = app::spawn(
        AppState::new(MockResource::new(), Implementation::Solution),
        0,
    )
    .await
    .unwrap();
    let addr = server.addr;
    let (healthz, readyz) = tokio::task::spawn_blocking(move || {
        (http_get(addr, "/healthz"), http_get(addr, "/readyz"))
    })
    .await
    .unwrap();
    assert_eq!(healthz, (200, "ok".to_owned()));
    assert_eq!(readyz.0, 200, "{}", readyz.1);
    let readyz: serde_json::Value = serde_json::from_str(&readyz.1).unwrap();
    assert_eq!(readyz["status"], "ready");
    server.stop().await.unwrap();
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    let mut server = ServerProcess::start(
        BIN,
        &[
            "serve",
            "--solution",
            "--port",
            "0",
            "--hold-ms",
            "300",
            "--drain-timeout",
            "5",
        ],
    );
    // A request holding the resource for 300 ms when the signal arrives.
    let mut request = TcpStream::connect(server.addr).unwrap();
    write!(
        request,
        "GET /part1/serial HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let signalled = Instant::now();
    server.terminate();
    let mut answer = String::new();
    request.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the request in flight must be answered, got {answer:?}\nlogs:\n{}",
        server.stderr()
    );
    let status = server
        .wait_exit(Duration::from_secs(5) + Duration::from_secs(2))
        .unwrap_or_else(|| {
            panic!(
                "still running after the drain deadline:\n{}",
                server.stderr()
            )
        });
    assert!(status.success(), "exit {status}:\n{}", server.stderr());
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "it drained, it did not wait for the deadline"
    );
    let logs = server.stderr();
    assert!(
        logs.contains("SIGTERM"),
        "the shutdown is logged with its reason:\n{logs}"
    );
}

#[test]
fn ctrl_c_stops_it_the_same_way_and_an_open_dashboard_does_not_hold_it() {
    let mut server = ServerProcess::start(BIN, &["serve", "--port", "0", "--drain-timeout", "10"]);
    // The dashboard's event stream never ends on its own.
    let mut stream = TcpStream::connect(server.addr).unwrap();
    write!(stream, "GET /part1/usage HTTP/1.1\r\nhost: test\r\n\r\n").unwrap();
    let mut first = [0u8; 64];
    let read = stream.read(&mut first).unwrap();
    assert!(
        String::from_utf8_lossy(&first[..read]).starts_with("HTTP/1.1 200"),
        "the stream did not start"
    );
    let signalled = Instant::now();
    server.interrupt();
    let status = server.wait_exit(Duration::from_secs(5)).unwrap_or_else(|| {
        panic!(
            "an open event stream held the shutdown:\n{}",
            server.stderr()
        )
    });
    assert!(status.success(), "exit {status}:\n{}", server.stderr());
    assert!(signalled.elapsed() < Duration::from_secs(5));
    assert!(server.stderr().contains("Ctrl-C"), "{}", server.stderr());
}

#[cfg(target_os = "linux")]
#[test]
fn bind_picks_the_address_it_listens_on() {
    assert_binds_only_where_told(BIN, &["serve", "--port", "0"], &[]);
}
