//! Looking inside one connection and one channel: counters kept per connection and
//! per joined channel, for an observer (section 3's `top`) to sample.
//!
//! Telemetry ([`crate::telemetry`]) tells a metrics backend what happens, summed by
//! route; it cannot answer "which connection is this node busy with?". An
//! [`Inspector`] can: give one to [`crate::endpoint::EndpointBuilder::inspector`] and
//! every connection of that endpoint registers itself, with
//!
//! - messages (text and binary frames) and bytes received and sent, counted as they
//!   pass between the WebSocket and the socket's state machine;
//! - its outbound queue (frames waiting in its [`Outbox`]), read when sampled;
//! - its joined channels, each with its mailbox depth (read when sampled), the
//!   messages it handled (client pushes, `handle_info`, intercepted broadcasts) and
//!   the frames it sent itself (pushes and replies; broadcasts that go straight from
//!   the pubsub to the socket are counted on the connection and on the topic).
//!
//! The cost is paid where it must be cheap: on the hot path a message is a relaxed
//! `fetch_add` on a counter only its own connection writes (no lock, no allocation),
//! and what the writer sends is summed in its own task and added once per batch it
//! flushes. The registry's lock is taken when a connection opens or closes, and once
//! per [`Inspector::sample`]. Without an inspector nothing is counted and a
//! connection carries nothing for one: its writer writes to the WebSocket directly
//! and its reader is not wrapped (the socket counts what it reads, through its
//! assigns), so its tasks are as small as before inspectors existed.
//!
//! A sample copies every connection's counters (a few microseconds per connection);
//! whoever serves it ranks and keeps the busiest few, never the whole list (section
//! 3's `GET /observe/connections`). Measured: `cargo run -p section3-production
//! --release --example inspect_cost`.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use futures::Sink;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::outbox::{Outbound, Outbox};
use crate::socket::Inbound;

/// Every inspected connection of an endpoint. Cheap to share (`Arc`).
#[derive(Default)]
pub struct Inspector {
    connections: Mutex<HashMap<u64, Arc<ConnectionStats>>>,
}

impl std::fmt::Debug for Inspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspector")
            .field("connections", &self.len())
            .finish()
    }
}

impl Inspector {
    /// An empty registry.
    pub fn new() -> Arc<Inspector> {
        Arc::default()
    }

    /// Connections registered now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no connection is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of every connection's counters and queues, by connection id.
    ///
    /// The lock is held only to clone the pointers; the counters are read after it,
    /// so connections opening and closing meanwhile do not wait for the copy.
    pub fn sample(&self) -> Vec<ConnectionSample> {
        let connections: Vec<Arc<ConnectionStats>> = self.lock().values().cloned().collect();
        let now = Instant::now();
        let mut samples: Vec<ConnectionSample> =
            connections.iter().map(|stats| stats.sample(now)).collect();
        samples.sort_unstable_by_key(|sample| sample.id);
        samples
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<ConnectionStats>>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers connection `id`; it leaves the registry when the returned value drops.
    pub(crate) fn register(
        self: &Arc<Self>,
        id: u64,
        socket_id: Option<String>,
        outbox: Outbox,
        outbound_capacity: usize,
    ) -> Registration {
        let stats = Arc::new(ConnectionStats {
            id,
            socket_id,
            opened: Instant::now(),
            outbox,
            outbound_capacity,
            frames_in: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            channels: Mutex::new(Vec::new()),
        });
        self.lock().insert(id, stats.clone());
        Registration {
            inspector: Arc::downgrade(self),
            stats,
        }
    }
}

/// One connection's counters, shared by its reader, its writer, its channels and the
/// registry.
pub(crate) struct ConnectionStats {
    id: u64,
    socket_id: Option<String>,
    opened: Instant,
    outbox: Outbox,
    outbound_capacity: usize,
    frames_in: AtomicU64,
    bytes_in: AtomicU64,
    frames_out: AtomicU64,
    bytes_out: AtomicU64,
    /// Weak: a channel's counters live as long as the channel; ended ones are pruned
    /// when a channel joins and when sampled.
    channels: Mutex<Vec<Weak<ChannelStats>>>,
}

impl ConnectionStats {
    fn sample(&self, now: Instant) -> ConnectionSample {
        let channels = {
            let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
            channels.retain(|c| c.strong_count() > 0);
            channels
                .iter()
                .filter_map(Weak::upgrade)
                .collect::<Vec<_>>()
        };
        let mut channels: Vec<ChannelSample> =
            channels.iter().map(|channel| channel.sample(now)).collect();
        channels.sort_unstable_by(|a, b| a.topic.cmp(&b.topic));
        ConnectionSample {
            id: self.id,
            socket_id: self.socket_id.clone(),
            age_ms: millis(now - self.opened),
            frames_in: self.frames_in.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            frames_out: self.frames_out.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            outbound_queued: self.outbox.queued(),
            outbound_capacity: self.outbound_capacity,
            channels,
        }
    }

