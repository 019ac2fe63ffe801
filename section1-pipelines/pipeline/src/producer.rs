//! The producer: a bounded buffer of events, and the subscriptions consumers pull from.
//!
//! GenStage turns a queue inside out: consumers *ask* for events (demand) instead of
//! having events pushed at them, so a slow consumer is never flooded. Here that is a
//! [`Subscription`]: a consumer holds a small batch, and asks the producer for more
//! only when the batch runs low. The producer's own buffer is bounded, and what happens
//! when it is full is a decision you make up front ([`OverflowPolicy`]), never an
//! accident.
//!
//! Built by hand (a `Mutex<VecDeque>`, and two `Notify`s: "events available" for
//! consumers, "room available" for pushers under the wait policy) rather than on `tokio::sync::mpsc`, because a channel cannot
//! drop its *oldest* item from the sending side, and because the three policies are
//! the lesson. The benchmark compares it with a raw bounded `mpsc`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::event::Event;
use crate::metrics::PipelineMetrics;

/// What [`Producer::push`] does when the buffer is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OverflowPolicy {
    /// The caller waits for a free slot: back-pressure reaches the client (slower answers).
    Wait,
    /// The push fails at once with [`PushError::Full`]: the client is told to retry (503).
    #[default]
    Reject,
    /// The oldest waiting event is evicted and counted as `dropped`: fresh data wins
    /// (sensor readings, where a newer reading makes an older one worthless).
    DropOldest,
}

impl OverflowPolicy {
    /// The policy's name on the command line and in `/stats`.
    pub fn name(self) -> &'static str {
        match self {
            OverflowPolicy::Wait => "wait",
            OverflowPolicy::Reject => "reject",
            OverflowPolicy::DropOldest => "drop-oldest",
        }
    }
}

impl std::str::FromStr for OverflowPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "wait" => Ok(OverflowPolicy::Wait),
            "reject" => Ok(OverflowPolicy::Reject),
            "drop-oldest" => Ok(OverflowPolicy::DropOldest),
            other => Err(format!(
                "unknown overflow policy `{other}`: use wait, reject or drop-oldest"
            )),
        }
    }
}

/// Why a push did not enter the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The buffer is full and the policy is [`OverflowPolicy::Reject`].
    Full {
        /// The buffer's bound.
        capacity: usize,
    },
    /// The producer was closed: the pipeline is shutting down (or gave up).
    Closed,
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full { capacity } => {
                write!(
                    f,
                    "the pipeline's buffer is full ({capacity} events waiting)"
                )
            }
            PushError::Closed => write!(f, "the pipeline is closed"),
        }
    }
}

impl std::error::Error for PushError {}

/// How many events a consumer asks for, GenStage style.
///
/// A consumer holds at most `max` events it has not started; when it holds `min` or
/// fewer it asks for more (up to `max`). `max = 1, min = 0` is one event at a time;
/// a large `max` amortises the cost of asking, but events sit in a consumer's batch
/// where no other consumer can take them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Demand {
    /// The most events a consumer holds.
    pub max: usize,
    /// Ask again when holding this many or fewer (below `max`).
    pub min: usize,
}

impl Demand {
    /// `max`/`min` demand; `max` is at least 1 and `min` below `max`.
    pub fn new(max: usize, min: usize) -> Self {
        let max = max.max(1);
        Demand {
            max,
            min: min.min(max - 1),
        }
    }

    /// One event at a time: every event goes to whichever consumer is free first.
    pub fn one() -> Self {
        Demand::new(1, 0)
    }
}

impl Default for Demand {
    /// 10 / 5, as the training's ConsumerSupervisor used.
    fn default() -> Self {
        Demand::new(10, 5)
    }
}

/// The producing end. Cheap to clone; every clone feeds the same buffer.
#[derive(Clone, Debug)]
pub struct Producer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    buffer: Mutex<Buffer>,
    capacity: usize,
    policy: OverflowPolicy,
    /// Woken when a consumer takes events while pushers wait: `push` under `Wait`
    /// parks here when the buffer is full.
    room: Notify,
    /// Pushers registered on `room` right now.
    waiting_pushers: AtomicUsize,
    /// Woken when a push ends "empty", and on close: consumers waiting for events park here.
    available: Notify,
    /// Consumers registered on `available` right now.
    parked: AtomicUsize,
    metrics: PipelineMetrics,
}

