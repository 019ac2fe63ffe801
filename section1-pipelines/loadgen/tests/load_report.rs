//! The load generator against a real server on 127.0.0.1:0: it completes what it
//! was asked to, and its report keeps its layout (the numbers are redacted).

mod fixture;

use std::time::Duration;

use fixture::Fixture;
use loadgen::{LoadConfig, Progress, Target};
use pipeline::mock_resource::MockResource;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_loop_run_reports_in_a_stable_layout() {
    let server = Fixture::start(MockResource::with_hold(Duration::from_millis(20)))
        .await
        .expect("bind 127.0.0.1:0");
    let config = LoadConfig {
        target: Target::parse(&server.url("/part1/serial"))
            .await
            .expect("a loopback URL"),
        connections: 5,
        requests: Some(50),
        duration: None,
        rate: None,
        keepalive: true,
        timeout: Duration::from_secs(10),
        timeline: true,
        settle: Duration::ZERO,
    };
    let report = tokio::time::timeout(
        Duration::from_secs(30),
        loadgen::run(&config, &Progress::hidden()),
    )
    .await
    .expect("50 requests of 20 ms over 5 connections finish in well under 30 s")
    .expect("the run starts");

    assert!(
        report.errors.is_empty(),
        "no request may fail: {:?}",
        report.errors
    );
    assert_eq!(report.completed, 50);
    // 10 rounds of 20 ms on 5 connections: the run cannot be faster than 200 ms.
    assert!(report.duration_s >= 0.2, "{} s", report.duration_s);
    assert!(report.latency.p50_us >= 20_000, "{:?}", report.latency);
    let server_stats = report.server.as_ref().expect("the fixture serves /stats");
    assert!(
        server_stats
            .resource_peak
            .is_some_and(|peak| (1..=5).contains(&peak)),
        "a fresh server's peak is this run's, at most one user per connection: {server_stats:?}"
    );
    assert!(!report.timeline.latency.is_empty());

    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    // The layout is what is pinned: ports, counts and timings change every run.
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]");
    settings.add_filter(r"(\s)\d[\d.]*", "$1[n]");
    settings.bind(|| insta::assert_snapshot!("load_report", report.render()));
    server.stop().await.expect("the server stops cleanly");
}

/// A server is not restarted between two `load` runs, and its peak counter counts since
/// it started: the second run must not report the first run's peak as its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_peak_belongs_to_the_run_that_reports_it() {
    let server = Fixture::start(MockResource::with_hold(Duration::from_millis(20)))
        .await
        .expect("bind 127.0.0.1:0");
    let run = |connections: usize| {
        let url = server.url("/part1/serial");
        async move {
            let config = LoadConfig {
                target: Target::parse(&url).await.expect("a loopback URL"),
                connections,
                requests: Some(40),
                duration: None,
                rate: None,
                keepalive: true,
                timeout: Duration::from_secs(10),
                timeline: false,
                settle: Duration::ZERO,
            };
            tokio::time::timeout(
                Duration::from_secs(30),
                loadgen::run(&config, &Progress::hidden()),
            )
            .await
            .expect("40 requests of 20 ms finish in well under 30 s")
            .expect("the run starts")
        }
    };

    let first = run(4).await;
    let first = first.server.expect("the fixture serves /stats");
    let first_peak = first
        .resource_peak
        .expect("a fresh server's counter moves during the first run");
    assert!((1..=4).contains(&first_peak), "{first:?}");

    // One connection: never more than one user at once, whatever the first run left.
    let second = run(1).await;
    let second = second.server.expect("the fixture serves /stats");
    assert_eq!(
        second.resource_peak, None,
        "the second run had one connection, so at most 1 user at once; the server's counter \
         still held the first run's {first_peak}, which must not be reported as this run's \
         peak: {second:?}"
    );
    assert_eq!(second.resource_peak_before, first_peak, "{second:?}");
    assert!(second.resource_max_sampled <= 1, "{second:?}");
    assert!(
        second
            .resource_peak_sentence()
            .contains(&format!("not above {first_peak}")),
        "{}",
        second.resource_peak_sentence()
    );
    server.stop().await.expect("the server stops cleanly");
}
