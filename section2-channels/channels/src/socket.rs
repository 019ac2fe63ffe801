//! One client connection: the socket state machine that reads frames, answers the
//! control events, routes the rest to channel tasks, and closes with a reason.
//!
//! It is independent of axum: [`Connection::run`] reads any stream of [`Inbound`]
//! messages and writes through an [`Outbox`], so the same code serves a real
//! WebSocket, the in-memory connections tests drive on a paused clock, and the
//! property tests that throw random frames at it.
//!
//! What it answers, exactly as Phoenix does (see the protocol notes in the slides):
//! heartbeats on `phoenix`; `unmatched topic` (with a null join ref) for a topic no
//! route serves or a push to a topic not joined; `too many channels joined`; a
//! duplicate join closes the old channel (`phx_close` with the old join ref) and joins
//! again; a leave is answered ok and followed by `phx_close`; a crashed channel becomes
//! `phx_error`; a push carrying an outdated join ref is ignored.
//!
//! Two promises beyond the frame-by-frame answers:
//!
//! - **back-pressure, not blame**: while the outbox holds half its capacity, the socket
//!   reads nothing more from its client; TCP then slows the client down. A client is
//!   disconnected as slow only when its socket takes nothing for `write_timeout`, or
//!   when what the server sends on its own (broadcasts) fills the outbox;
//! - **frames in order, per topic**: a leave is answered (by the channel, after what
//!   its mailbox still holds) before the next frame for that topic is handled, so a
//!   join right after a leave is a fresh join, not a duplicate.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use futures::{Sink, SinkExt, Stream, StreamExt};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::channel::SocketInfo;
use crate::hibernate::{Hibernate, Park, Sleeper};
use crate::inspect::InspectedSocket;
use crate::outbox::{Batch, CloseReason, Outbound, Outbox, OutboxReceiver, close_code};
use crate::protocol::{self, BinaryPush, Frame, Payload, Status};
use crate::pubsub::{Broadcast, PubSub, Subscriber, Subscription};
use crate::router::{ChannelRouter, ClientMail, Exit, ExitKind, Exits, InboxError, StartArgs};
use crate::telemetry::{JoinResult, Telemetry, TelemetryEvent, UNMATCHED};

/// The bounds of one connection. Every queue and buffer is bounded; the defaults
/// suit many small idle connections (a chat, a feed), not bulk transfer.
///
/// The first five fields configure the WebSocket layer (tungstenite, through axum);
/// [`SocketConfig::tungstenite_defaults`] shows what it does when nobody tunes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketConfig {
    /// WebSocket read buffer per connection, in bytes: allocated (and zeroed, so
    /// resident) when the connection opens, and kept while it lives. A message larger
    /// than it still arrives: the buffer grows to fit it.
    pub read_buffer_size: usize,
    /// Outgoing bytes the WebSocket gathers before writing to the socket; 0 writes
    /// each frame as it comes (one system call per frame). The writer flushes after
    /// every batch it takes from the outbox, so nothing waits for the buffer to fill:
    /// it only decides how many frames of a backlog share one `write`. The buffer
    /// keeps the capacity a backlog grew it to (about 1.6x this size).
    pub write_buffer_size: usize,
    /// Most outgoing bytes the WebSocket may hold that the kernel has not taken yet;
    /// a frame that would go past it fails and the connection closes. Must be larger
    /// than `write_buffer_size` (tungstenite panics otherwise).
    pub max_write_buffer_size: usize,
    /// Largest message accepted from a client, in bytes; larger closes the
    /// connection with 1009.
    pub max_message_size: usize,
    /// Largest single frame accepted from a client, in bytes (a message may come in
    /// several frames). Checked on the frame's header, before its bytes arrive: the
    /// WebSocket reserves room for a frame as soon as it is announced.
    pub max_frame_size: usize,
    /// Frames queued for a client, at most. While half of them are queued the socket
    /// reads nothing more from the client (TCP slows it down), so a client's own
    /// requests never fill the queue; what fills it is what the server sends on its own
    /// (broadcasts, pushes, replies its channels still owe). A client that lets it
    /// fill cannot keep up and is disconnected (1008).
    pub outbound_capacity: usize,
    /// Channels one connection may join at once.
    pub max_channels: usize,
    /// Messages waiting in one channel's mailbox; a push to a full mailbox gets an
    /// error reply instead of growing it.
    pub mailbox_capacity: usize,
    /// A connection with no frame from its client for this long is closed (1001).
    pub idle_timeout: Duration,
    /// A client whose socket takes nothing for this long is disconnected (1008): once a
    /// write to it waits, the batch it belongs to (at most [`WRITE_BATCH`] frames) must
    /// be taken within this time. It is what ends a client that stops reading while the
    /// socket has stopped reading it, so its queue never fills.
    pub write_timeout: Duration,
    /// How long the writer waits on a client while closing.
    pub close_timeout: Duration,
    /// A connection with no frame from its client for this long hibernates: it gives
    /// back what it does not need while quiet, and takes it again on its next frame
    /// (see [`crate::hibernate`]). `None` (the default) never does; it only counts on
    /// an endpoint given a hook ([`crate::endpoint::EndpointBuilder::hibernation`]).
    pub hibernate_after: Option<Duration>,
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig {
            // 1 KiB: an idle joined connection costs about 6.0 KB (4 KiB: 9.1 KB).
            // Channel frames are a few hundred bytes; a larger message still arrives
            // (the buffer grows to fit it and keeps that size), in one read per KiB:
            // an 8 KiB message takes 9 reads instead of 3. Measured trade in
            // slides/src/section3/part1/buffer-tradeoffs.md.
            read_buffer_size: 1024,
            // A backlog of small frames (a fan-out) leaves in one `write` per 4 KiB
            // instead of one per frame: measured (scale fanout, 10,000 subscribers),
            // server CPU per delivered message fell from about 2.3 us at 0 to under
            // 1 us. The price: a connection that once had 4 KiB waiting keeps a
            // 6.4 KiB buffer (8 KiB would keep 12.9 KiB); an idle one pays nothing.
            // See slides/src/scale-lab/findings.md.
            write_buffer_size: 4 * 1024,
            // The outbox holds the queue; the WebSocket holds what it gathers plus
            // the frame the kernel could not take yet (tokio-tungstenite waits for it
            // before taking the next), so this bounds the largest frame the server
            // may send.
            max_write_buffer_size: 1024 * 1024,
            max_message_size: 64 * 1024,
            max_frame_size: 64 * 1024,
            outbound_capacity: 256,
            max_channels: 100,
            mailbox_capacity: 64,
            idle_timeout: Duration::from_secs(60),
            // A third of phoenix.js's heartbeat period (30 s): a client whose socket
            // takes nothing for this long has stopped reading, or is gone (a peer that
            // vanished leaves TCP retrying for many minutes).
            write_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(1),
            hibernate_after: None,
        }
    }
}