impl Shared {
    /// `n` slots just freed: wake up to `n` parked pushers, if any. The same
    /// ordering argument as for consumers: a pusher counts itself before its last
    /// look under the lock.
    fn made_room(&self, n: usize) {
        let waiting = self.waiting_pushers.load(Ordering::SeqCst);
        for _ in 0..n.min(waiting) {
            self.room.notify_one();
        }
    }
}

/// What one attempt to push did.
enum Pushed {
    Accepted(u64),
    /// Full under the wait policy: the event comes back, to try again.
    Full(Event),
}

/// Counts a parked pusher in, and out when dropped (also when its future is cancelled).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Waiting(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug)]
struct Buffer {
    events: VecDeque<Event>,
    next_id: u64,
    closed: bool,
}

impl Producer {
    /// A producer holding at most `capacity` waiting events, full-buffer behaviour `policy`.
    pub fn new(capacity: usize, policy: OverflowPolicy, metrics: PipelineMetrics) -> Self {
        let capacity = capacity.max(1);
        Producer {
            shared: Arc::new(Shared {
                buffer: Mutex::new(Buffer {
                    events: VecDeque::with_capacity(capacity.min(4096)),
                    next_id: 0,
                    closed: false,
                }),
                capacity,
                policy,
                room: Notify::new(),
                waiting_pushers: AtomicUsize::new(0),
                available: Notify::new(),
                parked: AtomicUsize::new(0),
                metrics,
            }),
        }
    }

    /// Accepts `event` into the buffer: stamps its id and returns it. (The enqueue
    /// time was stamped when the event was made, just before the push: under the
    /// wait policy, time spent waiting for room counts, as the client waited it too.)
    ///
    /// When the buffer is full: waits (`Wait`), fails with [`PushError::Full`]
    /// (`Reject`), or evicts the oldest waiting event (`DropOldest`, counted).
    pub async fn push(&self, event: Event) -> Result<u64, PushError> {
        let s = &self.shared;
        let mut event = match self.try_push(event)? {
            Pushed::Accepted(id) => return Ok(id),
            Pushed::Full(event) => event,
        };
        // Only the wait policy gets here: the buffer is full, so park until a
        // consumer takes something. Same protocol as a parked consumer (see
        // `take`): register, count ourselves, look once more, then sleep.
        loop {
            let room = s.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            let _waiting = Waiting::count(&s.waiting_pushers);
            event = match self.try_push(event)? {
                Pushed::Accepted(id) => return Ok(id),
                Pushed::Full(event) => event,
            };
            // Dropping this future here (a timeout) is safe: the event is not in the
            // buffer, `_waiting` uncounts us, and tokio hands an undelivered wake-up
            // on to the next waiter.
            room.await;
        }
    }

    /// One attempt under the lock: accepted, or (wait policy only) full.
    fn try_push(&self, mut event: Event) -> Result<Pushed, PushError> {
        let s = &self.shared;
        let (id, was_empty) = {
            let mut buffer = s.buffer.lock().unwrap_or_else(|p| p.into_inner());
            if buffer.closed {
                return Err(PushError::Closed);
            }
            // Checked here, under the lock, so the bound is exact however many
            // handlers push at once.
            if buffer.events.len() >= s.capacity {
                match s.policy {
                    OverflowPolicy::Wait => return Ok(Pushed::Full(event)),
                    OverflowPolicy::Reject => {
                        s.metrics.rejected();
                        return Err(PushError::Full {
                            capacity: s.capacity,
                        });
                    }
                    OverflowPolicy::DropOldest => {
                        buffer.events.pop_front();
                        s.metrics.dropped();
                    }
                }
            }
            let id = buffer.next_id;
            buffer.next_id += 1;
            event.id = id;
            // Counted before a consumer can take it (the lock orders the two).
            s.metrics.accepted();
            let was_empty = buffer.events.is_empty();
            buffer.events.push_back(event);
            (id, was_empty)
        };
        // Consumers only park on an empty buffer, so only the push that ends
        // "empty" needs to wake one, and only if one is parked; a consumer that
        // takes part of a longer buffer wakes the next (see `try_take`). Skipping
        // the rest matters at a million events a second.
        //
        // No wake-up is lost: a consumer counts itself in `parked` *before* its
        // last look under the lock. If that look came before this push, the lock
        // orders its count before this load, which sees it; if after, the look
        // found this event.
        if was_empty && s.parked.load(Ordering::SeqCst) > 0 {
            s.available.notify_one();
        }
        Ok(Pushed::Accepted(id))
    }

