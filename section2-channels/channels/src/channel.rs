//! Channels: what you write. One joined topic on one connection is one [`Channel`]
//! value, owned by its own tokio task, fed by a bounded mailbox.
//!
//! The task handles one message at a time, in order, so a channel's state needs no
//! lock; and a slow handler delays only its own channel, never the socket's
//! heartbeats or the other channels on the same connection.
//!
//! The callbacks mirror Phoenix's:
//!
//! | callback | runs when | returns |
//! |---|---|---|
//! | [`Channel::join`] | the client sends `phx_join` | [`Join`]: ok (with a reply) or error |
//! | [`Channel::handle_in`] | the client pushes an event | [`HandleIn`]: reply, no reply, or stop |
//! | [`Channel::handle_out`] | an event listed in [`Channel::INTERCEPTS`] is broadcast | [`Handled`] |
//! | [`Channel::handle_info`] | a message arrives from a timer or another task | [`Handled`] |
//!
//! Everything else (push, broadcast, timers, replying later) goes through the
//! [`ChannelContext`] handed to each callback.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Extensions;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::outbox::Outbox;
use crate::protocol::{Frame, Payload, Status};
use crate::pubsub::{Broadcast, PubSub, SubscriberId};
use crate::telemetry::{Telemetry, TelemetryEvent};
// A channel's mailbox is a bounded multi-producer, single-consumer queue: exactly
// `tokio::sync::mpsc`. The framework uses `tuning::mailbox`, which has the same API
// and costs nothing while empty; read `tuning/mod.rs` only after this file (swap
// this line, and the one in `router.rs`, for `use tokio::sync::mpsc;` and
// everything still works).
use crate::tuning::mailbox as mpsc;

