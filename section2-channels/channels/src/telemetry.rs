//! Telemetry events: what the framework tells an observer about its work, as it
//! happens (sockets connecting, channels joining, messages handled, pushes).
//!
//! The framework only *emits*: it does not know about metrics, StatsD or logs. An
//! observer installed with [`EndpointBuilder::telemetry`](crate::endpoint::EndpointBuilder::telemetry)
//! turns the events into whatever it wants (section 3 turns them into metrics). Without
//! one, emitting is a single `None` check: the framework pays nothing for telemetry
//! nobody listens to.
//!
//! Every string an event carries is safe to use as a metric label: topics are the
//! *route pattern* that served them (`user:*`), never the client's topic (`user:42`),
//! because a label with one value per user makes one time series per user in the
//! metrics backend. Event names come from the client: an observer that labels by them
//! should bound how many distinct values it keeps.

use std::sync::Arc;
use std::time::Duration;

/// The label used as a topic when no route serves the topic a client asked for.
pub const UNMATCHED: &str = "unmatched";

/// How a join ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinResult {
    /// The channel's `join` accepted: the channel runs.
    Ok,
    /// The channel's `join` refused (e.g. unauthorized).
    Refused,
    /// The channel's `join` panicked.
    Crashed,
    /// No route serves the topic.
    Unmatched,
    /// The connection already has as many channels as it may join.
    TooMany,
}

impl JoinResult {
    /// A short lowercase name, for a label: `ok`, `refused`, `crashed`, `unmatched`,
    /// `too_many`.
    pub fn as_str(self) -> &'static str {
        match self {
            JoinResult::Ok => "ok",
            JoinResult::Refused => "refused",
            JoinResult::Crashed => "crashed",
            JoinResult::Unmatched => "unmatched",
            JoinResult::TooMany => "too_many",
        }
    }
}

// ANCHOR: event
/// Something the framework did. Borrowed: emitting allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TelemetryEvent<'a> {
    /// A connection was let in; it is open until [`TelemetryEvent::SocketClosed`].
    SocketConnected,
    /// A connection was refused: `reason` is the socket handler's [`Refused`]
    /// reason (keep those short and few), or `unsupported_vsn` for a client speaking
    /// another protocol version.
    ///
    /// [`Refused`]: crate::endpoint::Refused
    SocketRefused {
        /// Why, as a short word.
        reason: &'a str,
    },
    /// A connection that was let in has closed, with this WebSocket close code.
    SocketClosed {
        /// 1000 normal, 1001 going away (idle, shutdown), 1008 too slow, 1009 too big...
        code: u16,
    },
    /// A client asked to join a topic.
    ChannelJoined {
        /// The route pattern that serves the topic (`room:*`), or [`UNMATCHED`].
        topic: &'a str,
        /// How it went; only [`JoinResult::Ok`] leaves a channel running.
        result: JoinResult,
    },
    /// A channel that had joined has ended (left, stopped, crashed, replaced by a
    /// second join of its topic, or its connection closed). Exactly one per
    /// [`JoinResult::Ok`].
    ChannelLeft {
        /// The route pattern.
        topic: &'a str,
    },
    /// A channel's `handle_in` ran for `event`, and took `duration` (tokio's clock).
    HandleIn {
        /// The route pattern.
        topic: &'a str,
        /// The event the client pushed (client-chosen: bound it before using it as a label).
        event: &'a str,
        /// From the call to the outcome, awaits included.
        duration: Duration,
    },
    /// A channel pushed `event` to its client (`ctx.push`, or a `SocketRef`'s push).
    Pushed {
        /// The route pattern.
        topic: &'a str,
        /// The event pushed (chosen by the server's code).
        event: &'a str,
    },
}
// ANCHOR_END: event

// ANCHOR: handler
/// An observer of the framework: called synchronously, on the task where the event
/// happened, so it must be quick (update a counter, send a UDP line) and must not
/// block or panic.
pub trait TelemetryHandler: Send + Sync + 'static {
    /// One event.
    fn handle(&self, event: &TelemetryEvent<'_>);
}
// ANCHOR_END: handler

impl<F> TelemetryHandler for F
where
    F: Fn(&TelemetryEvent<'_>) + Send + Sync + 'static,
{
    fn handle(&self, event: &TelemetryEvent<'_>) {
        self(event)
    }
}

/// The framework's handle on the observer, if any. Cheap to clone.
#[derive(Clone, Default)]
pub struct Telemetry(Option<Arc<dyn TelemetryHandler>>);

impl Telemetry {
    /// Telemetry to `handler`.
    pub fn new(handler: Arc<dyn TelemetryHandler>) -> Self {
        Telemetry(Some(handler))
    }

    /// No observer: every emit is a no-op.
    pub fn none() -> Self {
        Telemetry(None)
    }

    /// Whether an observer listens.
    pub fn is_enabled(&self) -> bool {
        self.0.is_some()
    }

    /// Tells the observer, if any. The event is built only when someone listens.
    #[inline]
    pub fn emit<'a>(&self, event: impl FnOnce() -> TelemetryEvent<'a>) {
        if let Some(handler) = &self.0 {
            handler.handle(&event());
        }
    }
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Telemetry(on)"
        } else {
            "Telemetry(off)"
        })
    }
}