    /// A subscription with `demand`: what a consumer pulls events from.
    pub fn subscribe(&self, demand: Demand) -> Subscription {
        Subscription {
            producer: self.clone(),
            demand,
            batch: VecDeque::with_capacity(demand.max),
            used: 0,
        }
    }

    /// Stops accepting events. Events already buffered are still handed out; once
    /// they are gone, subscriptions end (`next` returns `None`).
    pub fn close(&self) {
        let s = &self.shared;
        s.buffer.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        s.room.notify_waiters();
        s.available.notify_waiters();
    }

    /// Empties the buffer and returns what was waiting (a supervisor that gives up
    /// accounts for these instead of losing them silently).
    pub fn drain(&self) -> Vec<Event> {
        let s = &self.shared;
        let events: Vec<Event> = s
            .buffer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .events
            .drain(..)
            .collect();
        s.made_room(events.len());
        events
    }

    /// Events in the buffer right now (not counting those in consumers' batches).
    pub fn len(&self) -> usize {
        self.shared
            .buffer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .events
            .len()
    }

    /// Whether the buffer is empty right now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's bound.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// What a push does when the buffer is full.
    pub fn policy(&self) -> OverflowPolicy {
        self.shared.policy
    }

    /// The figures this producer (and whatever processes its events) updates.
    pub fn metrics(&self) -> &PipelineMetrics {
        &self.shared.metrics
    }

    /// Moves up to `max` events into `into`; with `wait`, parks until at least one is
    /// available. `false` when nothing was taken (closed and empty, or empty and not waiting).
    async fn take(&self, max: usize, into: &mut VecDeque<Event>, wait: bool) -> bool {
        let s = &self.shared;
        loop {
            // Fast path: look without registering for a wake-up (registering takes the
            // Notify's lock, which at a million events a second is the cost to avoid).
            match self.try_take(max, into) {
                Some(took) => return took,
                None if !wait => return false,
                None => {}
            }
            let notified = s.available.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            s.parked.fetch_add(1, Ordering::SeqCst);
            // Look again now that we are registered: a push between the first look
            // and `enable` would otherwise be missed.
            let looked = self.try_take(max, into);
            if looked.is_none() {
                notified.await;
            }
            s.parked.fetch_sub(1, Ordering::SeqCst);
            if let Some(took) = looked {
                return took;
            }
        }
    }

    /// One look at the buffer: `Some(true)` took events, `Some(false)` closed and
    /// empty, `None` empty but open.
    fn try_take(&self, max: usize, into: &mut VecDeque<Event>) -> Option<bool> {
        let s = &self.shared;
        let mut buffer = s.buffer.lock().unwrap_or_else(|p| p.into_inner());
        let n = max.min(buffer.events.len());
        if n == 0 {
            return if buffer.closed { Some(false) } else { None };
        }
        into.extend(buffer.events.drain(..n));
        let more = !buffer.events.is_empty();
        drop(buffer);
        s.made_room(n);
        // Pass the baton: another consumer may be parked while events remain (a
        // push wakes one consumer only when the buffer was empty).
        if more && s.parked.load(Ordering::SeqCst) > 0 {
            s.available.notify_one();
        }
        Some(true)
    }
}

/// A consumer's end: events arrive in batches bounded by its [`Demand`].
#[derive(Debug)]
pub struct Subscription {
    producer: Producer,
    demand: Demand,
    batch: VecDeque<Event>,
    /// Events handed out since the last ask.
    used: usize,
}

impl Subscription {
    /// The next event, waiting for one if needed; `None` when the producer is closed
    /// and every event has been handed out.
    ///
    /// Asks the producer for more whenever the batch holds `min` or fewer events:
    /// without waiting while it still has some, waiting when it has none.
    ///
    /// Cancel-safe: dropping the future (in a `select!`, say) never loses an event.
    pub async fn next(&mut self) -> Option<Event> {
        // Ask again once `max - min` events of the last ask are used up (GenStage's
        // rule), or when the batch is empty. Not on every call while the batch is
        // low: when the producer is slow, that would take the lock for every event.
        if self.batch.is_empty() || self.used >= self.demand.max - self.demand.min {
            let want = self.demand.max - self.batch.len();
            let wait = self.batch.is_empty();
            self.producer.take(want, &mut self.batch, wait).await;
            self.used = 0;
        }
        let event = self.batch.pop_front();
        self.used += usize::from(event.is_some());
        event
    }

