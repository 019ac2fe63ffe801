//! The pipeline's gauges and counters: what `/stats` and the `/part2` dashboard show.
//!
//! Gauges say what is happening now (events waiting, events in flight); counters say
//! what happened (processed, dropped, rejected, failed, restarts). Together they
//! answer "is anything lost?": every event pushed ends up in exactly one of
//! *waiting*, *in flight*, *processed*, *dropped* or *failed*, and a test can add
//! them up.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::latency::{LatencyHistogram, LatencySummary};

/// How many failure reasons are kept for `/stats` (the counter counts them all).
pub const KEEP_FAILURES: usize = 20;

/// Shared, cheap-to-clone handle on the pipeline's figures.
#[derive(Clone, Debug, Default)]
pub struct PipelineMetrics {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    capacity: AtomicU64,
    // Written by whoever pushes (request handlers)...
    producer_side: Padded<ProducerSide>,
    // ...and by whoever processes (consumers, workers). Two cache lines, so the two
    // sides do not slow each other down by bouncing one line between cores: at a
    // million events a second that is most of the cost of counting.
    worker_side: Padded<WorkerSide>,
    latency: LatencyHistogram,
    recent_failures: Mutex<VecDeque<Failure>>,
}

#[derive(Debug, Default)]
struct ProducerSide {
    accepted: AtomicU64,
    rejected: AtomicU64,
    dropped: AtomicU64,
}

#[derive(Debug, Default)]
struct WorkerSide {
    started: AtomicU64,
    in_flight: AtomicU64,
    in_flight_peak: AtomicU64,
    processed: AtomicU64,
    failed: AtomicU64,
    /// Failed while waiting (never started, or a retry that never ran).
    failed_waiting: AtomicU64,
    retried: AtomicU64,
    restarts: AtomicU64,
}

/// Aligns its content to its own cache line(s) (128 bytes covers adjacent-line prefetch).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// One event that could not be processed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The event's id, when the code that saw the failure knew it.
    pub id: Option<u64>,
    /// What went wrong (a panic message, or why the supervisor gave up on it).
    pub reason: String,
}

/// A point-in-time reading, as `/stats` shows it under `pipeline`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineSnapshot {
    /// The producer's buffer bound.
    pub capacity: u64,
    /// Events waiting: accepted, not yet started (in the buffer or in a consumer's batch).
    pub queue_depth: u64,
    /// Events being processed right now.
    pub in_flight: u64,
    /// The most events in flight at once.
    pub in_flight_peak: u64,
    /// Events the producer accepted.
    pub accepted: u64,
    /// Events processed successfully.
    pub processed: u64,
    /// Events evicted from a full buffer (drop-oldest policy).
    pub dropped: u64,
    /// Pushes refused because the buffer was full (reject policy); never accepted.
    pub rejected: u64,
    /// Events given up on, each with a reason (see `recent_failures`).
    pub failed: u64,
    /// Events tried again after their worker crashed.
    pub retried: u64,
    /// Workers restarted by a supervisor.
    pub restarts: u64,
    /// Enqueue-to-done latency of processed events (from `Event::enqueued_at`).
    pub latency: LatencySummary,
    /// The last few failures, oldest first.
    pub recent_failures: Vec<Failure>,
}

impl PipelineSnapshot {
    /// Accepted events not yet accounted for as processed, dropped, failed, waiting or
    /// in flight. Zero in a correct pipeline: anything else is an event lost without a count.
    pub fn unaccounted(&self) -> i128 {
        self.accepted as i128
            - (self.processed + self.dropped + self.failed + self.queue_depth + self.in_flight)
                as i128
    }
}

impl PipelineMetrics {
    /// Fresh figures for a pipeline whose buffer holds `capacity` events.
    pub fn new(capacity: usize) -> Self {
        let metrics = PipelineMetrics::default();
        metrics
            .inner
            .capacity
            .store(capacity as u64, Ordering::Relaxed);
        metrics
    }

