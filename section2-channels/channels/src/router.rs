//! Which channel serves which topic, and how a channel's task is started.
//!
//! Routes are exact (`"feed"`) or a prefix ending in `*` (`"user:*"` matches `user:42`);
//! the first route that matches wins, as in Phoenix's `channel "user:*", ...`.

use std::any::type_name;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use axum::http::Extensions;
use futures::FutureExt;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;
use tracing::Instrument;

use crate::channel::{Channel, ChannelContext, HandleIn, Handled, Join, Mail, SocketInfo};
use crate::inspect::{InspectedSocket, MailboxDepth};
use crate::outbox::Outbox;
use crate::protocol::{Frame, Payload, Status};
use crate::pubsub::{Broadcast, FastLane, PubSub, Subscriber, SubscriberId, Subscription};
use crate::telemetry::{Telemetry, TelemetryEvent};
// `tokio::sync::mpsc`'s API, for less memory: see `channel.rs`.
use crate::tuning::mailbox as mpsc;

/// Routes topics to channel types.
#[derive(Clone, Default)]
pub struct ChannelRouter {
    routes: Vec<(TopicPattern, Arc<str>, Arc<dyn Route>)>,
    /// Who hears about joins, messages handled and pushes (set by the endpoint).
    pub(crate) telemetry: Telemetry,
    /// What every channel may use (a database store, a signer), by type; shared by all
    /// connections, so it costs a connection nothing.
    pub(crate) state: Arc<Extensions>,
}

impl std::fmt::Debug for ChannelRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.routes.iter().map(|(p, _, r)| (p, r.name())))
            .finish()
    }
}

impl ChannelRouter {
    /// A router with no routes: every join gets "unmatched topic".
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves topics matching `pattern` (`"feed"`, or `"user:*"` for a prefix) with `C`.
    pub fn channel<C: Channel>(mut self, pattern: &str) -> Self {
        self.routes.push((
            TopicPattern::parse(pattern),
            // The pattern, not the topic, is what telemetry labels a channel with.
            pattern.into(),
            Arc::new(TypedRoute::<C>(PhantomData)),
        ));
        self
    }

    /// Makes `value` available to every channel as `ctx.state::<T>()` (one value per
    /// type; a second call with the same type replaces the first).
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        Arc::make_mut(&mut self.state).insert(value);
        self
    }

    /// Whether some route serves `topic`.
    pub fn matches(&self, topic: &str) -> bool {
        self.find(topic).is_some()
    }

    /// The route serving `topic`, with its pattern (`user:*`).
    pub(crate) fn find(&self, topic: &str) -> Option<(&Arc<str>, &Arc<dyn Route>)> {
        self.routes
            .iter()
            .find(|(pattern, _, _)| pattern.matches(topic))
            .map(|(_, label, route)| (label, route))
    }
}

/// A route's topic pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TopicPattern {
    Exact(String),
    Prefix(String),
}

impl TopicPattern {
    fn parse(pattern: &str) -> Self {
        match pattern.strip_suffix('*') {
            Some(prefix) => TopicPattern::Prefix(prefix.to_owned()),
            None => TopicPattern::Exact(pattern.to_owned()),
        }
    }

    fn matches(&self, topic: &str) -> bool {
        match self {
            TopicPattern::Exact(exact) => topic == exact,
            TopicPattern::Prefix(prefix) => topic.starts_with(prefix.as_str()),
        }
    }
}

/// What the socket hands a route to start a channel.
pub(crate) struct StartArgs {
    pub topic: String,
    pub join_ref: String,
    pub msg_ref: Option<String>,
    pub payload: Payload,
    pub socket: Arc<SocketInfo>,
    pub state: Arc<Extensions>,
    pub outbox: Outbox,
    pub pubsub: Arc<dyn PubSub>,
    pub exits: Arc<Exits>,
    pub mailbox_capacity: usize,
    /// The route's pattern, the channel's label in telemetry and spans.
    pub route: Arc<str>,
    pub telemetry: Telemetry,
}

/// A started channel, as the socket holds it.
pub(crate) struct Started {
    pub inbox: Box<dyn Inbox>,
    pub abort: AbortHandle,
    /// `true` once joined (the ok reply is queued), `false` if refused (the error reply
    /// is queued); dropped without a value if `join` panicked.
    pub joined: oneshot::Receiver<bool>,
}