    /// Counters for a channel joining `topic` on this connection.
    pub(crate) fn channel(
        &self,
        topic: Arc<str>,
        mailbox: Box<dyn MailboxDepth>,
        mailbox_capacity: usize,
    ) -> Arc<ChannelStats> {
        let stats = Arc::new(ChannelStats {
            topic,
            joined: Instant::now(),
            handled: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            mailbox,
            mailbox_capacity,
        });
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.retain(|c| c.strong_count() > 0);
        channels.push(Arc::downgrade(&stats));
        stats
    }
}

/// Keeps a connection in its [`Inspector`] while it lives; travels to the
/// connection's channels in its socket's assigns ([`InspectedSocket`]).
pub(crate) struct Registration {
    inspector: Weak<Inspector>,
    stats: Arc<ConnectionStats>,
}

impl Registration {
    /// What the connection's channels find in the socket's assigns.
    pub(crate) fn socket(&self) -> InspectedSocket {
        InspectedSocket(self.stats.clone())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(inspector) = self.inspector.upgrade() {
            inspector.lock().remove(&self.stats.id);
        }
    }
}

/// An inspected connection, as its channels see it in `SocketInfo::assigns`: where a
/// joining channel registers its own counters.
#[derive(Clone)]
pub struct InspectedSocket(pub(crate) Arc<ConnectionStats>);

/// How deep a channel's mailbox is, read when sampled (the mailbox is generic over
/// the channel's messages; this erases the type).
pub(crate) trait MailboxDepth: Send + Sync {
    fn depth(&self) -> usize;
}

/// One joined channel's counters.
pub(crate) struct ChannelStats {
    topic: Arc<str>,
    joined: Instant,
    handled: AtomicU64,
    sent: AtomicU64,
    mailbox: Box<dyn MailboxDepth>,
    mailbox_capacity: usize,
}

impl ChannelStats {
    fn sample(&self, now: Instant) -> ChannelSample {
        ChannelSample {
            topic: self.topic.to_string(),
            age_ms: millis(now - self.joined),
            handled: self.handled.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            mailbox: self.mailbox.depth(),
            mailbox_capacity: self.mailbox_capacity,
        }
    }

    /// One message taken from the mailbox.
    pub(crate) fn handled(&self) {
        self.handled.fetch_add(1, Ordering::Relaxed);
    }

    /// One frame the channel sent itself (a push or a reply).
    pub(crate) fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// One connection's counters at one moment. Counters only grow while the connection
/// lives; ids are never reused by an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionSample {
    /// The endpoint's number for the connection (the `conn` field of its log lines).
    pub id: u64,
    /// The socket id `connect` gave it (`user_socket:42`), if any.
    pub socket_id: Option<String>,
    /// Milliseconds since it opened.
    pub age_ms: u64,
    /// Messages received from the client (text and binary frames; pings not counted).
    pub frames_in: u64,
    /// Bytes of those messages.
    pub bytes_in: u64,
    /// Messages handed to the WebSocket for the client (close frames not counted).
    pub frames_out: u64,
    /// Bytes of those messages.
    pub bytes_out: u64,
    /// Frames waiting in its outbound queue now.
    pub outbound_queued: usize,
    /// The most its outbound queue may hold (a full queue closes it as slow).
    pub outbound_capacity: usize,
    /// Its joined channels, by topic.
    pub channels: Vec<ChannelSample>,
}

/// One joined channel's counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSample {
    /// The joined topic (`user:42`).
    pub topic: String,
    /// Milliseconds since it was joined (a second join of a topic starts again).
    pub age_ms: u64,
    /// Messages its task took from its mailbox: client pushes, `handle_info`
    /// messages, intercepted broadcasts.
    pub handled: u64,
    /// Frames it sent itself: pushes and replies.
    pub sent: u64,
    /// Messages waiting in its mailbox now.
    pub mailbox: usize,
    /// The most its mailbox may hold (a push beyond gets "channel busy").
    pub mailbox_capacity: usize,
}

impl ConnectionStats {
    /// A frame the connection read from its client (text and binary count).
    pub(crate) fn received(&self, message: &Inbound) {
        let bytes = match message {
            Inbound::Text(text) => text.len(),
            Inbound::Binary(bytes) => bytes.len(),
            _ => return,
        };
        // Relaxed: a counter read by an observer, ordering nothing else.
        self.frames_in.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// The outbound sink of a connection, counting what it writes.
///
/// Counted here per frame, published to the shared counters once per flush: the
/// writer flushes once per batch (up to 64 frames), so a fan-out burst touches the
/// connection's counters once, not once per frame.
///
/// Only an inspected connection's writer has one, and it keeps the connection's
/// [`Registration`] until the writer ends: a connection without an inspector writes
/// to its sink directly, and its tasks carry nothing for one.
pub(crate) struct CountOut<S> {
    pub(crate) inner: S,
    pub(crate) registration: Registration,
    pub(crate) unpublished: (u64, u64),
}

impl<S> CountOut<S> {
    pub(crate) fn new(inner: S, registration: Registration) -> Self {
        CountOut {
            inner,
            registration,
            unpublished: (0, 0),
        }
    }

    fn publish(&mut self) {
        let (frames, bytes) = std::mem::take(&mut self.unpublished);
        if frames > 0 {
            let stats = &self.registration.stats;
            stats.frames_out.fetch_add(frames, Ordering::Relaxed);
            stats.bytes_out.fetch_add(bytes, Ordering::Relaxed);
        }
    }
}

impl<S: Sink<Outbound> + Unpin> Sink<Outbound> for CountOut<S> {
    type Error = S::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        Pin::new(&mut self.inner).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Outbound) -> Result<(), S::Error> {
        if let Outbound::Text(text) = &item {
            let bytes = text.len() as u64;
            self.unpublished.0 += 1;
            self.unpublished.1 += bytes;
        }
        Pin::new(&mut self.inner).start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        // Published when the flush starts: what was handed over is counted even if
        // the client never reads it.
        self.publish();
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.publish();
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
