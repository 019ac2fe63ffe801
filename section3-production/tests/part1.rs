//! Exercise tests for section 3, part 1: telemetry (s3.e1, s3.e4).
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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use section3_production::process::ProcessSample;
use support::{CaptureRecorder, StatsdCapture, redact_value};

/// Writes each test of an exercise once, for both implementations.
macro_rules! exercise {
    ($exercise:ident: $( $(#[$attr:meta])* async fn $test:ident() $body:block )*) => {
        mod $exercise {
            #[allow(unused_imports)]
            use super::*;

            mod start {
                #[allow(unused_imports)]
                use super::*;
                #[allow(unused_imports)]
                use section3_production::start as imp;
                $( $(#[$attr])* #[ignore = "exercise: run cargo xtask check"] async fn $test() $body )*
            }

            mod solution {
                #[allow(unused_imports)]
                use super::*;
                #[allow(unused_imports)]
                use section3_production::solution as imp;
                $( $(#[$attr])* async fn $test() $body )*
            }
        }
    };
}

fn snapshot(name: &str, lines: &[String]) {
    let redacted: Vec<String> = lines.iter().map(|l| redact_value(l)).collect();
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, redacted.join("\n"));
    });
}

exercise! { s3_e1:
    #[tokio::test]
    async fn each_order_placed_is_counted_once() {
        let mut statsd = StatsdCapture::new().await;
        statsd.record(|| {
            for _ in 0..3 {
                imp::part1::measurements::order_placed();
            }
        });
        let lines = statsd.lines(3).await;
        assert_eq!(
            lines,
            ["test.shop.orders.placed:1|c"; 3],
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
            imp::part1::measurements::open_carts(12);
            imp::part1::measurements::open_carts(7);
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
            imp::part1::measurements::revenue(1999, "card");
            imp::part1::measurements::revenue(500, "invoice");
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

exercise! { s3_e4:
    #[tokio::test(start_paused = true)]
    async fn samples_at_once_then_every_period() {
        let capture = CaptureRecorder::default();
        // The test runtime runs every task on this thread, so the poller's task
        // records into this capture too.
        let _local = metrics::set_default_local_recorder(&capture);
        let calls = Arc::new(AtomicU64::new(0));
        let poller = tokio::spawn(imp::part1::poller::poll_process(
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
        let poller = tokio::spawn(imp::part1::poller::poll_process(
            Duration::from_secs(1),
            || ProcessSample { rss_bytes: None, live_tasks: 3 },
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
        let poller = tokio::spawn(imp::part1::poller::poll_process(
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