impl SocketConfig {
    /// tungstenite's own WebSocket settings (0.29, `WebSocketConfig::default()`), what
    /// a server gets when nobody tunes them: 128 KiB read and write buffers, an
    /// unbounded write buffer, 64 MiB messages and 16 MiB frames. The framework's own
    /// bounds (outbox, channels, mailbox, timeouts) are this type's defaults.
    // ANCHOR: tungstenite_defaults
    pub fn tungstenite_defaults() -> Self {
        SocketConfig {
            read_buffer_size: 128 * 1024,
            write_buffer_size: 128 * 1024,
            max_write_buffer_size: usize::MAX,
            max_message_size: 64 << 20,
            max_frame_size: 16 << 20,
            ..SocketConfig::default()
        }
    }
    // ANCHOR_END: tungstenite_defaults

    /// Why this configuration cannot serve a connection, if it cannot. tungstenite
    /// panics (in the connection's task, after the upgrade) when the write buffer's
    /// limit is not above the size it gathers; better to say so at start-up.
    pub fn problem(&self) -> Option<String> {
        (self.max_write_buffer_size <= self.write_buffer_size).then(|| {
            format!(
                "max_write_buffer_size ({}) must be larger than write_buffer_size ({}): \
                 the WebSocket gathers write_buffer_size bytes before writing, so its \
                 limit must leave room for at least one more frame",
                self.max_write_buffer_size, self.write_buffer_size
            )
        })
    }
}

/// A message from the client, whatever the transport.
#[derive(Debug, Clone)]
pub enum Inbound {
    /// A text frame.
    Text(Utf8Bytes),
    /// A binary frame.
    Binary(Vec<u8>),
    /// A ping or pong: it shows the client is alive.
    Control,
    /// The client closed the connection.
    Closed,
    /// A message above the size limit.
    TooBig,
    /// A text message that is not valid UTF-8.
    InvalidUtf8,
    /// The transport failed.
    Error(String),
}

/// Answers a topic's `"disconnect"` broadcast by closing the connection: how the
/// server logs out every connection of one socket id.
struct DisconnectOnBroadcast(Outbox);

impl Subscriber for DisconnectOnBroadcast {
    fn deliver(&self, broadcast: &Arc<Broadcast>) {
        if broadcast.event() == "disconnect" {
            self.0.close(CloseReason::new(
                close_code::GOING_AWAY,
                "disconnected by the server",
            ));
        }
    }
}

/// The broadcast that closes every connection whose socket id is `socket_id`.
pub fn disconnect_broadcast(socket_id: &str) -> Broadcast {
    Broadcast::new(socket_id, "disconnect", Payload::new())
}

struct JoinedChannel {
    join_ref: String,
    inbox: Box<dyn crate::router::Inbox>,
    abort: AbortHandle,
    /// The route's pattern, and who to tell when the channel goes.
    route: Arc<str>,
    telemetry: Telemetry,
    /// Set once the client asked to leave: the channel answers the leave after what its
    /// mailbox still holds, then ends. Until its end is handled, frames for its topic
    /// wait (see `Connection::finish_leaving`). Boxed: every joined channel carries the
    /// field, only one on its way out fills it.
    leaving: Option<Box<Leaving>>,
}

/// A leave handed to its channel.
struct Leaving {
    /// The leave's ref, for the answer the socket gives if the channel cannot.
    msg_ref: Option<String>,
}

