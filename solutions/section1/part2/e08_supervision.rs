//! Exercise s1.e8 (hard mode): supervision. Slide: slides/src/section1/part2/e08_supervision.md
//!
//! A worker pool that contains crashes: a worker that panics is replaced and its
//! event retried once; a second crash records the event as failed, with the panic as
//! its reason. Too many restarts too fast is a crash loop: the supervisor stops,
//! accounts for every event it still held, and says so.

use std::collections::{HashMap, VecDeque};

use tokio::task::JoinSet;
use tokio::time::Instant;

use pipeline::{CrashLoop, Event, Processor, RestartIntensity, Subscription, failure_reason};

/// Runs a supervised pool of at most `concurrency` workers until the producer is
/// closed and drained (`Ok`), or until restarts exceed `intensity` (`Err`).
///
/// Every event ends processed, or failed with a reason; none is lost without a count.
// ANCHOR: supervise
pub async fn supervise(
    mut events: Subscription,
    processor: Processor,
    concurrency: usize,
    intensity: RestartIntensity,
) -> Result<(), CrashLoop> {
    let concurrency = concurrency.max(1);
    let mut workers = JoinSet::new();
    // What each running worker holds, so a crash can be retried or accounted for:
    // the JoinSet tells us *which* task ended (its id), this map tells us its event.
    let mut running: HashMap<tokio::task::Id, (Event, u32)> = HashMap::new();
    let mut restarts: VecDeque<Instant> = VecDeque::new();
    let mut open = true;

    loop {
        let done = if open && workers.len() < concurrency {
            // Room for a worker: wait for an event *or* for a worker to end, whichever
            // comes first. Waiting only for events would leave a crash unhandled (and
            // its retry not started) for as long as no new event arrives.
            tokio::select! {
                biased;
                Some(done) = workers.join_next_with_id(), if !workers.is_empty() => done,
                // `next` is cancel-safe: when the other branch wins, no event is lost.
                event = events.next() => {
                    match event {
                        Some(event) => spawn(&mut workers, &mut running, &processor, event, 0),
                        None => open = false,
                    }
                    continue;
                }
            }
        } else {
            match workers.join_next_with_id().await {
                Some(done) => done,
                None => return Ok(()), // closed, drained, and every worker finished
            }
        };
        let (id, error) = match done {
            Ok((id, ())) => {
                running.remove(&id);
                continue;
            }
            Err(error) => (error.id(), error),
        };
        let (event, attempt) = running.remove(&id).expect("every worker is tracked");
        let reason = failure_reason(error);

        // Restart intensity: forget restarts older than the window, then count this one.
        let now = Instant::now();
        while restarts
            .front()
            .is_some_and(|&at| now.duration_since(at) > intensity.within)
        {
            restarts.pop_front();
        }
        restarts.push_back(now);
        if restarts.len() > intensity.max_restarts {
            processor
                .metrics()
                .failed(Some(event.id), reason.clone(), false);
            return Err(give_up(
                &mut events,
                &mut workers,
                running,
                &processor,
                CrashLoop {
                    restarts: restarts.len(),
                    intensity,
                    abandoned: 1,
                    last_reason: reason,
                },
            )
            .await);
        }

        processor.metrics().restarted();
        if attempt == 0 {
            tracing::warn!(event = event.id, %reason, "worker crashed; restarting it and retrying its event once");
            processor.metrics().retried();
            spawn(&mut workers, &mut running, &processor, event, 1);
        } else {
            tracing::error!(event = event.id, %reason, "worker crashed again; the event is failed");
            processor.metrics().failed(Some(event.id), reason, false);
        }
    }
}
// ANCHOR_END: supervise

fn spawn(
    workers: &mut JoinSet<()>,
    running: &mut HashMap<tokio::task::Id, (Event, u32)>,
    processor: &Processor,
    event: Event,
    attempt: u32,
) {
    let processor = processor.clone();
    // The worker gets a clone: the original stays here, ready for a retry.
    let copy = event.clone();
    let handle = workers.spawn(async move { processor.process(copy).await });
    running.insert(handle.id(), (event, attempt));
}

// ANCHOR: give_up
/// Stops taking events and accounts for everything left: workers already running
/// finish (a healthy one completes its event, a crashing one is failed), and the
/// waiting events are failed (the producer is closed and drained).
async fn give_up(
    events: &mut Subscription,
    workers: &mut JoinSet<()>,
    mut running: HashMap<tokio::task::Id, (Event, u32)>,
    processor: &Processor,
    mut crash: CrashLoop,
) -> CrashLoop {
    let metrics = processor.metrics();
    let reason = format!(
        "abandoned: the supervisor stopped after {} restarts within {:?}",
        crash.restarts, crash.intensity.within
    );
    // Waiting events first, so nothing new starts while the last workers finish.
    for event in events.close_and_drain() {
        metrics.failed(Some(event.id), reason.clone(), true);
        crash.abandoned += 1;
    }
    // Not `abort_all`: a task aborted before its first poll never counted its event
    // in flight, and a healthy worker half-way through its event should finish it.
    while let Some(done) = workers.join_next_with_id().await {
        if let Err(error) = done {
            if let Some((event, _)) = running.remove(&error.id()) {
                metrics.failed(
                    Some(event.id),
                    format!("{reason}; it crashed: {}", failure_reason(error)),
                    false,
                );
                crash.abandoned += 1;
            }
        }
    }
    tracing::error!("{crash}");
    crash
}
// ANCHOR_END: give_up