    /// The demand this subscription asks with.
    pub fn demand(&self) -> Demand {
        self.demand
    }

    /// The producer it pulls from.
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Closes the producer and hands back every event not yet started: this
    /// subscription's batch, then the buffer. A supervisor that gives up accounts
    /// for these (as failed) instead of losing them silently.
    pub fn close_and_drain(&mut self) -> Vec<Event> {
        self.producer.close();
        let mut events: Vec<Event> = self.batch.drain(..).collect();
        events.extend(self.producer.drain());
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producer(capacity: usize, policy: OverflowPolicy) -> Producer {
        Producer::new(capacity, policy, PipelineMetrics::new(capacity))
    }

    #[tokio::test(start_paused = true)]
    async fn reject_refuses_beyond_capacity_and_counts_it() {
        let p = producer(2, OverflowPolicy::Reject);
        assert_eq!(p.push(Event::new()).await, Ok(0));
        assert_eq!(p.push(Event::new()).await, Ok(1));
        assert_eq!(
            p.push(Event::new()).await,
            Err(PushError::Full { capacity: 2 })
        );
        let m = p.metrics().snapshot();
        assert_eq!((m.accepted, m.rejected, m.queue_depth), (2, 1, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn drop_oldest_keeps_the_newest_and_counts_the_rest() {
        let p = producer(2, OverflowPolicy::DropOldest);
        for _ in 0..5 {
            p.push(Event::new()).await.unwrap();
        }
        assert_eq!(p.len(), 2);
        let mut sub = p.subscribe(Demand::one());
        assert_eq!(sub.next().await.unwrap().id, 3);
        assert_eq!(sub.next().await.unwrap().id, 4);
        let m = p.metrics().snapshot();
        assert_eq!((m.accepted, m.dropped), (5, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn wait_parks_the_pusher_until_a_slot_frees() {
        let p = producer(1, OverflowPolicy::Wait);
        p.push(Event::new()).await.unwrap();
        let blocked = tokio::spawn({
            let p = p.clone();
            async move { p.push(Event::new()).await }
        });
        tokio::task::yield_now().await;
        assert!(!blocked.is_finished());
        let mut sub = p.subscribe(Demand::one());
        assert_eq!(sub.next().await.unwrap().id, 0);
        assert_eq!(blocked.await.unwrap(), Ok(1));
    }

    #[tokio::test(start_paused = true)]
    async fn every_waiting_pusher_gets_in_and_a_cancelled_one_leaves_no_trace() {
        let p = producer(1, OverflowPolicy::Wait);
        p.push(Event::new()).await.unwrap();
        let cancelled = tokio::spawn({
            let p = p.clone();
            async move { p.push(Event::new()).await }
        });
        let waiting: Vec<_> = (0..5)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move { p.push(Event::new()).await })
            })
            .collect();
        tokio::task::yield_now().await;
        cancelled.abort();
        let _ = cancelled.await;
        let mut sub = p.subscribe(Demand::one());
        let mut taken = 0;
        while taken < 6 {
            sub.next().await.unwrap();
            taken += 1;
            tokio::task::yield_now().await;
        }
        for pusher in waiting {
            assert!(pusher.await.unwrap().is_ok());
        }
        assert_eq!(
            p.metrics().snapshot().accepted,
            6,
            "the cancelled push never got in"
        );
        assert!(p.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn demand_takes_batches_and_ends_after_close() {
        let p = producer(100, OverflowPolicy::Reject);
        for _ in 0..25 {
            p.push(Event::new()).await.unwrap();
        }
        p.close();
        assert_eq!(p.push(Event::new()).await, Err(PushError::Closed));
        let mut sub = p.subscribe(Demand::new(10, 5));
        assert_eq!(sub.next().await.unwrap().id, 0);
        // One ask took 10; the producer holds the other 15.
        assert_eq!(p.len(), 15);
        let mut ids = vec![0];
        while let Some(event) = sub.next().await {
            ids.push(event.id);
        }
        assert_eq!(ids, (0..25).collect::<Vec<_>>());
    }
}
