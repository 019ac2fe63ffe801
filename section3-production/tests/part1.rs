//! Exercise tests for section 3, part 1: telemetry (s3.e1 to s3.e4) and what a
//! connection costs (s3.e5).
//!
//! Each exercise's tests are written once and instantiated twice: against your code
//! (`<exercise>::start::*`, ignored by a plain `cargo test`, run by
//! `cargo xtask check`) and against the reference (`<exercise>::solution::*`).
//!
//! `metrics` has one *global* recorder per process, and tests run side by side in
//! one process, so no test installs one: s3.e1 sends through a StatsD recorder used
//! *locally* (`metrics::with_local_recorder`) to a UDP port of its own, and s3.e4
//! captures measurements with a recorder set for the test's thread.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use activity::ActivityStore;
use channels::SocketConfig;
use channels::client::{ChannelClient, ConnectError, Received, reply_status};
use channels::endpoint::{ConnectParams, Refused};
use channels::telemetry::{JoinResult, TelemetryEvent, TelemetryHandler};
use channels::{
    Channel, ChannelContext, ChannelRouter, Endpoint, HandleIn, Join, LocalPubSub, Payload, PubSub,
    Server, SocketInfo,
};
use observability::process::ProcessSample;
use section2_reference::App;
use section3_production::delivery::{self, ENQUEUED_AT, LatencyFns, ORDER_READY, OrderPipeline};
use serde_json::{Value, json};
use support::{CaptureRecorder, Recorded, StatsdCapture, redact_value};
use testkit::exercise;

fn snapshot(name: &str, lines: &[String]) {
    let redacted: Vec<String> = lines.iter().map(|l| redact_value(l)).collect();
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, redacted.join("\n"));
    });
}

#[exercise(section3_production)]
mod e01_measurements {
    use super::*;

    #[tokio::test]
    async fn each_order_placed_is_counted_once() {
        let mut statsd = StatsdCapture::new().await;
        statsd.record(|| {
            for _ in 0..3 {
                imp::part1::e01_measurements::order_placed();
            }
        });
        let lines = statsd.lines(3).await;
        assert_eq!(
            lines, ["test.shop.orders.placed:1|c"; 3],
            "three orders placed should send three StatsD counter lines \
             `test.shop.orders.placed:1|c` (the `test.` prefix comes from the test's \
             recorder), but the listener received {lines:?}. Use \
             `counter!(\"shop.orders.placed\").increment(1)`: `|c` is a counter, `:1` adds one."
        );
        snapshot("s3_e1_order_placed", &lines);
    }

    #[tokio::test]
    async fn open_carts_is_a_gauge_that_is_set() {
        let mut statsd = StatsdCapture::new().await;
        statsd.record(|| {
            imp::part1::e01_measurements::open_carts(12);
            imp::part1::e01_measurements::open_carts(7);
        });
        let lines = statsd.lines(2).await;
        assert_eq!(
            lines,
            ["test.shop.carts.open:12|g", "test.shop.carts.open:7|g"],
            "open_carts(12) then open_carts(7) should send two gauge lines, the value \
             *set* each time (`|g`), but the listener received {lines:?}. A gauge is a \
             reading at a point in time: `gauge!(\"shop.carts.open\").set(..)`. \
             (`increment` on a gauge is not supported by the StatsD exporter: it drops it.)"
        );
        snapshot("s3_e1_open_carts", &lines);
    }

    #[tokio::test]
    async fn revenue_is_summed_and_tagged_by_payment() {
        let mut statsd = StatsdCapture::new().await;
        statsd.record(|| {
            imp::part1::e01_measurements::revenue(1999, "card");
            imp::part1::e01_measurements::revenue(500, "invoice");
        });
        let lines = statsd.lines(2).await;
        assert_eq!(
            lines,
            [
                "test.shop.revenue_cents:1999|c|#payment:card",
                "test.shop.revenue_cents:500|c|#payment:invoice",
            ],
            "revenue(1999, \"card\") then revenue(500, \"invoice\") should send two counter \
             lines whose values are the amounts, tagged with the payment method, but the \
             listener received {lines:?}. A counter incremented by the amount is a sum; \
             a label (`\"payment\" => payment`) becomes the tag `#payment:card`."
        );
        snapshot("s3_e1_revenue", &lines);
    }
}