/// How long the socket waits for a leaving channel to finish what its mailbox holds
/// and answer the leave, when a frame for its topic arrives (Phoenix gives a channel
/// replaced by a duplicate join 5 s to shut down). Past it the channel is stopped and
/// the socket answers the leave.
pub const LEAVE_TIMEOUT: Duration = Duration::from_secs(5);

impl Drop for JoinedChannel {
    /// Every way a joined channel ends (left, stopped, crashed, replaced, its
    /// connection gone) removes it from the connection's map: telling telemetry here
    /// counts each end exactly once.
    fn drop(&mut self) {
        self.telemetry
            .emit(|| TelemetryEvent::ChannelLeft { topic: &self.route });
    }
}

/// The channels one connection has joined, by topic.
///
/// A list, not a `HashMap`: a connection joins one or a few channels (at most
/// `max_channels`), and looking through a few topics costs no more than hashing one.
/// It is also what an idle connection keeps: one entry of about 100 bytes, where a
/// hash table's first allocation holds four buckets (436 bytes).
#[derive(Default)]
struct JoinedChannels(Vec<(String, JoinedChannel)>);

impl JoinedChannels {
    fn get(&self, topic: &str) -> Option<&JoinedChannel> {
        self.0.iter().find(|(t, _)| t == topic).map(|(_, c)| c)
    }

    fn get_mut(&mut self, topic: &str) -> Option<&mut JoinedChannel> {
        self.0.iter_mut().find(|(t, _)| t == topic).map(|(_, c)| c)
    }

    /// Whether the channel of `topic` was asked to leave and has not ended yet.
    fn is_leaving(&self, topic: &str) -> bool {
        self.get(topic).is_some_and(|c| c.leaving.is_some())
    }

    fn remove(&mut self, topic: &str) -> Option<JoinedChannel> {
        let at = self.0.iter().position(|(t, _)| t == topic)?;
        Some(self.0.swap_remove(at).1)
    }

    /// Adds (or replaces) the channel of `topic`.
    fn insert(&mut self, topic: String, channel: JoinedChannel) {
        match self.0.iter_mut().find(|(t, _)| *t == topic) {
            Some((_, old)) => *old = channel,
            None => {
                // Room for exactly one more: a `Vec`'s first push reserves four.
                self.0.reserve_exact(1);
                self.0.push((topic, channel));
            }
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn drain(&mut self) -> impl Iterator<Item = JoinedChannel> + '_ {
        self.0.drain(..).map(|(_, channel)| channel)
    }
}

/// The state of one connection.
pub struct Connection {
    /// Shared with the endpoint (one copy for all its connections, not one each).
    config: Arc<SocketConfig>,
    router: Arc<ChannelRouter>,
    pubsub: Arc<dyn PubSub>,
    socket: Arc<SocketInfo>,
    outbox: Outbox,
    channels: JoinedChannels,
    exits: Arc<Exits>,
    shutdown: watch::Receiver<bool>,
    /// Set only on a hibernating endpoint (see [`crate::hibernate`]).
    sleeper: Option<Box<Sleeper>>,
}

impl Connection {
    /// A connection for an accepted socket; frames go out through `outbox`.
    pub fn new(
        config: impl Into<Arc<SocketConfig>>,
        router: Arc<ChannelRouter>,
        pubsub: Arc<dyn PubSub>,
        socket: SocketInfo,
        outbox: Outbox,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Connection {
            config: config.into(),
            router,
            pubsub,
            socket: Arc::new(socket),
            outbox,
            channels: JoinedChannels::default(),
            exits: Arc::default(),
            shutdown,
            sleeper: None,
        }
    }

    /// Hibernates through `hook` after `config.hibernate_after` without a frame from
    /// the client (nothing happens while that is `None`).
    pub(crate) fn hibernation(mut self, hook: Arc<dyn Hibernate>, socket: Arc<dyn Park>) -> Self {
        if let Some(period) = self.config.hibernate_after {
            self.sleeper = Some(Box::new(Sleeper::new(
                hook,
                socket,
                period,
                self.config.idle_timeout,
            )));
        }
        self
    }

    /// The idle clock rang: on a hibernating endpoint, before the idle timeout, the
    /// hook hibernates and this says when to look again; `None` closes.
    fn sleep(&mut self) -> Option<tokio::time::Instant> {
        self.sleeper.as_mut()?.idle(&self.outbox)
    }

    /// When the idle clock should ring next, after a frame from the client (waking a
    /// hibernated connection first).
    fn active(&mut self) -> tokio::time::Instant {
        match &mut self.sleeper {
            Some(sleeper) => sleeper.activity(&self.outbox, self.config.idle_timeout),
            None => tokio::time::Instant::now() + self.config.idle_timeout,
        }
    }

