//! What one connection sends: a bounded queue of frames, and a switch that closes it.
//!
//! Everything bound for a client (replies, pushes, broadcasts, from the socket, its
//! channels, spawned tasks and the pubsub) goes through one [`Outbox`], so frames keep
//! their order. The queue is bounded and senders never wait on it.
//!
//! Two marks, two different jobs:
//!
//! - the **high-water mark** (half the capacity) is back-pressure: while the queue is at
//!   or above it, the socket stops reading the client's frames
//!   ([`Outbox::below_high_water`]), so a client that sends requests faster than it
//!   reads the replies is slowed down by TCP, not blamed. Its own requests cannot fill
//!   the queue;
//! - the **capacity** is the memory bound: what fills the rest is what the server sends
//!   on its own (broadcasts, pushes, replies its channels still owe). A client that lets
//!   the queue fill cannot keep up, and the connection is closed with that reason
//!   instead of growing the server's memory.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use std::task::Poll;

use axum::extract::ws::Utf8Bytes;
use futures::task::AtomicWaker;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::protocol::Frame;

/// WebSocket close codes the server uses.
pub mod close_code {
    /// The server is going away (idle timeout, disconnect by socket id, shutdown).
    /// phoenix.js reconnects after it.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame that breaks the protocol (not JSON, not a frame).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Data the server does not accept (binary garbage).
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// A text message that is not valid UTF-8 (RFC 6455, section 8.1).
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// The client did not keep up with what it was sent.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A message above the configured maximum size.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
}

/// Why a connection closed: a WebSocket close code and a short reason (at most 123
/// bytes on the wire, so keep it short).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    /// The WebSocket close code.
    pub code: u16,
    /// Sent in the close frame and logged.
    pub reason: String,
}

impl CloseReason {
    /// A close reason.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        // The close frame's payload is at most 125 bytes, 2 of which are the code.
        if reason.len() > 123 {
            let mut end = 123;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        CloseReason { code, reason }
    }
}

/// A frame on its way to the client.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A text frame (encoded JSON), possibly shared with other connections.
    Text(Utf8Bytes),
    /// Close the connection with this reason.
    Close(CloseReason),
}

/// Closes a connection once; the first reason wins and everyone waiting hears it.
#[derive(Debug, Default)]
pub struct Closer {
    /// Set once `reason` is: every send checks it, without taking the lock.
    closed: AtomicBool,
    reason: Mutex<Option<CloseReason>>,
    notify: Notify,
}

impl Closer {
    /// Asks the connection to close; later calls keep the first reason.
    pub fn close(&self, reason: CloseReason) {
        let mut current = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if current.is_none() {
            *current = Some(reason);
            self.closed.store(true, Ordering::Release);
            self.notify.notify_waiters();
            // Also leave a permit for a waiter that is about to start waiting.
            self.notify.notify_one();
        }
    }

    /// Whether the connection was asked to close (cheap: one atomic load).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The reason, once closed.
    pub fn reason(&self) -> Option<CloseReason> {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until the connection is asked to close.
    pub async fn closed(&self) -> CloseReason {
        loop {
            let notified = self.notify.notified();
            if let Some(reason) = self.reason() {
                return reason;
            }
            notified.await;
        }
    }
}

/// What the senders and the writer of one connection share: a plain `VecDeque`
/// behind a lock, so an idle connection pays for the frames it holds and nothing more
/// (a channel would allocate a block of slots up front, for every connection).
#[derive(Debug, Default)]
struct Shared {
    queue: Mutex<VecDeque<Utf8Bytes>>,
    /// `u32`, not `usize`: the two share the word `parking` would otherwise add to
    /// every connection's outbox (section 2's connections do not park their writer).
    capacity: u32,
    /// Half the capacity: the socket reads the client's frames only below it.
    high_water: u32,
    /// Wakes the writer: the queue went from empty to not empty, or closing began.
    ready: Notify,
    /// Wakes the socket's reader, the one task that waits for it: the writer took the
    /// queue below the high-water mark. (A waker slot, not a `Notify`: waiting for it
    /// then costs the socket's future no state.)
    drained: AtomicWaker,
    closer: Closer,
    /// Set when the writer is dropped: nothing queued would be sent any more.
    writer_gone: AtomicBool,
    /// Only on a hibernating connection: where its writer task waits while it has
    /// ended (see [`Parking`]).
    parking: Option<Box<Parking>>,
}

/// Starts a parked writer again: given back its receiver, spawns its task.
pub(crate) type Respawn = Box<dyn FnOnce(OutboxReceiver) -> JoinHandle<()> + Send>;

/// A hibernating connection's writer, while its task has ended.
///
/// A writer task waiting for frames costs a few hundred bytes (the task, its future)
/// for as long as the connection lives, and a hibernating connection sends nothing.
/// So once its socket is released and nothing is queued, the writer ends and leaves
/// here what it needs to start again (the sink, the receiver); the first frame queued
/// spawns it again, and so does the connection's end, to send the close frame. One
/// lock decides the race: the writer parks only if, under it, nothing is queued and
/// the connection is not closing; whoever queues the first frame takes the writer out
/// under it, after queuing, and the connection's end only after the close.
#[derive(Default)]
pub(crate) struct Parking(Mutex<ParkSlot>);

#[derive(Default)]
struct ParkSlot {
    /// The writer's receiver and how to start it again, while it has ended.
    parked: Option<(OutboxReceiver, Respawn)>,
    /// The writer's task while it runs (the connection awaits it when it ends).
    running: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Parking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Parking")
    }
}

