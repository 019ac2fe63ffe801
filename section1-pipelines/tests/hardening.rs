//! Hardening: the part 2 pipeline (bounded producer + the solution's worker pool) fed
//! at ten times what it can process, on a paused clock.
//!
//! Memory stays bounded (the queue never holds more than its bound) and every event
//! offered is accounted for: processed, shed with a count (dropped by
//! `drop-oldest`), rejected with a count (`reject`), or failed with a count (a few
//! poisoned events crash their worker on purpose).
//!
//! The short version runs in `cargo test`; the long one with `HARDENING=long`:
//!
//! ```text
//! HARDENING=long cargo test -p section1-pipelines --release --test hardening -- --nocapture
//! ```
//!
//! Each policy's run writes what it saw to `target/figures/hardening-s1-<policy>.json`
//! (the results page reads it, `cargo xtask bench`).

use std::time::Duration;

use figures::section1::OverloadHardening;
use pipeline::mock_resource::MockResource;
use pipeline::{Demand, Event, OverflowPolicy, PipelineMetrics, Processor, Producer, PushError};
use section1_pipelines::solution::part2::e07_worker_pool::run_pool;

fn long() -> bool {
    std::env::var("HARDENING").is_ok_and(|v| v == "long")
}

const CAPACITY: usize = 100;
const WORKERS: usize = 10;
/// Each event holds the resource this long: the pool processes
/// `WORKERS / HOLD` = 100 events per second.
const HOLD: Duration = Duration::from_millis(100);
/// One event offered every millisecond: 1,000 per second, ten times the capacity.
const EVERY: Duration = Duration::from_millis(1);

async fn overload(policy: OverflowPolicy, seconds: u64) {
    let metrics = PipelineMetrics::new(CAPACITY);
    let producer = Producer::new(CAPACITY, policy, metrics.clone());
    let processor = Processor::new(MockResource::with_hold(HOLD), metrics.clone());
    let pool = tokio::spawn(run_pool(
        producer.subscribe(Demand::one()),
        processor,
        WORKERS,
    ));

    let offered = seconds * 1000;
    let (mut rejected, mut max_depth, mut poisoned) = (0u64, 0usize, 0u64);
    for i in 0..offered {
        // About one in a hundred events is poisoned: its worker panics, the pool counts
        // it. 97, not 100: a period that shares no rhythm with the pool's (10 workers
        // x 100 ms), so poisoned events are admitted as often as any other.
        let event = if i % 97 == 96 {
            poisoned += 1;
            Event::poisoned("hardening: a poisoned event")
        } else {
            Event::new()
        };
        match producer.push(event).await {
            Ok(_) => {}
            Err(PushError::Full { .. }) => rejected += 1,
            Err(PushError::Closed) => panic!("the producer closed under load"),
        }
        max_depth = max_depth.max(producer.len());
        let snapshot = metrics.snapshot();
        assert!(
            snapshot.in_flight <= WORKERS as u64,
            "{} events in flight, the pool's bound is {WORKERS}",
            snapshot.in_flight
        );
        tokio::time::sleep(EVERY).await;
    }
    // Stop offering; let the pool finish what was accepted.
    producer.close();
    tokio::time::timeout(Duration::from_secs(60), pool)
        .await
        .expect("the pool drains the buffer and stops after the producer closes")
        .expect("the pool task itself does not panic (a worker's panic is counted)");

    let s = metrics.snapshot();
    eprintln!(
        "{}: offered {offered}, processed {}, dropped {}, rejected {} (metrics {}), failed {} \
         ({poisoned} poisoned), max queue depth {max_depth}/{CAPACITY}",
        policy.name(),
        s.processed,
        s.dropped,
        rejected,
        s.rejected,
        s.failed
    );
    // Written before the checks, so a failing run still shows what it saw.
    let seen = OverloadHardening {
        policy: policy.name().to_string(),
        seconds,
        capacity: CAPACITY,
        workers: WORKERS,
        offered,
        processed: s.processed,
        dropped: s.dropped,
        rejected,
        failed: s.failed,
        poisoned,
        max_queue_depth: max_depth,
    };
    seen.write()
        .expect("write what the test saw to its figures file");
    assert!(
        max_depth <= CAPACITY,
        "the queue held {max_depth} events, its bound is {CAPACITY}: memory is not bounded"
    );
    assert_eq!(
        s.rejected, rejected,
        "the rejected counter disagrees with the callers"
    );
    assert_eq!(
        s.unaccounted(),
        0,
        "accepted events lost without a count: {s:?}"
    );
    assert_eq!(
        s.processed + s.dropped + s.rejected + s.failed,
        offered,
        "every offered event must be processed, dropped (counted), rejected (counted) or \
         failed (counted): {s:?}"
    );
    // Poisoned events that were shed or rejected never reached a worker.
    assert!(
        s.failed > 0 && s.failed <= poisoned,
        "only poisoned events fail, and some reach a worker: {} failed of {poisoned}",
        s.failed
    );
    // At 10x, most of the load is shed, and the pool still works at full speed.
    let capacity_events = seconds * 1000 / 10;
    assert!(
        s.processed >= capacity_events * 8 / 10,
        "the pool processed {} of about {capacity_events} it can: overload slowed it down",
        s.processed
    );
    match policy {
        OverflowPolicy::Reject => assert!(rejected > offered / 2 && s.dropped == 0),
        OverflowPolicy::DropOldest => assert!(s.dropped > offered / 2 && rejected == 0),
        OverflowPolicy::Wait => unreachable!(),
    }
}

#[tokio::test(start_paused = true)]
async fn ten_times_overload_rejecting() {
    overload(OverflowPolicy::Reject, if long() { 600 } else { 10 }).await;
}

#[tokio::test(start_paused = true)]
async fn ten_times_overload_dropping_the_oldest() {
    overload(OverflowPolicy::DropOldest, if long() { 600 } else { 10 }).await;
}