    /// An event entered the buffer.
    pub fn accepted(&self) {
        self.inner
            .producer_side
            .accepted
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A push was refused: the event never entered the pipeline.
    pub fn rejected(&self) {
        self.inner
            .producer_side
            .rejected
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A waiting event was evicted to make room (drop-oldest).
    pub fn dropped(&self) {
        self.inner
            .producer_side
            .dropped
            .fetch_add(1, Ordering::Relaxed);
    }

    /// An event starts processing; the returned guard counts it out of flight when
    /// dropped, whether the work finished, panicked or was cancelled.
    pub fn start(&self, event: &Event) -> InFlight<'_> {
        let _ = event;
        let w = &self.inner.worker_side;
        w.started.fetch_add(1, Ordering::Relaxed);
        let now = w.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        if now > w.in_flight_peak.load(Ordering::Relaxed) {
            w.in_flight_peak.fetch_max(now, Ordering::Relaxed);
        }
        InFlight { inner: &self.inner }
    }

    /// An event finished: count it and record how long it took since it was enqueued.
    pub fn processed(&self, event: &Event) {
        self.inner.latency.record(event.enqueued_at.elapsed());
        self.inner
            .worker_side
            .processed
            .fetch_add(1, Ordering::Relaxed);
    }

    /// An event is tried again after a crash: it goes back to waiting.
    pub fn retried(&self) {
        self.inner
            .worker_side
            .retried
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A supervisor replaced a crashed worker.
    pub fn restarted(&self) {
        self.inner
            .worker_side
            .restarts
            .fetch_add(1, Ordering::Relaxed);
    }

    /// An event is given up on. `waiting` says whether it was still counted as
    /// waiting (a retry that never ran, or an event abandoned in the buffer).
    pub fn failed(&self, id: Option<u64>, reason: impl Into<String>, waiting: bool) {
        let w = &self.inner.worker_side;
        if waiting {
            w.failed_waiting.fetch_add(1, Ordering::Relaxed);
        }
        w.failed.fetch_add(1, Ordering::Relaxed);
        let mut recent = self
            .inner
            .recent_failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if recent.len() == KEEP_FAILURES {
            recent.pop_front();
        }
        recent.push_back(Failure {
            id,
            reason: reason.into(),
        });
    }

    /// Events waiting right now: accepted (or sent back for a retry) and not yet
    /// started, dropped or given up on. Computed from counters rather than kept as
    /// one gauge both sides would write.
    pub fn queue_depth(&self) -> u64 {
        let p = &self.inner.producer_side;
        let w = &self.inner.worker_side;
        // Read the worker side first: a concurrent start can then only make the
        // result too high for an instant, never wrap below zero.
        let gone = w.started.load(Ordering::Relaxed) + w.failed_waiting.load(Ordering::Relaxed);
        let dropped = p.dropped.load(Ordering::Relaxed);
        let retried = w.retried.load(Ordering::Relaxed);
        let accepted = p.accepted.load(Ordering::Relaxed);
        (accepted + retried).saturating_sub(gone + dropped)
    }

    /// Events in flight right now.
    pub fn in_flight(&self) -> u64 {
        self.inner.worker_side.in_flight.load(Ordering::Relaxed)
    }

    /// Forgets the in-flight peak, so a new run reports its own.
    pub fn reset_peak(&self) {
        self.inner
            .worker_side
            .in_flight_peak
            .store(self.in_flight(), Ordering::Relaxed);
    }

    /// Every figure at once.
    pub fn snapshot(&self) -> PipelineSnapshot {
        let i = &self.inner;
        let (p, w) = (&i.producer_side, &i.worker_side);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        PipelineSnapshot {
            capacity: load(&i.capacity),
            queue_depth: self.queue_depth(),
            in_flight: load(&w.in_flight),
            in_flight_peak: load(&w.in_flight_peak),
            accepted: load(&p.accepted),
            processed: load(&w.processed),
            dropped: load(&p.dropped),
            rejected: load(&p.rejected),
            failed: load(&w.failed),
            retried: load(&w.retried),
            restarts: load(&w.restarts),
            latency: i.latency.summary(),
            recent_failures: i
                .recent_failures
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .iter()
                .cloned()
                .collect(),
        }
    }
}

/// Counts one event out of flight when dropped. See [`PipelineMetrics::start`].
#[derive(Debug)]
pub struct InFlight<'a> {
    inner: &'a Inner,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.inner
            .worker_side
            .in_flight
            .fetch_sub(1, Ordering::Relaxed);
    }
}