impl Parking {
    fn lock(&self) -> std::sync::MutexGuard<'_, ParkSlot> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Spawns the writer again if it is parked.
    fn unpark(&self) {
        let mut slot = self.lock();
        if let Some((rx, respawn)) = slot.parked.take() {
            slot.running = Some(respawn(rx));
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Utf8Bytes>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_closed(&self) -> bool {
        self.closer.is_closed() || self.writer_gone.load(Ordering::Acquire)
    }

    fn close(&self, reason: CloseReason) {
        self.closer.close(reason);
        // The writer waits on `ready` only: closing wakes it too. (A parked writer is
        // started again by the connection's end, `Outbox::writer_ended`.)
        self.ready.notify_one();
    }
}

/// The sending side of one connection: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

impl Outbox {
    /// An outbox holding at most `capacity` frames, and the receiving end for the writer.
    /// Its high-water mark is half the capacity.
    pub fn new(capacity: usize) -> (Outbox, OutboxReceiver) {
        Self::with(capacity, None)
    }

    /// An outbox whose writer may end while its connection hibernates and nothing is
    /// queued, and is spawned again by the next frame or the connection's end (see
    /// [`Parking`]).
    pub(crate) fn parking(capacity: usize) -> (Outbox, OutboxReceiver) {
        Self::with(capacity, Some(Box::default()))
    }

    fn with(capacity: usize, parking: Option<Box<Parking>>) -> (Outbox, OutboxReceiver) {
        let capacity = capacity.clamp(1, u32::MAX as usize) as u32;
        let shared = Arc::new(Shared {
            capacity,
            high_water: capacity.div_ceil(2),
            parking,
            ..Shared::default()
        });
        (
            Outbox {
                shared: shared.clone(),
            },
            OutboxReceiver { shared },
        )
    }

    /// Queues an encoded frame. Returns `false` if it was not queued: the connection is
    /// closing, or the queue was full, in which case this call closes it.
    pub fn send_text(&self, text: Utf8Bytes) -> bool {
        let shared = &*self.shared;
        if shared.is_closed() {
            return false;
        }
        let was_empty = {
            let mut queue = shared.lock();
            if queue.len() >= shared.capacity as usize {
                drop(queue);
                shared.close(CloseReason::new(
                    close_code::POLICY_VIOLATION,
                    format!(
                        "slow client: {} frames queued and not read",
                        shared.capacity
                    ),
                ));
                return false;
            }
            queue.push_back(text);
            queue.len() == 1
        };
        // Only the first frame of a backlog wakes the writer: it takes everything
        // queued before it waits again, so a wake per frame would be wasted work (a
        // lock and an atomic on the writer's task, ten thousand times a broadcast).
        if was_empty {
            shared.ready.notify_one();
            // A parked writer waits on nothing: start it again.
            if let Some(parking) = &shared.parking {
                parking.unpark();
            }
        }
        true
    }

    /// Encodes and queues a frame (see [`Outbox::send_text`]).
    pub fn send(&self, frame: &Frame) -> bool {
        self.send_text(frame.encode().into())
    }

    /// Asks the connection to close with `reason` (the first reason wins).
    pub fn close(&self, reason: CloseReason) {
        self.shared.close(reason);
    }

    /// Waits until the connection is asked to close, and says why.
    pub async fn closed(&self) -> CloseReason {
        self.shared.closer.closed().await
    }

    /// Why the connection closed, once it did.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.shared.closer.reason()
    }

    /// Whether the connection is closing or closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Where this connection's shared state lives: `tuning` asks the CPU to load it
    /// a few connections ahead of a broadcast (it never reads through the pointer).
    pub(crate) fn addr(&self) -> *const () {
        Arc::as_ptr(&self.shared).cast()
    }

    /// Frames waiting to be written.
    pub fn queued(&self) -> usize {
        self.shared.lock().len()
    }

    /// Frames the queue has room for without growing (its capacity, not its bound).
    pub fn slots(&self) -> usize {
        self.shared.lock().capacity()
    }

    /// Gives back the queue's room beyond `slots` frames (queued frames stay): what a
    /// hibernating connection does not need ([`crate::hibernate`]).
    pub fn shrink_to(&self, slots: usize) {
        self.shared.lock().shrink_to(slots);
    }

    /// Makes room for `slots` more frames in one allocation (never past the bound).
    pub fn reserve(&self, slots: usize) {
        let shared = &*self.shared;
        shared.lock().reserve(slots.min(shared.capacity as usize));
    }

    /// Wakes the writer to look again: the connection just hibernated, and a writer
    /// with nothing queued then parks (see [`Parking`]).
    pub(crate) fn nudge_writer(&self) {
        self.shared.ready.notify_one();
    }

    /// Gives a parking outbox its writer's first task.
    pub(crate) fn set_writer(&self, writer: JoinHandle<()>) {
        if let Some(parking) = &self.shared.parking {
            parking.lock().running = Some(writer);
        }
    }

    /// Waits until the writer of a parking outbox has ended for good: called once the
    /// connection closed, it spawns a parked writer again to send the close frame.
    pub(crate) async fn writer_ended(&self) {
        let Some(parking) = &self.shared.parking else {
            return;
        };
        loop {
            let writer = {
                let mut slot = parking.lock();
                match slot.parked.take() {
                    Some((rx, respawn)) => Some(respawn(rx)),
                    None => slot.running.take(),
                }
            };
            // A writer that parked in the meantime sees the close and starts again
            // (its new task is in the slot): wait for that one too.
            match writer {
                Some(writer) => {
                    let _ = writer.await;
                }
                None => return,
            }
        }
    }

    /// Drops a parked writer: its receiver holds this outbox, which holds it, and
    /// neither would ever be freed otherwise (a connection's task dropped unfinished).
    pub(crate) fn forget_parked(&self) {
        if let Some(parking) = &self.shared.parking {
            let parked = parking.lock().parked.take();
            drop(parked);
        }
    }

    /// Whether fewer frames than the high-water mark (half the capacity) are waiting:
    /// the socket reads its client's next frame only then. Also `true` once the writer
    /// is gone: nothing will drain the queue any more, and waiting would be forever.
    pub fn below_high_water(&self) -> bool {
        let shared = &*self.shared;
        shared.lock().len() < shared.high_water as usize
            || shared.writer_gone.load(Ordering::Acquire)
    }

    /// Waits until the writer has taken the queue below the high-water mark (at once if
    /// it is below already). One task at a time may wait: the connection's.
    pub fn drained(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| {
            // Registered before looking, so a drain between the look and the wait
            // still wakes this task.
            self.shared.drained.register(cx.waker());
            if self.below_high_water() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// What the writer takes from the outbox at once (see [`OutboxReceiver::next_batch`]).
#[derive(Debug)]
pub enum Batch {
    /// Frames were moved into the writer's batch.
    Frames,
    /// Close the connection with this reason (frames still queued stay for
    /// [`OutboxReceiver::try_recv`]).
    Close(CloseReason),
    /// Nothing is queued, and the writer may end until the next frame (never from
    /// [`OutboxReceiver::next_batch`]: only a hibernating connection's writer parks,
    /// see [`crate::hibernate`]).
    Park,
}

/// The writer's end of an [`Outbox`].
#[derive(Debug)]
pub struct OutboxReceiver {
    shared: Arc<Shared>,
}

/// Queue slots an emptied queue keeps; a burst that grew it beyond gives the rest
/// back, so an idle connection does not keep a burst's memory.
const KEEP_SLOTS: usize = 16;

impl OutboxReceiver {
    /// The next frame, or the close reason once the connection is asked to close
    /// (frames still queued stay for [`OutboxReceiver::try_recv`]).
    pub async fn recv(&self) -> Outbound {
        let mut batch = VecDeque::new();
        loop {
            match self.next_batch(&mut batch, 1).await {
                Batch::Close(reason) => return Outbound::Close(reason),
                Batch::Frames | Batch::Park => {
                    if let Some(text) = batch.pop_front() {
                        return Outbound::Text(text);
                    }
                }
            }
        }
    }

    /// Waits for frames, then moves up to `max` of them into `batch` (which must be
    /// empty) under one lock; or returns the close reason once the connection is asked
    /// to close.
    ///
    /// When everything queued fits, the two queues are swapped: `batch` leaves its
    /// emptied buffer to the senders, so a busy connection reuses the same two
    /// buffers instead of allocating.
    pub async fn next_batch(&self, batch: &mut VecDeque<Utf8Bytes>, max: usize) -> Batch {
        self.next_batch_or_park(batch, max, || false).await
    }

    /// [`OutboxReceiver::next_batch`], or [`Batch::Park`] when nothing is queued and
    /// `park` says the writer may end (asked each time it would wait).
    pub(crate) async fn next_batch_or_park(
        &self,
        batch: &mut VecDeque<Utf8Bytes>,
        max: usize,
        park: impl Fn() -> bool,
    ) -> Batch {
        debug_assert!(batch.is_empty());
        loop {
            // Registered before looking, so a push between the look and the wait is
            // not missed (`notify_one` also leaves a permit when nobody waits).
            let ready = self.shared.ready.notified();
            // One atomic load on the hot path; the reason's lock only once closed.
            if self.shared.closer.is_closed() {
                if let Some(reason) = self.shared.closer.reason() {
                    return Batch::Close(reason);
                }
            }
            {
                let mut queue = self.shared.lock();
                let queued = queue.len();
                if queued > max {
                    batch.extend(queue.drain(..max));
                } else if queued > 0 {
                    std::mem::swap(&mut *queue, batch);
                } else if queue.capacity() > KEEP_SLOTS {
                    // A burst grew it; an idle connection should not keep that memory.
                    queue.shrink_to(4);
                }
                if queued > 0 {
                    let high_water = self.shared.high_water as usize;
                    let crossed = queued >= high_water && queue.len() < high_water;
                    drop(queue);
                    if crossed {
                        // The socket stopped reading at the mark: it may read again.
                        self.shared.drained.wake();
                    }
                    return Batch::Frames;
                }
            }
            if batch.capacity() > KEEP_SLOTS {
                batch.shrink_to(4);
            }
            if park() {
                return Batch::Park;
            }
            ready.await;
        }
    }

    /// Ends the writer until the next frame or the end (see [`Parking`]): keeps this
    /// receiver and `respawn` in the outbox, unless a frame or the close came in since
    /// the writer looked (then `respawn` starts it again at once). Only on an outbox
    /// made by [`Outbox::parking`]; elsewhere the writer starts again at once.
    pub(crate) fn park(self, respawn: Respawn) {
        let shared = self.shared.clone();
        let Some(parking) = &shared.parking else {
            drop(respawn(self));
            return;
        };
        let mut slot = parking.lock();
        // This task is ending: its handle would keep its memory.
        slot.running = None;
        if shared.closer.is_closed() || !shared.lock().is_empty() {
            slot.running = Some(respawn(self));
        } else {
            slot.parked = Some((self, respawn));
        }
    }

    /// A queued frame, if any, without waiting.
    pub fn try_recv(&self) -> Option<Utf8Bytes> {
        let mut queue = self.shared.lock();
        let text = queue.pop_front();
        if queue.is_empty() && queue.capacity() > KEEP_SLOTS {
            // A burst grew the queue; an idle connection should not keep that memory.
            queue.shrink_to(4);
        }
        text
    }

    /// Waits until the connection is asked to close.
    pub async fn closed(&self) -> CloseReason {
        self.shared.closer.closed().await
    }

    /// Asks the connection to close.
    pub fn close(&self, reason: CloseReason) {
        self.shared.close(reason);
    }
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        self.shared.writer_gone.store(true, Ordering::Release);
        // A socket waiting for the queue to drain would wait forever.
        self.shared.drained.wake();
    }
}