// ANCHOR: channel_trait
/// A channel: the state of one joined topic on one connection, and its callbacks.
///
/// `join` builds the value; the other callbacks take `&mut self`. Implementors write
/// `async fn` for each callback; the futures must be `Send` because channels run on a
/// multi-threaded runtime.
pub trait Channel: Sized + Send + 'static {
    /// Messages `handle_info` receives (from [`ChannelContext::send_after`] and
    /// [`ChannelAddr::send`]); use `()` when the channel needs none.
    type Info: Send + 'static;

    /// Broadcast events this channel wants to see before its client does: they go to
    /// [`Channel::handle_out`] instead of straight to the socket.
    const INTERCEPTS: &'static [&'static str] = &[];

    /// The client asked to join `topic` with `payload`.
    fn join(
        topic: &str,
        payload: Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> impl Future<Output = Join<Self>> + Send;

    /// The client pushed `event` with `payload`.
    fn handle_in(
        &mut self,
        event: &str,
        payload: Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> impl Future<Output = HandleIn> + Send;

    /// An intercepted broadcast; push it (changed or not) with `ctx.push`, or do not.
    /// The default pushes it unchanged.
    fn handle_out(
        &mut self,
        event: &str,
        payload: &Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> impl Future<Output = Handled> + Send {
        ctx.push(event, Value::Object(payload.clone()));
        std::future::ready(Handled::Continue)
    }

    /// A message for this channel from a timer or another task. The default ignores it.
    fn handle_info(
        &mut self,
        message: Self::Info,
        ctx: &mut ChannelContext<Self>,
    ) -> impl Future<Output = Handled> + Send {
        let _ = (message, ctx);
        std::future::ready(Handled::Continue)
    }
}
// ANCHOR_END: channel_trait

/// The outcome of [`Channel::join`].
pub enum Join<C> {
    /// Joined: the client gets an ok reply with `reply` as its response.
    Ok {
        /// The channel's initial state.
        channel: C,
        /// The response of the ok reply (`{}` if nothing to say).
        reply: Value,
    },
    /// Refused: the client gets an error reply with this response; no channel remains.
    Error(Value),
}

impl<C> Join<C> {
    /// Joined, with an empty response.
    pub fn ok(channel: C) -> Self {
        Join::Ok {
            channel,
            reply: Value::Object(Payload::new()),
        }
    }

    /// Joined, with `reply` as the response.
    pub fn ok_with(channel: C, reply: Value) -> Self {
        Join::Ok { channel, reply }
    }

    /// Refused with `response` (e.g. `{"reason": "unauthorized"}`).
    pub fn error(response: Value) -> Self {
        Join::Error(response)
    }
}

// ANCHOR: handle_in_result
/// The outcome of [`Channel::handle_in`].
#[derive(Debug, Clone, PartialEq)]
pub enum HandleIn {
    /// Reply to the request now.
    Reply(Status, Value),
    /// No reply now: either never (the client's push times out), or later, from another
    /// task, through a [`SocketRef`].
    NoReply,
    /// Stop the channel (the client gets `phx_close`), optionally replying first.
    Stop(Option<(Status, Value)>),
}
// ANCHOR_END: handle_in_result

impl HandleIn {
    /// Reply `ok` with `response`.
    pub fn ok(response: Value) -> Self {
        HandleIn::Reply(Status::Ok, response)
    }

    /// Reply `error` with `response`.
    pub fn error(response: Value) -> Self {
        HandleIn::Reply(Status::Error, response)
    }

    /// Do not reply now.
    pub fn no_reply() -> Self {
        HandleIn::NoReply
    }

    /// Reply, then stop the channel.
    pub fn stop_with_reply(status: Status, response: Value) -> Self {
        HandleIn::Stop(Some((status, response)))
    }
}

/// The outcome of [`Channel::handle_out`] and [`Channel::handle_info`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// Keep the channel running.
    Continue,
    /// Stop the channel gracefully (the client gets `phx_close`).
    Stop,
}

/// What the socket knows about the connection, shared by all its channels.
#[derive(Debug, Clone, Default)]
pub struct SocketInfo {
    /// The socket's id (e.g. `auth_socket:42`), if `connect` gave it one.
    pub id: Option<String>,
    /// What `connect` stored for the channels (e.g. the user id), by type.
    pub assigns: Extensions,
}

/// A message in a channel's mailbox.
pub(crate) enum Mail<I> {
    /// The client pushed an event.
    In {
        msg_ref: Option<String>,
        event: String,
        payload: Payload,
    },
    /// The client left the topic.
    Leave { msg_ref: Option<String> },
    /// An intercepted broadcast.
    Out(Arc<Broadcast>),
    /// A message for `handle_info`.
    Info(I),
}

/// Everything a channel's callbacks may do besides changing their own state.
pub struct ChannelContext<C: Channel> {
    pub(crate) topic: Arc<str>,
    pub(crate) join_ref: Arc<str>,
    pub(crate) socket: Arc<SocketInfo>,
    pub(crate) state: Arc<Extensions>,
    pub(crate) outbox: Outbox,
    pub(crate) pubsub: Arc<dyn PubSub>,
    pub(crate) mailbox: mpsc::WeakSender<Mail<C::Info>>,
    pub(crate) subscriber: SubscriberId,
    pub(crate) current_ref: Option<String>,
    /// The route's pattern (`user:*`): how telemetry names this channel.
    pub(crate) route: Arc<str>,
    pub(crate) telemetry: Telemetry,
    /// This channel's counters, when the endpoint has an inspector.
    pub(crate) inspected: Option<Arc<crate::inspect::ChannelStats>>,
}

impl<C: Channel> ChannelContext<C> {
    /// The joined topic (e.g. `user:42`).
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The ref of the join that opened this channel.
    pub fn join_ref(&self) -> &str {
        &self.join_ref
    }

    /// The socket this channel belongs to.
    pub fn socket(&self) -> &SocketInfo {
        &self.socket
    }

    /// A value `connect` stored for the channels, by type (e.g. `ctx.assign::<UserId>()`).
    pub fn assign<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.socket.assigns.get::<T>()
    }

    /// Shared state the app gave the router (`ChannelRouter::state`), by type: e.g.
    /// `ctx.state::<ActivityStore>()`.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.state.get::<T>()
    }

    /// The pubsub this channel broadcasts on.
    pub fn pubsub(&self) -> &Arc<dyn PubSub> {
        &self.pubsub
    }

    /// Sends `event` to this channel's client only. Returns `false` if the connection
    /// is closing (or just got closed because the client stopped reading).
    pub fn push(&self, event: &str, payload: Value) -> bool {
        self.telemetry.emit(|| TelemetryEvent::Pushed {
            topic: &self.route,
            event,
        });
        if let Some(stats) = &self.inspected {
            stats.sent();
        }
        self.outbox
            .send(&Frame::push(&self.join_ref, &self.topic, event, payload))
    }

    /// Sends `event` to every client joined to this channel's topic, this one included.
    pub fn broadcast(&self, event: &str, payload: Payload) -> usize {
        self.pubsub
            .broadcast(Broadcast::new(self.topic.as_ref(), event, payload))
    }

    /// Sends `event` to every client joined to this topic except this one.
    pub fn broadcast_from(&self, event: &str, payload: Payload) -> usize {
        self.pubsub.broadcast(
            Broadcast::new(self.topic.as_ref(), event, payload).from_subscriber(self.subscriber),
        )
    }

    /// A handle to reply to the request being handled, later and from any task
    /// (return [`HandleIn::NoReply`] now). Outside `handle_in` its replies go nowhere.
    pub fn socket_ref(&self) -> SocketRef {
        SocketRef {
            join_ref: self.join_ref.clone(),
            msg_ref: self.current_ref.clone(),
            topic: self.topic.clone(),
            outbox: self.outbox.clone(),
            route: self.route.clone(),
            telemetry: self.telemetry.clone(),
        }
    }

    /// An address other tasks can use to send this channel `handle_info` messages.
    /// It does not keep the channel alive: sends fail once the channel has stopped.
    pub fn addr(&self) -> ChannelAddr<C::Info> {
        ChannelAddr {
            mailbox: self.mailbox.clone(),
        }
    }

    /// Delivers `message` to `handle_info` after `delay` (tokio's clock, so paused time
    /// in tests). Abort the returned handle to cancel it.
    pub fn send_after(&self, delay: Duration, message: C::Info) -> JoinHandle<()> {
        let addr = self.addr();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            // The channel may be gone by now; then there is nobody to tell.
            let _ = addr.send(message).await;
        })
    }
}