/// What one measurement looks like in an assertion: `kind name [labels] value`.
fn show(recorded: &Recorded) -> String {
    let labels: Vec<String> = recorded
        .labels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    format!(
        "{} {} [{}] {}",
        recorded.kind,
        recorded.name,
        labels.join(", "),
        recorded.value
    )
}

/// The measurements `record` made, shown, in a stable order (the order of two
/// measurements made for one event is not part of the exercise).
fn measured(capture: &CaptureRecorder, record: impl FnOnce()) -> Vec<String> {
    let before = capture.recorded().len();
    record();
    let mut shown: Vec<String> = capture.recorded()[before..].iter().map(show).collect();
    shown.sort();
    shown
}

/// A chat room, for the framework's measurements: `room:locked` refuses joins,
/// `shout` pushes `shouted` back and replies.
struct RoomChannel;

impl Channel for RoomChannel {
    type Info = ();

    async fn join(topic: &str, _payload: Payload, _ctx: &mut ChannelContext<Self>) -> Join<Self> {
        if topic == "room:locked" {
            return Join::error(json!({"reason": "locked"}));
        }
        Join::ok(RoomChannel)
    }

    async fn handle_in(
        &mut self,
        event: &str,
        payload: Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        match event {
            "shout" => {
                ctx.push("shouted", Value::Object(payload));
                HandleIn::ok(json!({}))
            }
            _ => HandleIn::error(json!({"reason": "unknown event"})),
        }
    }
}

/// Lets in `?user=<name>`, refuses a connection without one (reason `no_user`).
fn room_socket(params: &ConnectParams) -> Result<SocketInfo, Refused> {
    match params.get("user") {
        Some(user) => Ok(SocketInfo {
            id: Some(format!("user_socket:{user}")),
            ..SocketInfo::default()
        }),
        None => Err(Refused("no_user".into())),
    }
}