    /// Serves the connection until the client goes or the server closes it; returns
    /// the reason. Stops every channel before returning.
    pub async fn run(mut self, mut inbound: impl Stream<Item = Inbound> + Unpin) -> CloseReason {
        let _disconnect = self.socket.id.clone().map(|id| {
            Subscription::new(
                self.pubsub.clone(),
                id,
                Arc::new(DisconnectOnBroadcast(self.outbox.clone())),
            )
        });
        let idle = tokio::time::sleep_until(self.active());
        tokio::pin!(idle);
        let outbox = self.outbox.clone();
        let exits = self.exits.clone();
        let mut shutdown = self.shutdown.clone();
        let reason = loop {
            // Back-pressure: with half the outbox queued, read nothing more until the
            // writer has taken it below that. The client's frames wait in its socket,
            // then TCP stops the client; reading on would only queue replies faster
            // than they leave, until the full outbox looked like a client's fault.
            let reading = outbox.below_high_water();
            // The select only says what happened; the work is done after it, once its
            // futures are dropped. Awaiting `on_inbound` inside a branch would keep
            // every branch's future alive beside it, and an idle connection's task
            // would pay for both at once.
            let event = tokio::select! {
                biased;
                reason = outbox.closed() => Event::Closed(reason),
                ended = exits.next() => Event::Exits(ended),
                true = async { shutdown.wait_for(|stop| *stop).await.is_ok() } => Event::Shutdown,
                message = inbound.next(), if reading => Event::Inbound(message),
                () = outbox.drained(), if !reading => Event::Drained,
                // A client held back is not idle: its frames are waiting to be read.
                () = &mut idle, if reading => Event::Idle,
            };
            match event {
                Event::Closed(reason) => break reason,
                Event::Exits(ended) => {
                    for exit in ended {
                        self.on_exit(exit);
                    }
                }
                Event::Shutdown => self.outbox.close(CloseReason::new(
                    close_code::GOING_AWAY,
                    "server shutting down",
                )),
                Event::Inbound(message) => {
                    idle.as_mut().reset(self.active());
                    self.on_inbound(message).await;
                }
                Event::Drained => idle.as_mut().reset(self.active()),
                Event::Idle => match self.sleep() {
                    // Quiet for the hibernation period, not yet for the idle timeout.
                    Some(next) => idle.as_mut().reset(next),
                    None => self.outbox.close(CloseReason::new(
                        close_code::GOING_AWAY,
                        format!(
                            "idle timeout: no frame for {} s",
                            self.config.idle_timeout.as_secs()
                        ),
                    )),
                },
            }
        };
        for channel in self.channels.drain() {
            channel.abort.abort();
        }
        let socket_id = self.socket.id.as_deref().unwrap_or("-");
        if reason.code == close_code::POLICY_VIOLATION || reason.code >= 1002 {
            tracing::warn!(socket_id, code = reason.code, reason = %reason.reason, "connection closed");
        } else {
            tracing::debug!(socket_id, code = reason.code, reason = %reason.reason, "connection closed");
        }
        // A hibernating connection's writer may have ended meanwhile (its outbox
        // holds it): the close starts it again, and the connection ends after it.
        // Elsewhere the writer's task is awaited by whoever spawned it.
        self.outbox.writer_ended().await;
        reason
    }

    async fn on_inbound(&mut self, message: Option<Inbound>) {
        // Counted here, not by a wrapper around `inbound`: a connection without an
        // inspector (no assigns to look in, mostly) carries nothing for one.
        if let (Some(message), Some(InspectedSocket(stats))) =
            (&message, self.socket.assigns.get::<InspectedSocket>())
        {
            stats.received(message);
        }
        match message {
            Some(Inbound::Text(text)) => self.on_text(&text).await,
            Some(Inbound::Binary(bytes)) => self.on_binary(&bytes),
            Some(Inbound::Control) => {}
            None | Some(Inbound::Closed) => self
                .outbox
                .close(CloseReason::new(1000, "closed by the client")),
            Some(Inbound::TooBig) => self.outbox.close(CloseReason::new(
                close_code::MESSAGE_TOO_BIG,
                format!("message larger than {} bytes", self.config.max_message_size),
            )),
            Some(Inbound::InvalidUtf8) => self.outbox.close(CloseReason::new(
                close_code::INVALID_PAYLOAD,
                "text frame is not valid UTF-8",
            )),
            Some(Inbound::Error(e)) => self
                .outbox
                .close(CloseReason::new(close_code::PROTOCOL_ERROR, e)),
        }
    }

    fn on_binary(&mut self, bytes: &[u8]) {
        match BinaryPush::parse(bytes) {
            // Well-formed: answer it, so the client's push fails fast and clearly.
            Some(push) => self.reply(
                None,
                Some(&push.msg_ref),
                &push.topic,
                Status::Error,
                json!({ "reason": "binary payloads are not supported; send JSON text frames" }),
            ),
            None => self.outbox.close(CloseReason::new(
                close_code::UNSUPPORTED_DATA,
                "binary frame is not a Phoenix v2 push",
            )),
        }
    }