/// Sends `handle_info` messages to one channel from anywhere.
pub struct ChannelAddr<I> {
    mailbox: mpsc::WeakSender<Mail<I>>,
}

impl<I> Clone for ChannelAddr<I> {
    fn clone(&self) -> Self {
        ChannelAddr {
            mailbox: self.mailbox.clone(),
        }
    }
}

/// The channel stopped; the message was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelGone;

impl std::fmt::Display for ChannelGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the channel has stopped")
    }
}

impl std::error::Error for ChannelGone {}

impl<I: Send + 'static> ChannelAddr<I> {
    /// Delivers `message` to `handle_info`, waiting while the mailbox is full.
    pub async fn send(&self, message: I) -> Result<(), ChannelGone> {
        let mailbox = self.mailbox.upgrade().ok_or(ChannelGone)?;
        mailbox
            .send(Mail::Info(message))
            .await
            .map_err(|_| ChannelGone)
    }

    /// Whether the channel is still running.
    pub fn is_alive(&self) -> bool {
        self.mailbox.upgrade().is_some()
    }
}

/// Replies to one request later, from any task (Phoenix's `socket_ref`).
#[derive(Debug, Clone)]
pub struct SocketRef {
    join_ref: Arc<str>,
    msg_ref: Option<String>,
    topic: Arc<str>,
    outbox: Outbox,
    route: Arc<str>,
    telemetry: Telemetry,
}

impl SocketRef {
    /// Sends the reply. Returns `false` if it could not be queued (the connection is
    /// closing), or the request had no ref to reply to.
    pub fn reply(&self, status: Status, response: Value) -> bool {
        let Some(msg_ref) = self.msg_ref.as_deref() else {
            return false;
        };
        self.outbox.send(&Frame::reply(
            Some(&self.join_ref),
            Some(msg_ref),
            &self.topic,
            status,
            response,
        ))
    }

    /// Pushes an event to the channel's client.
    pub fn push(&self, event: &str, payload: Value) -> bool {
        self.telemetry.emit(|| TelemetryEvent::Pushed {
            topic: &self.route,
            event,
        });
        self.outbox
            .send(&Frame::push(&self.join_ref, &self.topic, event, payload))
    }

    /// The topic this reference belongs to.
    pub fn topic(&self) -> &str {
        &self.topic
    }
}