/// Waits (at most 5 s) until the endpoint has no connection left.
async fn until_no_connections(endpoint: &Endpoint) {
    for _ in 0..500 {
        if endpoint.connections() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the connection was still open 5 s after the client closed it");
}

#[exercise(section3_production)]
mod e02_channel_metrics {
    use super::*;

    #[tokio::test]
    async fn each_framework_event_becomes_its_measurement() {
        let capture = CaptureRecorder::default();
        let _local = metrics::set_default_local_recorder(&capture);
        let handler = imp::part1::e02_channel_metrics::ChannelMetrics::new();
        let cases: Vec<(TelemetryEvent<'_>, Vec<&str>)> = vec![
            (
                TelemetryEvent::SocketConnected,
                vec![
                    "counter channels.connects [result=ok] 1",
                    "gauge.set channels.sockets [] 1",
                ],
            ),
            (
                TelemetryEvent::SocketRefused {
                    reason: "token_expired",
                },
                vec!["counter channels.connects [result=error, reason=token_expired] 1"],
            ),
            (
                TelemetryEvent::ChannelJoined {
                    topic: "room:*",
                    result: JoinResult::Ok,
                },
                vec![
                    "counter channels.joins [topic=room:*, result=ok] 1",
                    "gauge.set channels.joined [] 1",
                ],
            ),
            (
                TelemetryEvent::ChannelJoined {
                    topic: "room:*",
                    result: JoinResult::Refused,
                },
                vec!["counter channels.joins [topic=room:*, result=refused] 1"],
            ),
            (
                TelemetryEvent::HandleIn {
                    topic: "room:*",
                    event: "shout",
                    duration: Duration::from_micros(2500),
                },
                vec!["histogram channels.handle_in_ms [topic=room:*, event=shout] 2.5"],
            ),
            (
                TelemetryEvent::Pushed {
                    topic: "room:*",
                    event: "shouted",
                },
                vec!["counter channels.pushes [topic=room:*, event=shouted] 1"],
            ),
            (
                TelemetryEvent::ChannelLeft { topic: "room:*" },
                vec!["gauge.set channels.joined [] 0"],
            ),
            (
                TelemetryEvent::SocketClosed { code: 1000 },
                vec!["gauge.set channels.sockets [] 0"],
            ),
        ];
        for (event, expected) in cases {
            let mut expected: Vec<String> = expected.into_iter().map(String::from).collect();
            expected.sort();
            let got = measured(&capture, || handler.handle(&event));
            assert_eq!(
                got, expected,
                "the event {event:?} should be measured as {expected:?} (shown as `kind name \
                 [labels] value`), but the handler recorded {got:?}. See the table at the top \
                 of e02_channel_metrics.rs: names, label keys and their order, and values \
                 (durations in milliseconds, with fractions: `as_secs_f64() * 1000.0`)."
            );
        }
    }

    #[tokio::test]
    async fn gauges_follow_what_is_open_and_are_set_never_incremented() {
        let capture = CaptureRecorder::default();
        let _local = metrics::set_default_local_recorder(&capture);
        let handler = imp::part1::e02_channel_metrics::ChannelMetrics::new();
        for _ in 0..3 {
            handler.handle(&TelemetryEvent::SocketConnected);
        }
        for _ in 0..3 {
            handler.handle(&TelemetryEvent::SocketClosed { code: 1001 });
        }
        let increments: Vec<String> = capture
            .recorded()
            .iter()
            .filter(|r| r.kind == "gauge.increment" || r.kind == "gauge.decrement")
            .map(show)
            .collect();
        assert!(
            increments.is_empty(),
            "the handler changed a gauge with increment/decrement ({increments:?}). The StatsD \
             exporter silently drops those (a StatsD gauge is a value, not a delta): keep the \
             count yourself (`self.sockets`, an AtomicI64) and `set` the gauge to it."
        );
        assert_eq!(
            capture.gauge_values("channels.sockets"),
            [1.0, 2.0, 3.0, 2.0, 1.0, 0.0],
            "three sockets connected then closed: the gauge `channels.sockets` should be set \
             to 1, 2, 3, then back down to 2, 1, 0"
        );
    }

    #[tokio::test]
    async fn client_chosen_event_names_cannot_explode_the_labels() {
        let capture = CaptureRecorder::default();
        let _local = metrics::set_default_local_recorder(&capture);
        let handler = imp::part1::e02_channel_metrics::ChannelMetrics::new();
        for n in 0..500 {
            let event = format!("random_event_{n}");
            handler.handle(&TelemetryEvent::HandleIn {
                topic: "room:*",
                event: &event,
                duration: Duration::from_millis(1),
            });
        }
        let labels: std::collections::BTreeSet<String> = capture
            .recorded()
            .iter()
            .flat_map(|r| r.labels.clone())
            .filter(|(key, _)| key == "event")
            .map(|(_, value)| value)
            .collect();
        let limit = imp::part1::e02_channel_metrics::EVENT_LABELS;
        assert!(
            !labels.is_empty() && labels.len() <= limit + 1 && labels.contains("other"),
            "a client pushed 500 different event names; the histogram got {} distinct `event` \
             labels. Each one is a time series in the backend: pass the name through \
             `self.events.label(event)`, which keeps the first {limit} and turns the rest \
             into `other`.",
            labels.len()
        );
    }

    #[tokio::test]
    async fn a_real_endpoint_reports_connects_joins_handle_in_and_pushes() {
        let mut statsd = StatsdCapture::new().await;
        let local = metrics::set_default_local_recorder(&statsd.recorder);
        let endpoint = Endpoint::builder(ChannelRouter::new().channel::<RoomChannel>("room:*"))
            .handler(room_socket)
            .telemetry(Arc::new(
                imp::part1::e02_channel_metrics::ChannelMetrics::new(),
            ))
            .build();
        let server = Server::bind(0, endpoint.routes("/socket"))
            .await
            .expect("bind");

        let mut client = ChannelClient::connect(&server.socket_url("/socket", &[("user", "ada")]))
            .await
            .expect("the test's socket handler lets ada in");
        client.set_timeout(Duration::from_secs(2));
        client.join("room:lobby", json!({})).await;
        client.join("room:locked", json!({})).await;
        client.join("nowhere", json!({})).await;
        client
            .call("room:lobby", "shout", json!({"text": "hello"}))
            .await;
        let refused = ChannelClient::connect(&server.socket_url("/socket", &[])).await;
        assert!(
            matches!(refused, Err(ConnectError::Status(403))),
            "no user: refused"
        );
        client.close().await;
        until_no_connections(&endpoint).await;
        drop(local);
        server.stop().await;

        let lines = statsd.lines(11).await;
        let values: BTreeMap<String, Vec<String>> =
            lines.iter().fold(BTreeMap::new(), |mut by_name, line| {
                let (name, rest) = line.split_once(':').unwrap_or((line, ""));
                let value = rest.split('|').next().unwrap_or("").to_owned();
                by_name.entry(name.to_owned()).or_default().push(value);
                by_name
            });
        assert_eq!(
            values
                .get("test.channels.sockets")
                .cloned()
                .unwrap_or_default(),
            ["1", "0"],
            "one client connected, then closed: the gauge `channels.sockets` should go to 1 \
             and back to 0; the listener received:\n{}",
            lines.join("\n")
        );
        assert_eq!(
            values
                .get("test.channels.joined")
                .cloned()
                .unwrap_or_default(),
            ["1", "0"],
            "one join succeeded (room:lobby), two did not (room:locked, nowhere), and closing \
             the connection ended the channel: `channels.joined` should go to 1 and back to \
             0; the listener received:\n{}",
            lines.join("\n")
        );
        assert_eq!(
            values.get("test.channels.connects").map(Vec::len),
            Some(2),
            "one connect let in and one refused: two `channels.connects` lines, got:\n{}",
            lines.join("\n")
        );
        let handle_in_ms: Vec<f64> = values
            .get("test.channels.handle_in_ms")
            .into_iter()
            .flatten()
            .filter_map(|v| v.parse().ok())
            .collect();
        assert!(
            handle_in_ms.len() == 1 && handle_in_ms[0] >= 0.0,
            "one `shout` was handled: one `channels.handle_in_ms` line with a duration in \
             milliseconds; got:\n{}",
            lines.join("\n")
        );
        // Sorted: which of an event's two measurements is sent first is the handler's
        // choice; the names, types and tags are what the snapshot pins.
        let mut sorted = lines.clone();
        sorted.sort();
        snapshot("s3_e2_framework_lines", &sorted);
    }
}

#[exercise(section3_production)]
mod e03_delivery_latency {
    use super::*;

    #[tokio::test]
    async fn a_stamp_is_microseconds_since_the_unix_epoch() {
        let now = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        let stamp = imp::part1::e03_delivery_latency::stamp(now);
        assert_eq!(
            stamp, 1_700_000_000_123_456,
            "at 1,700,000,000.123456789 s after the epoch the stamp should be \
             1700000000123456 (whole microseconds, nanoseconds dropped); got {stamp}. \
             `now.duration_since(UNIX_EPOCH)` gives a Duration; `as_micros()` the number."
        );
        let before_1970 = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(
            imp::part1::e03_delivery_latency::stamp(before_1970),
            0,
            "a clock set before 1970 cannot be expressed since the epoch: stamp 0 (no panic)"
        );
    }

    #[tokio::test]
    async fn the_latency_is_recorded_in_milliseconds() {
        let capture = CaptureRecorder::default();
        let _local = metrics::set_default_local_recorder(&capture);
        let enqueued_us = 1_700_000_000_000_000;
        let enqueued = UNIX_EPOCH + Duration::from_micros(enqueued_us);
        imp::part1::e03_delivery_latency::record_delivery(
            enqueued_us,
            enqueued + Duration::from_micros(2500),
        );
        imp::part1::e03_delivery_latency::record_delivery(
            enqueued_us,
            enqueued + Duration::from_secs(1),
        );
        imp::part1::e03_delivery_latency::record_delivery(enqueued_us, enqueued);
        let recorded: Vec<String> = capture.recorded().iter().map(show).collect();
        assert_eq!(
            recorded,
            [
                "histogram pipeline.delivery_latency_ms [] 2.5",
                "histogram pipeline.delivery_latency_ms [] 1000",
                "histogram pipeline.delivery_latency_ms [] 0",
            ],
            "orders delivered 2.5 ms, 1 s and 0 ms after their stamp should record the \
             histogram `pipeline.delivery_latency_ms` with 2.5, 1000 and 0 (milliseconds, \
             fractions kept: `as_secs_f64() * 1000.0`); recorded {recorded:?}"
        );
    }

    #[tokio::test]
    async fn a_stamp_from_the_future_is_clamped_and_counted() {
        let capture = CaptureRecorder::default();
        let _local = metrics::set_default_local_recorder(&capture);
        let enqueued_us = 1_700_000_000_000_000;
        let enqueued = UNIX_EPOCH + Duration::from_micros(enqueued_us);
        // The enqueuing node's clock is 3 ms ahead of this one's.
        imp::part1::e03_delivery_latency::record_delivery(
            enqueued_us,
            enqueued - Duration::from_millis(3),
        );
        let recorded: Vec<String> = capture.recorded().iter().map(show).collect();
        let mut sorted = recorded.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            [
                "counter pipeline.clock_skew [] 1",
                "histogram pipeline.delivery_latency_ms [] 0",
            ],
            "an order stamped 3 ms *after* the time it is delivered means the clocks of two \
             nodes disagree: record a latency of 0 (never negative, never a panic) and count \
             `pipeline.clock_skew` once; recorded {recorded:?}. `now.duration_since(stamp)` \
             is an Err when the stamp is later."
        );
    }

    #[tokio::test]
    async fn orders_through_a_real_pipeline_report_their_latency_at_the_channel() {
        let mut statsd = StatsdCapture::new().await;
        let local = metrics::set_default_local_recorder(&statsd.recorder);
        let fns = LatencyFns {
            stamp: imp::part1::e03_delivery_latency::stamp,
            record: imp::part1::e03_delivery_latency::record_delivery,
        };
        let pubsub: Arc<dyn PubSub> = Arc::new(LocalPubSub::new());
        let endpoint = Endpoint::builder(delivery::route(ChannelRouter::new(), fns))
            .pubsub(pubsub.clone())
            .build();
        let server = Server::bind(0, endpoint.routes("/socket"))
            .await
            .expect("bind");
        let pipeline = OrderPipeline::spawn(pubsub, 16, fns);

        let mut client = ChannelClient::connect(&server.socket_url("/socket", &[]))
            .await
            .expect("connect");
        client.set_timeout(Duration::from_secs(2));
        client.join("orders:berlin", json!({})).await;
        let before = imp::part1::e03_delivery_latency::stamp(SystemTime::now());
        for sku in ["A-1", "B-2", "C-3"] {
            pipeline
                .enqueue("berlin", channels::payload(json!({"sku": sku})))
                .expect("an empty pipeline takes three orders");
        }
        for sku in ["A-1", "B-2", "C-3"] {
            let pushed = client.next_frame().await;
            assert_eq!(
                (pushed.event.as_str(), pushed.payload["sku"].as_str()),
                (ORDER_READY, Some(sku))
            );
            let stamped = pushed.payload[ENQUEUED_AT].as_u64().unwrap_or(0);
            assert!(
                stamped >= before && stamped < before + 60_000_000,
                "the order reached the client stamped {stamped}, but it was enqueued at about \
                 {before} (microseconds since the epoch): the pipeline stamps with your `stamp`"
            );
        }
        client.close().await;
        drop(local);
        server.stop().await;

        let lines = statsd.lines(3).await;
        let latencies: Vec<f64> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("test.pipeline.delivery_latency_ms:"))
            .filter_map(|rest| rest.split('|').next()?.parse().ok())
            .collect();
        assert!(
            latencies.len() == 3 && latencies.iter().all(|ms| (0.0..60_000.0).contains(ms)),
            "three orders went from the pipeline to the channel on loopback: three \
             `pipeline.delivery_latency_ms` lines with a few milliseconds each; the listener \
             received:\n{}",
            lines.join("\n")
        );
        snapshot("s3_e3_delivery_lines", &lines);
    }
}