    async fn on_text(&mut self, text: &str) {
        let frame = match Frame::decode(text) {
            Ok(frame) => frame,
            Err(error) => {
                match error.reply_to() {
                    Some((msg_ref, topic)) => self.reply(
                        None,
                        Some(msg_ref),
                        topic,
                        Status::Error,
                        json!({ "reason": error.to_string() }),
                    ),
                    None => self.outbox.close(CloseReason::new(
                        close_code::PROTOCOL_ERROR,
                        format!("bad frame: {error}"),
                    )),
                }
                return;
            }
        };
        let payload = match frame.payload {
            Value::Object(payload) => payload,
            _ => unreachable!("decode checks the payload is an object"),
        };
        let Frame {
            join_ref,
            msg_ref,
            topic,
            event,
            ..
        } = frame;

        if topic == protocol::PHOENIX_TOPIC && event == protocol::HEARTBEAT {
            self.reply(None, msg_ref.as_deref(), &topic, Status::Ok, json!({}));
            return;
        }
        // Frames in order, per topic: a leave is answered before the next frame for
        // its topic is handled. Otherwise a join right after a leave would find the
        // channel still there, take itself for a duplicate join, and stop the channel
        // before it answered the leave.
        if self.channels.is_leaving(&topic) {
            // Boxed, like the join: rare, and it would grow every connection's future.
            Box::pin(self.finish_leaving(&topic)).await;
        }
        match event.as_str() {
            // Boxed: joins are rare, and inline they would make every connection's
            // future (its memory while idle) as big as the join path.
            protocol::JOIN => Box::pin(self.join(join_ref, msg_ref, topic, payload)).await,
            protocol::LEAVE => self.leave(join_ref, msg_ref, topic),
            _ => self.push(join_ref, msg_ref, topic, event, payload),
        }
    }

    async fn join(
        &mut self,
        join_ref: Option<String>,
        msg_ref: Option<String>,
        topic: String,
        payload: Payload,
    ) {
        // phoenix.js sends join_ref == ref on a join; accept a null join_ref too.
        let Some(join_ref) = join_ref.or_else(|| msg_ref.clone()) else {
            // No ref at all: nothing to reply to and no way to address the channel.
            return;
        };
        if let Some(old) = self.channels.remove(&topic) {
            // A second join of a joined topic replaces the channel. The old one is
            // closed with its own join ref, which phoenix.js recognises as outdated.
            old.abort.abort();
            self.outbox.send(&Frame::lifecycle(
                &old.join_ref,
                &topic,
                protocol::CLOSE,
                json!({}),
            ));
            tracing::debug!(topic, "duplicate join: closed the previous channel");
        }
        let telemetry = &self.router.telemetry;
        if self.channels.len() >= self.config.max_channels {
            let route = self
                .router
                .find(&topic)
                .map_or(UNMATCHED, |(route, _)| route);
            telemetry.emit(|| TelemetryEvent::ChannelJoined {
                topic: route,
                result: JoinResult::TooMany,
            });
            self.reply(
                Some(&join_ref),
                msg_ref.as_deref(),
                &topic,
                Status::Error,
                json!({ "reason": "too many channels joined" }),
            );
            return;
        }
        let Some((pattern, route)) = self.router.find(&topic) else {
            telemetry.emit(|| TelemetryEvent::ChannelJoined {
                topic: UNMATCHED,
                result: JoinResult::Unmatched,
            });
            tracing::warn!(topic, "join refused: no channel serves this topic");
            self.unmatched(msg_ref.as_deref(), &topic);
            return;
        };
        let started = route.start(StartArgs {
            topic: topic.clone(),
            join_ref: join_ref.clone(),
            msg_ref: msg_ref.clone(),
            payload,
            socket: self.socket.clone(),
            state: self.router.state.clone(),
            outbox: self.outbox.clone(),
            pubsub: self.pubsub.clone(),
            exits: self.exits.clone(),
            mailbox_capacity: self.config.mailbox_capacity,
            route: pattern.clone(),
            telemetry: telemetry.clone(),
        });
        let pattern = pattern.clone();
        // Like Phoenix, the socket waits for the join: frames sent after a join are
        // handled after it, by the channel it created.
        let joined = started.joined.await;
        let telemetry = &self.router.telemetry;
        telemetry.emit(|| TelemetryEvent::ChannelJoined {
            topic: &pattern,
            result: match joined {
                Ok(true) => JoinResult::Ok,
                Ok(false) => JoinResult::Refused,
                Err(_) => JoinResult::Crashed,
            },
        });
        match joined {
            Ok(true) => {
                self.channels.insert(
                    topic,
                    JoinedChannel {
                        join_ref,
                        inbox: started.inbox,
                        abort: started.abort,
                        route: pattern,
                        telemetry: telemetry.clone(),
                        leaving: None,
                    },
                );
            }
            Ok(false) => {}
            Err(_) => {
                tracing::error!(topic, "join crashed");
                self.reply(
                    Some(&join_ref),
                    msg_ref.as_deref(),
                    &topic,
                    Status::Error,
                    json!({ "reason": "join crashed" }),
                );
            }
        }
    }

    fn leave(&mut self, join_ref: Option<String>, msg_ref: Option<String>, topic: String) {
        match self.current(&topic, join_ref.as_deref()) {
            Current::Joined => {
                let channel = self.channels.get_mut(&topic).expect("joined");
                match channel.inbox.try_send(ClientMail::Leave {
                    msg_ref: msg_ref.clone(),
                }) {
                    // The channel answers it, then ends; its end (handled in `on_exit`)
                    // sends `phx_close`.
                    Ok(()) => channel.leaving = Some(Box::new(Leaving { msg_ref })),
                    Err(_) => {
                        // The channel cannot take it: leave without its help.
                        let channel = self.channels.remove(&topic).expect("joined");
                        self.leave_for(channel, &topic, msg_ref.as_deref());
                    }
                }
            }
            Current::Outdated => {}
            Current::NotJoined => {
                self.reply(
                    join_ref.as_deref(),
                    msg_ref.as_deref(),
                    &topic,
                    Status::Ok,
                    json!({}),
                );
            }
        }
    }