/// A message from the client for a channel.
pub(crate) enum ClientMail {
    In {
        msg_ref: Option<String>,
        event: String,
        payload: Payload,
    },
    Leave {
        msg_ref: Option<String>,
    },
}

/// Why a mailbox did not take a message.
pub(crate) enum InboxError {
    Full,
    Closed,
}

/// The socket's type-erased handle on a channel's mailbox.
pub(crate) trait Inbox: Send + Sync {
    fn try_send(&self, mail: ClientMail) -> Result<(), InboxError>;
}

impl<I: Send + 'static> Inbox for mpsc::Sender<Mail<I>> {
    fn try_send(&self, mail: ClientMail) -> Result<(), InboxError> {
        let mail = match mail {
            ClientMail::In {
                msg_ref,
                event,
                payload,
            } => Mail::In {
                msg_ref,
                event,
                payload,
            },
            ClientMail::Leave { msg_ref } => Mail::Leave { msg_ref },
        };
        mpsc::Sender::try_send(self, mail).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => InboxError::Full,
            mpsc::error::TrySendError::Closed(_) => InboxError::Closed,
        })
    }
}

/// A mailbox's depth, read the way tokio's `mpsc` would give it too.
impl<T: Send + 'static> MailboxDepth for mpsc::WeakSender<T> {
    fn depth(&self) -> usize {
        self.upgrade()
            .map_or(0, |mailbox| mailbox.max_capacity() - mailbox.capacity())
    }
}

/// How a channel's task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExitKind {
    /// `join` refused; nothing to tell the client beyond the error reply.
    Refused,
    /// The client left; the leave was answered.
    Left,
    /// The channel stopped itself.
    Stopped,
    /// The socket dropped the channel's mailbox.
    SocketGone,
    /// A callback panicked.
    Crashed(String),
}

/// A channel's task ended.
#[derive(Debug)]
pub(crate) struct Exit {
    pub topic: String,
    pub join_ref: String,
    pub kind: ExitKind,
}

/// Where a connection's channels report their end. Each channel reports at most
/// once and the socket drains the list on every turn of its loop, so it holds at
/// most the channels that ended since; a plain list costs an idle connection far
/// less than a channel would.
#[derive(Debug, Default)]
pub(crate) struct Exits {
    ended: std::sync::Mutex<Vec<Exit>>,
    notify: tokio::sync::Notify,
}

impl Exits {
    fn push(&self, exit: Exit) {
        self.ended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(exit);
        self.notify.notify_one();
    }

    /// Waits for channels to end, and takes their reports.
    pub(crate) async fn next(&self) -> Vec<Exit> {
        loop {
            let notified = self.notify.notified();
            let ended = std::mem::take(&mut *self.ended.lock().unwrap_or_else(|e| e.into_inner()));
            if !ended.is_empty() {
                return ended;
            }
            notified.await;
        }
    }
}

pub(crate) trait Route: Send + Sync {
    fn start(&self, args: StartArgs) -> Started;
    fn name(&self) -> &'static str;
}

struct TypedRoute<C>(PhantomData<fn() -> C>);