/// A sampler that counts its calls and reports made-up, recognisable figures:
/// call n reports `n` MiB resident and `n` live tasks.
fn counting_sampler(calls: Arc<AtomicU64>) -> impl FnMut() -> ProcessSample {
    move || {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        ProcessSample {
            rss_bytes: Some(n * 1024 * 1024),
            live_tasks: n as usize,
        }
    }
}

fn mib(values: &[f64]) -> Vec<f64> {
    values.iter().map(|v| v / (1024.0 * 1024.0)).collect()
}

#[exercise(section3_production)]
mod e04_poller {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn samples_at_once_then_every_period() {
        let capture = CaptureRecorder::default();
        // The test runtime runs every task on this thread, so the poller's task
        // records into this capture too.
        let _local = metrics::set_default_local_recorder(&capture);
        let calls = Arc::new(AtomicU64::new(0));
        let poller = tokio::spawn(imp::part1::e04_poller::poll_process(
            Duration::from_secs(1),
            counting_sampler(calls.clone()),
        ));

        tokio::time::sleep(Duration::from_millis(500)).await;
        if poller.is_finished() {
            let outcome = poller.await;
            panic!(
                "poll_process returned (or panicked) instead of running until aborted: \
                 {outcome:?}. It is a loop: sample, report, wait for the next tick."
            );
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "0.5 s after the poller started it should have sampled exactly once (at once, \
             not after the first period): a dashboard should not wait a period for its \
             first point. `tokio::time::interval` ticks immediately the first time."
        );