    /// Waits until the channel leaving `topic` has ended, handling every channel's end
    /// reported meanwhile (so its `phx_close` goes out before anything that follows);
    /// after [`LEAVE_TIMEOUT`], stops it and answers its leave for it.
    async fn finish_leaving(&mut self, topic: &str) {
        let exits = self.exits.clone();
        let ended = tokio::time::timeout(LEAVE_TIMEOUT, async {
            while self.channels.is_leaving(topic) {
                for exit in exits.next().await {
                    self.on_exit(exit);
                }
            }
        })
        .await;
        if ended.is_err() {
            tracing::warn!(
                topic,
                "the channel did not answer its leave in time: stopped"
            );
            let mut channel = self.channels.remove(topic).expect("still leaving");
            let msg_ref = channel.leaving.take().and_then(|leaving| leaving.msg_ref);
            self.leave_for(channel, topic, msg_ref.as_deref());
        }
    }

    /// Stops a channel and answers the leave `msg_ref` in its name: ok, then
    /// `phx_close`, as the channel itself would have.
    fn leave_for(&self, channel: JoinedChannel, topic: &str, msg_ref: Option<&str>) {
        channel.abort.abort();
        self.reply(
            Some(&channel.join_ref),
            msg_ref,
            topic,
            Status::Ok,
            json!({}),
        );
        self.outbox.send(&Frame::lifecycle(
            &channel.join_ref,
            topic,
            protocol::CLOSE,
            json!({}),
        ));
    }

    fn push(
        &mut self,
        join_ref: Option<String>,
        msg_ref: Option<String>,
        topic: String,
        event: String,
        payload: Payload,
    ) {
        match self.current(&topic, join_ref.as_deref()) {
            Current::Joined => {}
            // A message for a channel this client already replaced: Phoenix drops it.
            Current::Outdated => return,
            Current::NotJoined => {
                self.unmatched(msg_ref.as_deref(), &topic);
                return;
            }
        }
        let channel = self.channels.get(&topic).expect("joined");
        let channel_join_ref = channel.join_ref.clone();
        match channel.inbox.try_send(ClientMail::In {
            msg_ref: msg_ref.clone(),
            event,
            payload,
        }) {
            Ok(()) => {}
            Err(InboxError::Full) => self.reply(
                Some(&channel_join_ref),
                msg_ref.as_deref(),
                &topic,
                Status::Error,
                json!({ "reason": "channel busy: too many messages waiting" }),
            ),
            // The channel just ended; its exit is on the way and will close it.
            Err(InboxError::Closed) => {}
        }
    }

    fn current(&self, topic: &str, join_ref: Option<&str>) -> Current {
        match self.channels.get(topic) {
            None => Current::NotJoined,
            Some(channel) => match join_ref {
                Some(join_ref) if join_ref != channel.join_ref => Current::Outdated,
                _ => Current::Joined,
            },
        }
    }

    fn on_exit(&mut self, exit: Exit) {
        let is_current = self
            .channels
            .get(&exit.topic)
            .is_some_and(|c| c.join_ref == exit.join_ref);
        if !is_current {
            // A replaced or refused channel: the client was told already.
            return;
        }
        self.channels.remove(&exit.topic);
        let (event, payload) = match &exit.kind {
            ExitKind::Crashed(panic) => {
                tracing::error!(topic = exit.topic, panic, "channel crashed");
                (protocol::ERROR, json!({ "reason": "channel_crash" }))
            }
            _ => (protocol::CLOSE, json!({})),
        };
        self.outbox.send(&Frame::lifecycle(
            &exit.join_ref,
            &exit.topic,
            event,
            payload,
        ));
    }

    fn unmatched(&self, msg_ref: Option<&str>, topic: &str) {
        self.reply(
            None,
            msg_ref,
            topic,
            Status::Error,
            json!({ "reason": "unmatched topic" }),
        );
    }