impl<C: Channel> Route for TypedRoute<C> {
    fn name(&self) -> &'static str {
        type_name::<C>()
    }

    fn start(&self, args: StartArgs) -> Started {
        let (tx, rx) = mpsc::channel::<Mail<C::Info>>(args.mailbox_capacity.max(1));
        let (joined_tx, joined_rx) = oneshot::channel();
        let weak = tx.downgrade();
        // Shared by the channel's context and the exit notice (one allocation each,
        // kept as long as the channel lives).
        let topic: Arc<str> = args.topic.as_str().into();
        let join_ref: Arc<str> = args.join_ref.as_str().into();
        let exits = args.exits.clone();
        // Everything the channel logs carries its topic; created inside the socket's
        // span, so it carries the socket's fields too. Disabled, it is a no-op value.
        let span = tracing::info_span!("channel", topic = %topic);
        // A task is as big as its biggest state, for its whole life. The join runs
        // once and holds the most (the join payload, the arguments, `C::join`'s
        // future), so it is boxed, and the task's future is built here with
        // combinators, which poll what they hold in place (an `async` block awaiting
        // a future it captured keeps a second slot for it). `then` runs the
        // channel's loop once the join is done and its box is freed.
        let join = Box::pin(join::<C>(
            args,
            (topic.clone(), join_ref.clone()),
            weak,
            joined_tx,
        ));
        let task = tokio::spawn(
            AssertUnwindSafe(join.then(move |joined| serve::<C>(joined, rx)))
                .catch_unwind()
                .map(move |result| {
                    // A panic in a callback ends this channel only: it becomes phx_error for
                    // the client, and the socket and its other channels carry on.
                    let kind = result
                        .unwrap_or_else(|panic| ExitKind::Crashed(panic_message(panic.as_ref())));
                    exits.push(Exit {
                        topic: topic.to_string(),
                        join_ref: join_ref.to_string(),
                        kind,
                    });
                })
                .instrument(span),
        );
        Started {
            inbox: Box::new(tx),
            abort: task.abort_handle(),
            joined: joined_rx,
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}

/// Routes broadcasts on the channel's topic: straight to the socket's outbox (the
/// shared, pre-encoded bytes), or through the mailbox when intercepted.
struct ChannelSubscriber<I> {
    outbox: Outbox,
    mailbox: mpsc::WeakSender<Mail<I>>,
    intercepts: &'static [&'static str],
}

impl<I: Send + 'static> Subscriber for ChannelSubscriber<I> {
    fn deliver(&self, broadcast: &Arc<Broadcast>) {
        if !self.intercepts.contains(&broadcast.event()) {
            self.outbox.send_text(broadcast.frame().clone());
            return;
        }
        let Some(mailbox) = self.mailbox.upgrade() else {
            return;
        };
        if mailbox.try_send(Mail::Out(broadcast.clone())).is_err() {
            // Broadcasts are at-most-once: a channel that cannot keep up loses this one,
            // and says so, rather than stalling the broadcaster.
            tracing::warn!(
                topic = broadcast.topic(),
                event = broadcast.event(),
                "intercepted broadcast dropped: the channel's mailbox is full"
            );
        }
    }

    // What `deliver` does with events the channel does not intercept, said up front,
    // so the tuned subscriber table can do it without calling `deliver`.
    fn fastlane(&self) -> Option<FastLane> {
        Some(FastLane {
            outbox: self.outbox.clone(),
            intercepts: self.intercepts,
        })
    }
}

/// A joined channel: what its task keeps while it lives.
struct Joined<C: Channel> {
    channel: C,
    ctx: ChannelContext<C>,
    /// Unsubscribes when the channel ends.
    _subscription: Subscription,
}

/// Replies to `msg_ref` on the channel's topic (nothing if the client sent no ref).
fn reply<C: Channel>(
    ctx: &ChannelContext<C>,
    status: Status,
    msg_ref: Option<&str>,
    response: Value,
) {
    if msg_ref.is_some() {
        if let Some(stats) = &ctx.inspected {
            stats.sent();
        }
        ctx.outbox.send(&Frame::reply(
            Some(&ctx.join_ref),
            msg_ref,
            &ctx.topic,
            status,
            response,
        ));
    }
}

/// Runs `C::join`, subscribes to the topic, replies, and tells the socket how it went.
async fn join<C: Channel>(
    args: StartArgs,
    (topic_ref, join_ref_ref): (Arc<str>, Arc<str>),
    mailbox: mpsc::WeakSender<Mail<C::Info>>,
    joined: oneshot::Sender<bool>,
) -> Option<Joined<C>> {
    let StartArgs {
        topic,
        msg_ref,
        payload,
        socket,
        state,
        outbox,
        pubsub,
        route,
        telemetry,
        mailbox_capacity,
        ..
    } = args;
    let subscriber = SubscriberId::next();
    // Counters for an observer, when the endpoint has one (see `inspect`).
    let inspected = socket.assigns.get::<InspectedSocket>().map(|connection| {
        connection.0.channel(
            topic_ref.clone(),
            Box::new(mailbox.clone()),
            mailbox_capacity,
        )
    });
    let mut ctx = ChannelContext::<C> {
        topic: topic_ref,
        join_ref: join_ref_ref,
        socket,
        state,
        outbox: outbox.clone(),
        pubsub: pubsub.clone(),
        mailbox: mailbox.clone(),
        subscriber,
        current_ref: msg_ref.clone(),
        route,
        telemetry,
        inspected,
    };
    let (channel, response) = match C::join(&topic, payload, &mut ctx).await {
        Join::Ok { channel, reply } => (channel, reply),
        Join::Error(response) => {
            reply(&ctx, Status::Error, msg_ref.as_deref(), response);
            let _ = joined.send(false);
            return None;
        }
    };
    // Subscribe before the ok reply, so a client that has its ok misses no broadcast.
    let subscription = Subscription::with_id(
        pubsub,
        topic,
        subscriber,
        Arc::new(ChannelSubscriber::<C::Info> {
            outbox,
            mailbox,
            intercepts: C::INTERCEPTS,
        }),
    );
    reply(&ctx, Status::Ok, msg_ref.as_deref(), response);
    let _ = joined.send(true);
    ctx.current_ref = None;
    Some(Joined {
        channel,
        ctx,
        _subscription: subscription,
    })
}