        tokio::time::sleep(Duration::from_secs(3)).await;
        poller.abort();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            4,
            "after 3.5 s with a 1 s period the poller should have sampled 4 times (at 0, \
             1, 2 and 3 s)"
        );
        let rss = capture.gauge_values("process.rss_bytes");
        let tasks = capture.gauge_values("process.live_tasks");
        assert_eq!(
            (mib(&rss), tasks.clone()),
            (vec![1.0, 2.0, 3.0, 4.0], vec![1.0, 2.0, 3.0, 4.0]),
            "each sample should be reported as two gauges, `process.rss_bytes` (in bytes) \
             and `process.live_tasks`, set to the sample's values; recorded: {:?}",
            capture.recorded()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_rss_reading_is_not_reported_as_zero() {
        let capture = CaptureRecorder::default();
        let _local = metrics::set_default_local_recorder(&capture);
        let poller = tokio::spawn(imp::part1::e04_poller::poll_process(
            Duration::from_secs(1),
            || ProcessSample {
                rss_bytes: None,
                live_tasks: 3,
            },
        ));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        poller.abort();
        assert_eq!(
            capture.gauge_values("process.live_tasks"),
            [3.0, 3.0],
            "the poller should report live tasks every period even when memory cannot be \
             read; recorded: {:?}",
            capture.recorded()
        );
        assert!(
            capture.gauge_values("process.rss_bytes").is_empty(),
            "rss_bytes was None (not Linux), but the poller reported {:?}: a made-up 0 \
             looks like a real reading on a dashboard. Report nothing when there is no value.",
            capture.gauge_values("process.rss_bytes")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn reports_this_process_for_real() {
        let capture = CaptureRecorder::default();
        let _local = metrics::set_default_local_recorder(&capture);
        let poller = tokio::spawn(imp::part1::e04_poller::poll_process(
            Duration::from_secs(1),
            ProcessSample::now,
        ));
        tokio::time::sleep(Duration::from_millis(100)).await;
        poller.abort();
        let rss = capture.gauge_values("process.rss_bytes");
        let tasks = capture.gauge_values("process.live_tasks");
        assert!(
            rss.len() == 1 && rss[0] > 1_000_000.0,
            "with ProcessSample::now the poller should report this test process's resident \
             memory (more than 1 MB) once; it reported {rss:?}"
        );
        assert!(
            tasks.len() == 1 && tasks[0] >= 1.0,
            "the poller's own task is alive while it samples, so live_tasks is at least 1; \
             it reported {tasks:?}"
        );
    }
}

/// The learner's tuned settings, starting from tungstenite's defaults.
fn tuned_from_defaults(tuned: fn(SocketConfig) -> SocketConfig) -> SocketConfig {
    let config = tuned(SocketConfig::tungstenite_defaults());
    if let Some(problem) = config.problem() {
        panic!("these settings cannot serve a single connection: {problem}");
    }
    config
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

// The gateway s3.e5 tunes for (its start file and slide give the same figures). They
// are not section 2's defaults on purpose: the course's own server reads frames of a few
// hundred bytes and allows 64 KiB messages, so a copy of `SocketConfig::default()` reads
// a batch in 9 reads and lets one device claim 128 KiB.

/// The largest batch of readings a device sends: one message, in one frame.
const BATCH_BYTES: usize = 8 * KIB;
/// A batch on the wire: the message and its 8-byte client frame header (2 bytes, a
/// 2-byte length, a 4-byte mask).
const BATCH_ON_THE_WIRE: usize = BATCH_BYTES + 8;
/// The most reads (system calls) one batch may take.
const MOST_READS_PER_BATCH: usize = 3;
/// The most one device may make the server hold while it reads from it
/// ([`section3_production::conn_cost::inbound_worst_case_bytes`]).
const INBOUND_BUDGET_BYTES: u64 = 64 * 1024;
/// Idle joined connections the memory test opens.
const IDLE_CONNECTIONS: usize = 1_000;
/// The gateway's idle budget: 100,000 devices per server in 1.2 GB. An idle joined
/// connection measures about 5.2 KB here besides its read buffer (a debug build; about
/// 5 KB in release): the reference's 4 KiB comes to about 9.3 KB, 6 KiB to about
/// 11.4 KB, 8 KiB to about 13.5 KB, tungstenite's 128 KiB to over 130 KiB, each within
/// about 100 bytes from run to run.
const IDLE_BUDGET_BYTES: f64 = 12_000.0;

/// A text message of exactly `bytes` bytes: a heartbeat padded to that size.
fn padded_heartbeat(bytes: usize) -> String {
    let envelope = r#"[null,"1","phoenix","heartbeat",{"pad":""}]"#.len();
    format!(
        r#"[null,"1","phoenix","heartbeat",{{"pad":"{}"}}]"#,
        "x".repeat(bytes - envelope)
    )
}

#[exercise(section3_production)]
mod e05_conn_cost {
    use super::*;

    #[tokio::test]
    async fn every_setting_meets_the_gateways_figures() {
        let untuned = SocketConfig::tungstenite_defaults();
        let tuned = tuned_from_defaults(imp::part1::e05_conn_cost::tuned);
        let reads = BATCH_ON_THE_WIRE.div_ceil(tuned.read_buffer_size.max(1));
        assert!(
            tuned.read_buffer_size > 0 && reads <= MOST_READS_PER_BATCH,
            "read_buffer_size is {} bytes, so a batch ({BATCH_ON_THE_WIRE} bytes on the wire: \
             8 KiB and its frame header) takes {reads} reads: tungstenite reads at most \
             read_buffer_size bytes per system call. The gateway allows at most \
             {MOST_READS_PER_BATCH}, so the read buffer must hold at least a third of a batch \
             ({} bytes); the idle budget (12,000 bytes per connection, about 5 KB of which \
             is not the buffer) sets its upper end.",
            tuned.read_buffer_size,
            BATCH_ON_THE_WIRE.div_ceil(MOST_READS_PER_BATCH)
        );
        assert!(
            tuned.write_buffer_size <= 16 * KIB,
            "write_buffer_size is {} bytes: the WebSocket would gather that much before \
             writing, but a reply should leave at once and the outbox is already the queue. \
             0 writes each frame as it comes; at most 16 KiB.",
            tuned.write_buffer_size
        );
        assert!(
            (64 * KIB..=16 * MIB).contains(&tuned.max_write_buffer_size),
            "max_write_buffer_size is {}: it bounds what the WebSocket holds for a client \
             that does not read. Unlimited is what the course never allows; below 64 KiB \
             the server's own larger frames could not be sent. Choose between 64 KiB and \
             16 MiB.",
            tuned.max_write_buffer_size
        );
        assert!(
            tuned.max_message_size >= BATCH_BYTES,
            "max_message_size is {} bytes, but a device's batch is up to {BATCH_BYTES} bytes: \
             the gateway would close its devices with 1009. Make it at least 8 KiB.",
            tuned.max_message_size
        );
        assert!(
            (BATCH_BYTES..=tuned.max_message_size).contains(&tuned.max_frame_size),
            "max_frame_size is {} bytes and max_message_size {}. A device sends each batch \
             (up to 8 KiB) as one frame, so the frame limit is at least 8 KiB; a frame \
             larger than a whole message is refused anyway, so it is no more than \
             max_message_size.",
            tuned.max_frame_size,
            tuned.max_message_size
        );
        let worst = section3_production::conn_cost::inbound_worst_case_bytes(&tuned);
        assert!(
            worst <= INBOUND_BUDGET_BYTES,
            "with your settings one device can make the server hold {worst} bytes while it \
             reads (the frame being received, whose room is reserved as soon as its header \
             announces it, at least the read buffer: {} bytes; plus the message assembled \
             from frames: {} bytes). The gateway allows {INBOUND_BUDGET_BYTES} (64 KiB). \
             Nothing legitimate is above 8 KiB: lower max_frame_size and max_message_size.",
            tuned.read_buffer_size.max(tuned.max_frame_size),
            tuned.max_message_size
        );
        let framework_part = SocketConfig {
            read_buffer_size: untuned.read_buffer_size,
            write_buffer_size: untuned.write_buffer_size,
            max_write_buffer_size: untuned.max_write_buffer_size,
            max_message_size: untuned.max_message_size,
            max_frame_size: untuned.max_frame_size,
            ..tuned.clone()
        };
        assert_eq!(
            framework_part, untuned,
            "tune only the five WebSocket fields; keep the framework's own bounds (outbox, \
             channels, mailbox, timeouts) from `untuned` with `..untuned`"
        );
    }

    #[tokio::test]
    async fn a_batch_passes_and_a_64_kib_message_closes_with_1009() {
        let tuned = tuned_from_defaults(imp::part1::e05_conn_cost::tuned);
        let store = ActivityStore::open("sqlite::memory:").await.unwrap();
        let app = App::with_config("app@127.0.0.1", store, tuned.clone());
        let server = app.serve(0).await.unwrap();
        let url = server.socket_url("/socket", &[]);

        let mut client = ChannelClient::connect(&url).await.unwrap();
        client.send_text(&padded_heartbeat(BATCH_BYTES)).await;
        let reply = client.next().await;
        assert!(
            matches!(&reply, Some(Received::Frame(frame)) if reply_status(frame) == Some("ok")),
            "a batch (a message of 8 KiB, in one frame) should be answered ok with your \
             settings (max message {} bytes, max frame {}), got {reply:?}; transcript:\n{}",
            tuned.max_message_size,
            tuned.max_frame_size,
            client.transcript()
        );

        // A device with a firmware bug: refused, and only that device.
        client.send_text(&padded_heartbeat(64 * KIB)).await;
        match client.next().await {
            Some(Received::Closed(closed)) => assert_eq!(
                closed.code, 1009,
                "a 64 KiB message should close its connection with 1009 (message too big); \
                 the connection closed with {closed:?}"
            ),
            Some(Received::Frame(frame)) => panic!(
                "the server accepted a 64 KiB message and answered it ({}): with \
                 max_message_size {} and max_frame_size {} one device can make the server \
                 hold {} bytes while it reads, where the gateway allows 64 KiB and no batch \
                 is above 8 KiB. Lower both limits.",
                reply_status(&frame).unwrap_or("?"),
                tuned.max_message_size,
                tuned.max_frame_size,
                section3_production::conn_cost::inbound_worst_case_bytes(&tuned)
            ),
            None => panic!(
                "after a 64 KiB message the server neither answered nor closed the \
                 connection in time (expected a close with 1009)"
            ),
        }
        let mut other = ChannelClient::connect(&url).await.unwrap();
        let reply = other.heartbeat().await;
        assert_eq!(
            reply_status(&reply),
            Some("ok"),
            "another device should still be served: {reply:?}"
        );
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_thousand_idle_connections_fit_the_budget() {
        let tuned = tuned_from_defaults(imp::part1::e05_conn_cost::tuned);
        if !cfg!(target_os = "linux") {
            eprintln!("skipped the memory measurement: it reads /proc (Linux only)");
            return;
        }
        let program = std::path::Path::new(env!("CARGO_BIN_EXE_section3-production"));
        let measured = section3_production::conn_cost::measure(program, &tuned, IDLE_CONNECTIONS)
            .await
            .expect("the measurement runs (a server process and 1,000 clients on loopback)");
        let per = measured.per_connection_bytes();
        eprintln!(
            "{IDLE_CONNECTIONS} idle joined connections: {per:.0} bytes each above the \
             baseline (read buffer {} bytes)",
            tuned.read_buffer_size
        );
        assert!(
            per <= IDLE_BUDGET_BYTES,
            "with your settings the server grew by {per:.0} bytes per idle joined connection \
             ({} KiB with one connection, {} KiB with {}); the gateway's budget is \
             {IDLE_BUDGET_BYTES:.0} (100,000 devices in 1.2 GB). The read buffer ({} bytes) \
             is allocated for every connection and is the part you choose: about 5 KB is \
             the connection itself, so the buffer can have about 7 KB at most. Measure \
             yourself with `cargo run -p section3-production --release -- conn-cost \
             --connections 1000 --yours`.",
            measured.baseline_kib,
            measured.loaded_kib,
            IDLE_CONNECTIONS + 1,
            tuned.read_buffer_size
        );
    }
}