    fn reply(
        &self,
        join_ref: Option<&str>,
        msg_ref: Option<&str>,
        topic: &str,
        status: Status,
        response: Value,
    ) {
        // A request without a ref cannot be answered (the client is not waiting).
        if msg_ref.is_some() {
            self.outbox
                .send(&Frame::reply(join_ref, msg_ref, topic, status, response));
        }
    }
}

impl Drop for Connection {
    /// A connection dropped unfinished (its runtime shut down) would leave a parked
    /// writer and its outbox holding each other (see `outbox::Parking`).
    fn drop(&mut self) {
        self.outbox.forget_parked();
    }
}

/// What woke the connection's loop.
enum Event {
    Closed(CloseReason),
    Exits(Vec<Exit>),
    Shutdown,
    Inbound(Option<Inbound>),
    /// The outbox fell below its high-water mark: read again.
    Drained,
    Idle,
}

enum Current {
    Joined,
    Outdated,
    NotJoined,
}

/// Frames the writer hands the WebSocket before one flush, at most. A broadcast
/// burst then leaves in a few large writes instead of one flush (and, with a
/// write buffer, one system call) per frame; the cap keeps one batch short, so the
/// writer soon looks at the outbox's close switch again.
pub const WRITE_BATCH: usize = 64;

/// Writes what the outbox holds to the client until the connection closes; then
/// sends what is still queued (unless the client was too slow to read it) and a
/// close frame, within `config.close_timeout`.
///
/// Frames already queued are written together and flushed once (at most
/// [`WRITE_BATCH`]): flushing after every frame was the largest cost of a
/// broadcast to many connections. A batch the client's socket does not take within
/// `config.write_timeout` closes the connection as a slow client (1008).
pub fn write_loop<S>(
    sink: S,
    rx: OutboxReceiver,
    config: Arc<SocketConfig>,
) -> impl Future<Output = ()>
where
    S: Sink<Outbound> + Unpin,
{
    // Returned as it is: an `async` block awaiting it would keep a second slot for the
    // arguments, and every connection's writer would pay for it.
    write_or_park(sink, rx, config, NeverPark)
}

/// When a writer may end before its connection does (see [`write_or_park`]).
pub(crate) trait Parker<S>: Send {
    /// Nothing is queued: whether the writer may end now.
    fn wants_park(&self) -> bool;
    /// The writer ends: keep what starts it again.
    fn park(self, sink: S, rx: OutboxReceiver, config: Arc<SocketConfig>);
}

/// A writer that runs as long as its connection (all but hibernating ones).
struct NeverPark;

impl<S> Parker<S> for NeverPark {
    fn wants_park(&self) -> bool {
        false
    }

    fn park(self, _: S, _: OutboxReceiver, _: Arc<SocketConfig>) {
        unreachable!("never asked to park")
    }
}

/// [`write_loop`], which also ends when nothing is queued and `parker` says it may,
/// handing its sink and receiver to `parker`: the writer of a hibernating connection,
/// which [`crate::hibernate`] spawns again on the next frame.
pub(crate) async fn write_or_park<S, P>(
    mut sink: S,
    rx: OutboxReceiver,
    config: Arc<SocketConfig>,
    parker: P,
) where
    S: Sink<Outbound> + Unpin,
    P: Parker<S>,
{
    // Frames taken from the outbox and not written yet: taken under one lock, and
    // kept here (not inside the write) so a close in the middle of a batch still
    // sends the rest of it.
    let mut batch = std::collections::VecDeque::new();
    // The clock of `write_timeout`: made the first time a write waits, then reset for
    // each write that waits (moving a deadline later is an atomic store, not a trip
    // through the timer wheel). Boxed, and made only then: an idle connection's writer
    // should not carry a timer.
    let mut clock: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    let reason = loop {
        match rx
            .next_batch_or_park(&mut batch, WRITE_BATCH, || parker.wants_park())
            .await
        {
            Batch::Close(reason) => break reason,
            // Nothing queued, nothing in `batch`, everything written was flushed.
            Batch::Park => return parker.park(sink, rx, config),
            Batch::Frames => {}
        }
        let write = async {
            while !batch.is_empty() {
                // Room first, then the frame: a close that ends this write while the
                // sink is full leaves the frame in `batch` for the drain below.
                // (`feed` takes it first, and would drop it with the future.)
                futures::future::poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx)).await?;
                let text = batch.pop_front().expect("not empty");
                Pin::new(&mut sink).start_send(Outbound::Text(text))?;
            }
            sink.flush().await
        };
        let written = tokio::select! {
            // The write first: it usually completes at once, and then neither the
            // close switch nor the clock is even looked at.
            biased;
            sent = write => sent.is_ok(),
            // A client that does not read can hold this write forever.
            reason = rx.closed() => break reason,
            // Reached only once the write above has had to wait: the clock starts then.
            () = async {
                let deadline = tokio::time::Instant::now() + config.write_timeout;
                let clock = match &mut clock {
                    Some(clock) => {
                        clock.as_mut().reset(deadline);
                        clock
                    }
                    None => clock.insert(Box::pin(tokio::time::sleep_until(deadline))),
                };
                clock.await;
            } => {
                // Its bytes are not moving: the only client the server calls slow
                // without a full outbox (the socket stopped reading it long ago).
                let reason = CloseReason::new(
                    close_code::POLICY_VIOLATION,
                    format!("slow client: nothing read for {:?}", config.write_timeout),
                );
                rx.close(reason.clone());
                break reason;
            }
        };
        if !written {
            rx.close(CloseReason::new(1000, "client gone"));
            return;
        }
    };
    let close_timeout = config.close_timeout;
    let drain = async {
        if reason.code != close_code::POLICY_VIOLATION {
            let queued = std::iter::from_fn(|| rx.try_recv());
            for text in batch.drain(..).chain(queued) {
                if sink.send(Outbound::Text(text)).await.is_err() {
                    return;
                }
            }
        }
        let _ = sink.send(Outbound::Close(reason)).await;
    };
    let _ = tokio::time::timeout(close_timeout, drain).await;
}