/// The joined channel's loop: one message at a time until it stops or the socket goes.
/// (`joined` is used in place, never moved out: a moved argument would take a
/// second slot in this future.)
async fn serve<C: Channel>(
    mut joined: Option<Joined<C>>,
    mut rx: mpsc::Receiver<Mail<C::Info>>,
) -> ExitKind {
    let Some(Joined { channel, ctx, .. }) = &mut joined else {
        return ExitKind::Refused;
    };
    // ANCHOR: channel_loop
    while let Some(mail) = rx.recv().await {
        // Boxed: a task is as big as its biggest state for its whole life, and an
        // idle channel should only carry what waiting for its mailbox takes, not room
        // for a callback's future (and its span and timer) it is not running.
        if let Some(exit) = Box::pin(handle_mail(channel, ctx, mail)).await {
            return exit;
        }
    }
    ExitKind::SocketGone
}

/// Handles one message of a channel's mailbox; `Some` when the channel stops.
async fn handle_mail<C: Channel>(
    channel: &mut C,
    ctx: &mut ChannelContext<C>,
    mail: Mail<C::Info>,
) -> Option<ExitKind> {
    // Counted here, in the boxed handler, not around the mailbox: a wrapper there
    // would sit in every idle channel's task (see `inspect`).
    if let Some(stats) = &ctx.inspected {
        stats.handled();
    }
    match mail {
        Mail::In {
            msg_ref,
            event,
            payload,
        } => {
            ctx.current_ref = msg_ref.clone();
            let outcome = observed_handle_in(channel, &event, payload, ctx).await;
            ctx.current_ref = None;
            match outcome {
                HandleIn::Reply(status, response) => {
                    reply(ctx, status, msg_ref.as_deref(), response)
                }
                HandleIn::NoReply => {}
                HandleIn::Stop(response) => {
                    if let Some((status, response)) = response {
                        reply(ctx, status, msg_ref.as_deref(), response);
                    }
                    return Some(ExitKind::Stopped);
                }
            }
        }
        Mail::Leave { msg_ref } => {
            reply(
                ctx,
                Status::Ok,
                msg_ref.as_deref(),
                Value::Object(Payload::new()),
            );
            return Some(ExitKind::Left);
        }
        Mail::Out(broadcast) => {
            let handled = channel
                .handle_out(broadcast.event(), broadcast.payload(), ctx)
                .await;
            if handled == Handled::Stop {
                return Some(ExitKind::Stopped);
            }
        }
        Mail::Info(message) => {
            if channel.handle_info(message, ctx).await == Handled::Stop {
                return Some(ExitKind::Stopped);
            }
        }
    }
    None
    // ANCHOR_END: channel_loop
}

/// Runs `handle_in` inside a span naming the event (whatever it logs carries the
/// event, and from the enclosing spans the topic and the socket), and tells telemetry
/// how long it took.
async fn observed_handle_in<C: Channel>(
    channel: &mut C,
    event: &str,
    payload: Payload,
    ctx: &mut ChannelContext<C>,
) -> HandleIn {
    let started = tokio::time::Instant::now();
    let span = tracing::info_span!("handle_in", event = %event);
    let outcome = channel
        .handle_in(event, payload, ctx)
        .instrument(span)
        .await;
    ctx.telemetry.emit(|| TelemetryEvent::HandleIn {
        topic: &ctx.route,
        event,
        duration: started.elapsed(),
    });
    outcome
}
