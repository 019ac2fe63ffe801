//! The provided dashboard and `/stats`, over a real socket on 127.0.0.1:0.

use std::time::Duration;

use pipeline::mock_resource::MockResource;
use section1_pipelines::app::{self, AppState, Implementation};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends a bare HTTP/1.1 GET and returns what arrives until `until` is seen (or the
/// connection closes), bounded in bytes and time so a broken server fails the test
/// instead of hanging it.
async fn get_until(addr: std::net::SocketAddr, path: &str, until: &str) -> String {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect to the test server");
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            received.extend_from_slice(&buf[..n]);
            if n == 0
                || String::from_utf8_lossy(&received).contains(until)
                || received.len() > 1 << 20
            {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .unwrap_or_else(|_| panic!("GET {path}: no {until:?} within 10 s"));
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn the_page_and_its_live_stream_are_served() {
    let resource = MockResource::with_hold(Duration::from_secs(5));
    let server = app::spawn(AppState::new(resource.clone(), Implementation::Solution), 0)
        .await
        .unwrap();

    let page = get_until(server.addr, "/part1", "</html>").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("new EventSource(\"/part1/usage\")"),
        "the page subscribes to the stream"
    );

    // Two users hold the resource while the stream is read: the samples must see them.
    let users: Vec<_> = (0..2)
        .map(|_| {
            let resource = resource.clone();
            tokio::spawn(async move { resource.use_resource().await })
        })
        .collect();
    let stream = get_until(server.addr, "/part1/usage", "\"current\":2").await;
    assert!(
        stream.contains("content-type: text/event-stream"),
        "{stream}"
    );
    assert!(stream.contains("event: usage"), "{stream}");
    assert!(
        stream.contains("\"implementation\":\"solution\""),
        "{stream}"
    );
    for user in users {
        user.abort();
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stats_report_the_process() {
    let server = app::spawn(AppState::new(MockResource::new(), Implementation::Start), 0)
        .await
        .unwrap();
    let reply = get_until(server.addr, "/stats", "}}").await;
    let body = reply.split("\r\n\r\n").nth(1).expect("a body");
    let stats: pipeline::stats::Stats = serde_json::from_str(body).expect("JSON stats");
    assert_eq!(stats.implementation, "start");
    if cfg!(target_os = "linux") {
        let rss = stats.process.rss_bytes.expect("RSS on Linux");
        assert!(
            rss > 1 << 20 && rss < 1 << 32,
            "implausible RSS: {rss} bytes"
        );
    }
    // At least the server's accept loop and this connection's task.
    assert!(stats.process.live_tasks >= 1);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_pipeline_page_and_its_stream_are_served() {
    let resource = MockResource::with_hold(Duration::from_secs(5));
    let state = AppState::new(resource, Implementation::Solution);
    let pipeline = state.pipeline.clone();
    let server = app::spawn(state, 0).await.unwrap();

    let page = get_until(server.addr, "/part2", "</html>").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("new EventSource(\"/part2/usage\")"), "{page}");

    // 15 events into a pool of 10 with a 5 s resource: 10 in use, 5 waiting.
    for _ in 0..15 {
        pipeline.push(pipeline::Event::new()).await.unwrap();
    }
    let stream = get_until(server.addr, "/part2/usage", "\"in_use\":10,").await;
    assert!(stream.contains("event: pipeline"), "{stream}");
    assert!(stream.contains("\"queue_depth\":5,"), "{stream}");
    assert!(stream.contains("\"capacity\":1000,"), "{stream}");
    server.stop().await.unwrap();
}