#[cfg(test)]
mod write_loop_tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll, Waker};

    /// Records what the writer does: frames fed, and how many were pending at
    /// each flush.
    #[derive(Default)]
    struct Recorder {
        fed: Vec<String>,
        pending: usize,
        flushes: Vec<usize>,
    }

    impl Sink<Outbound> for Recorder {
        type Error = ();
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(mut self: Pin<&mut Self>, item: Outbound) -> Result<(), ()> {
            self.fed.push(match item {
                Outbound::Text(text) => text.to_string(),
                Outbound::Close(reason) => format!("close {}", reason.code),
            });
            self.pending += 1;
            Ok(())
        }
        fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            if self.pending > 0 {
                let pending = self.pending;
                self.flushes.push(pending);
                self.pending = 0;
            }
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn queued_frames_are_written_in_order_and_flushed_in_batches() {
        let (outbox, rx) = Outbox::new(256);
        let frames = WRITE_BATCH + 6;
        for i in 0..frames {
            assert!(outbox.send_text(format!("frame {i}").into()));
        }
        outbox.close(CloseReason::new(close_code::GOING_AWAY, "done"));
        let mut recorder = Recorder::default();
        write_loop(&mut recorder, rx, Arc::default()).await;
        let expected: Vec<String> = (0..frames)
            .map(|i| format!("frame {i}"))
            .chain(["close 1001".to_string()])
            .collect();
        assert_eq!(
            recorder.fed, expected,
            "every queued frame, in order, then the close frame"
        );
        // The close switch was already set, so all of them went out in the drain:
        // the batching is checked with the switch off below.
        let (outbox, rx) = Outbox::new(256);
        for i in 0..frames {
            outbox.send_text(format!("frame {i}").into());
        }
        let mut recorder = Recorder::default();
        let writer = write_loop(&mut recorder, rx, Arc::default());
        let closing = async {
            tokio::task::yield_now().await;
            outbox.close(CloseReason::new(close_code::GOING_AWAY, "done"));
        };
        tokio::join!(writer, closing);
        assert_eq!(recorder.fed.len(), frames + 1, "{:?}", recorder.fed);
        assert_eq!(
            recorder.flushes[..2],
            [WRITE_BATCH, 6],
            "a backlog is flushed once per batch of WRITE_BATCH frames, not per frame"
        );
    }

    /// A client whose socket takes `room` frames, then nothing until released.
    struct Gate {
        fed: Arc<Mutex<Vec<String>>>,
        room: usize,
        released: Arc<AtomicBool>,
        waker: Arc<Mutex<Option<Waker>>>,
    }

    impl Sink<Outbound> for Gate {
        type Error = ();
        fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
            if self.fed.lock().unwrap().len() < self.room || self.released.load(Ordering::SeqCst) {
                return Poll::Ready(Ok(()));
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
        fn start_send(self: Pin<&mut Self>, item: Outbound) -> Result<(), ()> {
            self.fed.lock().unwrap().push(match item {
                Outbound::Text(text) => text.to_string(),
                Outbound::Close(reason) => format!("close {}", reason.code),
            });
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
            self.poll_ready(cx)
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_close_while_the_socket_is_full_loses_no_queued_frame() {
        let (outbox, rx) = Outbox::new(256);
        for i in 0..10 {
            assert!(outbox.send_text(format!("frame {i}").into()));
        }
        let fed = Arc::new(Mutex::new(Vec::new()));
        let released = Arc::new(AtomicBool::new(false));
        let waker = Arc::new(Mutex::new(None::<Waker>));
        let gate = Gate {
            fed: fed.clone(),
            room: 3,
            released: released.clone(),
            waker: waker.clone(),
        };
        let writer = tokio::spawn(write_loop(gate, rx, Arc::default()));
        while waker.lock().unwrap().is_none() {
            tokio::task::yield_now().await;
        }
        // The writer waits for room for the fourth frame: the server shuts down.
        outbox.close(CloseReason::new(
            close_code::GOING_AWAY,
            "server shutting down",
        ));
        tokio::task::yield_now().await;
        released.store(true, Ordering::SeqCst);
        if let Some(waker) = waker.lock().unwrap().take() {
            waker.wake();
        }
        writer.await.unwrap();
        let expected: Vec<String> = (0..10)
            .map(|i| format!("frame {i}"))
            .chain(["close 1001".to_string()])
            .collect();
        assert_eq!(
            *fed.lock().unwrap(),
            expected,
            "the frame waiting for room is written in the drain, not dropped with the write"
        );
    }

    /// A client whose socket takes nothing: every write waits forever.
    struct Stuck;

    impl Sink<Outbound> for Stuck {
        type Error = ();
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Pending
        }
        fn start_send(self: Pin<&mut Self>, _: Outbound) -> Result<(), ()> {
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Pending
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_socket_that_takes_nothing_is_closed_as_slow_after_write_timeout() {
        let config = Arc::new(SocketConfig::default());
        let (outbox, rx) = Outbox::new(256);
        assert!(outbox.send_text("frame".into()));
        let started = tokio::time::Instant::now();
        write_loop(Stuck, rx, config.clone()).await;
        assert_eq!(
            outbox.close_reason(),
            Some(CloseReason::new(
                close_code::POLICY_VIOLATION,
                "slow client: nothing read for 10s"
            )),
            "one frame queued, far below the capacity: only the clock can call it slow"
        );
        // The write timeout, then the close frame's own (it cannot be written either).
        assert_eq!(
            started.elapsed(),
            config.write_timeout + config.close_timeout
        );
    }
}
