//! The endpoint: accepts WebSocket connections at `<mount>/websocket?vsn=2.0.0`, asks
//! the [`SocketHandler`] whether to let each one in, and runs a [`Connection`] for it.
//!
//! It also owns what all connections share: the channel router, the pubsub, the
//! bounds, which pages may connect ([`CheckOrigin`]), a count of live connections,
//! and the shutdown that closes them all.
//!
//! ## Stopping gracefully
//!
//! [`Endpoint::shutdown`] closes every socket with 1001 "going away", after what was
//! already queued for it, and refuses new ones (503); [`Server::shutdown`] stops
//! accepting and waits until every connection has ended, the client's own close
//! included (see [`LINGER`]). A binary does both on SIGTERM or Ctrl-C, bounded by its
//! drain deadline:
//!
//! ```no_run
//! # async fn run(endpoint: channels::Endpoint, server: channels::Server) {
//! # let drain_timeout = std::time::Duration::from_secs(10);
//! endpoint.shutdown();
//! let _ = tokio::time::timeout(drain_timeout, server.shutdown()).await;
//! # }
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::channel::SocketInfo;
use crate::client::ChannelClient;
use crate::hibernate::{Hibernate, KeptUpgrade, Park, spawn_writer};
use crate::inspect::{CountOut, Inspector};
use crate::origin::CheckOrigin;
use crate::outbox::{Outbound, Outbox};
use crate::protocol::{Payload, VSN};
use crate::pubsub::{Broadcast, LocalPubSub, PubSub};
use crate::router::ChannelRouter;
use crate::socket::{Connection, Inbound, SocketConfig, disconnect_broadcast, write_loop};
use crate::telemetry::{Telemetry, TelemetryEvent, TelemetryHandler};

/// The query parameters of a connection (`token`, `vsn`, ...).
pub type ConnectParams = HashMap<String, String>;

/// Why `connect` refused a connection; logged, and answered with 403.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "connection refused: {}", self.0)
    }
}

impl std::error::Error for Refused {}

/// Decides who may connect, and what their channels know about them (Phoenix's
/// `connect/3` and `id/1` in one call).
pub trait SocketHandler: Send + Sync + 'static {
    /// Lets the connection in with its [`SocketInfo`] (id and assigns), or refuses it.
    fn connect(&self, params: &ConnectParams) -> Result<SocketInfo, Refused>;
}

impl<F> SocketHandler for F
where
    F: Fn(&ConnectParams) -> Result<SocketInfo, Refused> + Send + Sync + 'static,
{
    fn connect(&self, params: &ConnectParams) -> Result<SocketInfo, Refused> {
        self(params)
    }
}

/// Lets everyone in, anonymously (no socket id, no assigns).
pub fn anonymous(_params: &ConnectParams) -> Result<SocketInfo, Refused> {
    Ok(SocketInfo::default())
}

struct Inner {
    router: Arc<ChannelRouter>,
    handler: Box<dyn SocketHandler>,
    pubsub: Arc<dyn PubSub>,
    /// Shared by every connection (an `Arc`, not a copy in each connection's task).
    config: Arc<SocketConfig>,
    /// Which pages may open a socket here.
    check_origin: CheckOrigin,
    /// Open connections, and a wake-up for [`Endpoint::closed`] when the last one ends.
    connections: Counter,
    /// Numbers connections, so an anonymous one's logs can be told apart too.
    next_connection: std::sync::atomic::AtomicU64,
    /// Where connections register their counters, if someone observes them.
    inspector: Option<Arc<Inspector>>,
    /// What an idle connection gives back, if it hibernates (see [`crate::hibernate`]).
    hibernation: Option<Arc<dyn Hibernate>>,
    /// Connections whose WebSocket is released now.
    released: Arc<AtomicUsize>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl Inner {
    fn telemetry(&self) -> &Telemetry {
        &self.router.telemetry
    }

    /// Asks the handler; a refusal is logged and told to telemetry here, whatever
    /// the transport.
    fn connect(&self, params: &ConnectParams) -> Result<SocketInfo, Refused> {
        let refused = match self.handler.connect(params) {
            Ok(socket) => return Ok(socket),
            Err(refused) => refused,
        };
        self.telemetry()
            .emit(|| TelemetryEvent::SocketRefused { reason: &refused.0 });
        tracing::warn!(reason = %refused.0, "connection refused");
        Err(refused)
    }
}

/// A socket endpoint. Cheap to clone; clones share connections and pubsub.
#[derive(Clone)]
pub struct Endpoint {
    inner: Arc<Inner>,
}

/// Builds an [`Endpoint`].
pub struct EndpointBuilder {
    router: ChannelRouter,
    handler: Box<dyn SocketHandler>,
    pubsub: Option<Arc<dyn PubSub>>,
    config: SocketConfig,
    telemetry: Telemetry,
    check_origin: CheckOrigin,
    inspector: Option<Arc<Inspector>>,
    hibernation: Option<Arc<dyn Hibernate>>,
}

impl EndpointBuilder {
    /// Counts messages and bytes per connection and per channel into `inspector`,
    /// for an observer to sample (default: none, and nothing is counted). See
    /// [`crate::inspect`].
    pub fn inspector(mut self, inspector: Arc<Inspector>) -> Self {
        self.inspector = Some(inspector);
        self
    }

    /// Hibernates connections quiet for [`SocketConfig::hibernate_after`] through
    /// `hook` (default: none, and connections never hibernate). Its WebSockets are
    /// then upgraded by the framework itself rather than axum, so that a quiet
    /// connection can let its WebSocket go and keep the stream: see
    /// [`crate::hibernate`].
    pub fn hibernation(mut self, hook: Arc<dyn Hibernate>) -> Self {
        self.hibernation = Some(hook);
        self
    }

    /// Who hears about connects, joins, messages handled and pushes (default: nobody,
    /// at no cost). See [`crate::telemetry`].
    pub fn telemetry(mut self, handler: Arc<dyn TelemetryHandler>) -> Self {
        self.telemetry = Telemetry::new(handler);
        self
    }

    /// Who may connect (default: everyone, anonymously).
    pub fn handler(mut self, handler: impl SocketHandler) -> Self {
        self.handler = Box::new(handler);
        self
    }

    /// The pubsub to broadcast on (default: a new [`LocalPubSub`]).
    pub fn pubsub(mut self, pubsub: Arc<dyn PubSub>) -> Self {
        self.pubsub = Some(pubsub);
        self
    }

    /// The bounds of each connection.
    pub fn config(mut self, config: SocketConfig) -> Self {
        self.config = config;
        self
    }

    /// Which web pages may open a socket (default: [`CheckOrigin::SameHost`], pages
    /// this server served). Clients that send no `Origin` (not a browser) always may.
    pub fn check_origin(mut self, check: CheckOrigin) -> Self {
        self.check_origin = check;
        self
    }

    /// The endpoint. Panics if the configuration cannot work
    /// ([`SocketConfig::problem`]): at start-up, not at the first connection.
    pub fn build(mut self) -> Endpoint {
        if let Some(problem) = self.config.problem() {
            panic!("invalid SocketConfig: {problem}");
        }
        // The router carries it to every connection and channel of this endpoint.
        self.router.telemetry = self.telemetry;
        Endpoint {
            inner: Arc::new(Inner {
                router: Arc::new(self.router),
                handler: self.handler,
                pubsub: self.pubsub.unwrap_or_else(|| Arc::new(LocalPubSub::new())),
                config: Arc::new(self.config),
                check_origin: self.check_origin,
                connections: Counter::default(),
                next_connection: std::sync::atomic::AtomicU64::new(1),
                inspector: self.inspector,
                hibernation: self.hibernation,
                released: Arc::default(),
                shutdown: tokio::sync::watch::Sender::new(false),
            }),
        }
    }
}

/// A count of open connections that can be waited on until it is zero.
#[derive(Default)]
struct Counter {
    open: AtomicUsize,
    /// Woken when `open` falls to zero.
    idle: Notify,
}

impl Counter {
    fn add(&self) {
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    fn remove(&self) {
        if self.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }

    fn get(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Completes once the count is zero (at once if it is).
    async fn zero(&self) {
        loop {
            // Registered before the check: a last connection ending in between still
            // wakes this wait (`notify_waiters` keeps no permit for latecomers).
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.open.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }
}

/// Counts a live connection for as long as it lives.
struct Live(Arc<Inner>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.connections.remove();
    }
}

impl Endpoint {
    /// An endpoint serving `router`'s channels.
    pub fn builder(router: ChannelRouter) -> EndpointBuilder {
        EndpointBuilder {
            router,
            handler: Box::new(anonymous),
            pubsub: None,
            config: SocketConfig::default(),
            telemetry: Telemetry::none(),
            check_origin: CheckOrigin::default(),
            inspector: None,
            hibernation: None,
        }
    }

    /// Connections whose WebSocket is released now: hibernating (see
    /// [`crate::hibernate`]).
    pub fn hibernating(&self) -> usize {
        self.inner.released.load(Ordering::Relaxed)
    }

    /// Serves one connection on `io`, a byte stream past the WebSocket handshake (the
    /// other end speaks WebSocket frames as a client), the way the endpoint serves an
    /// upgraded HTTP connection, hibernation included. Tests use one end of
    /// [`tokio::io::duplex`], so a real WebSocket runs on tokio's paused clock.
    pub fn serve_stream<Io>(&self, io: Io, params: &[(&str, &str)]) -> Result<(), Refused>
    where
        Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let params: ConnectParams = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let socket = self.inner.connect(&params)?;
        tokio::spawn(serve_io(self.clone(), io, socket));
        Ok(())
    }

    /// The inspector connections register with, if the builder was given one.
    pub fn inspector(&self) -> Option<&Arc<Inspector>> {
        self.inner.inspector.as_ref()
    }

    /// The pubsub every channel of this endpoint uses.
    pub fn pubsub(&self) -> &Arc<dyn PubSub> {
        &self.inner.pubsub
    }

    /// The per-connection bounds.
    pub fn config(&self) -> &SocketConfig {
        &self.inner.config
    }

    /// Broadcasts `event` to every client joined to `topic` (from outside a channel,
    /// e.g. after a database write). Returns how many local subscribers it reached.
    pub fn broadcast(&self, topic: &str, event: &str, payload: Payload) -> usize {
        self.inner
            .pubsub
            .broadcast(Broadcast::new(topic, event, payload))
    }

    /// Closes every connection whose socket id is `socket_id` (code 1001), on every
    /// node: how to log a user out everywhere.
    pub fn disconnect(&self, socket_id: &str) -> usize {
        self.inner.pubsub.broadcast(disconnect_broadcast(socket_id))
    }

    /// Closes every open connection with 1001 "server shutting down", each after the
    /// frames already queued for it (within [`SocketConfig::close_timeout`]), and
    /// refuses new ones (503): the graceful half of stopping a server. phoenix.js
    /// clients reconnect to whatever serves the address next.
    ///
    /// Returns at once; [`Endpoint::closed`] (or [`Server::shutdown`], which also
    /// waits for each client's own close) completes when they are gone.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Calls [`Endpoint::shutdown`] when `signal` completes: one line to hand the
    /// endpoint a process-wide shutdown signal, e.g. a `CancellationToken`'s
    /// `cancelled_owned()`. The wait runs in a task of its own (call it inside a
    /// tokio runtime) and does not keep the endpoint alive.
    pub fn shutdown_on(&self, signal: impl Future<Output = ()> + Send + 'static) {
        let endpoint = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            signal.await;
            if let Some(inner) = endpoint.upgrade() {
                inner.shutdown.send_replace(true);
            }
        });
    }

    /// Whether [`Endpoint::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        *self.inner.shutdown.borrow()
    }

    /// How many connections are open now.
    pub fn connections(&self) -> usize {
        self.inner.connections.get()
    }

    /// Completes when no connection is open (at once if none is): after
    /// [`Endpoint::shutdown`], when every socket has sent its close frame. It does not
    /// wait for new connections to stop coming; bound it with the drain deadline.
    pub async fn closed(&self) {
        self.inner.connections.zero().await
    }

    /// Routes for a socket mounted at `mount` (e.g. `/socket`): the WebSocket is at
    /// `{mount}/websocket`, as phoenix.js expects.
    pub fn routes(&self, mount: &str) -> axum::Router {
        axum::Router::new()
            .route(&format!("{mount}/websocket"), get(upgrade))
            .with_state(self.clone())
    }

    /// Opens a connection without a network: the same socket state machine, driven
    /// through in-memory queues, so tests can use tokio's paused clock.
    pub fn connect_in_memory(&self, params: &[(&str, &str)]) -> Result<ChannelClient, Refused> {
        let params: ConnectParams = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let socket = self.inner.connect(&params)?;
        let (in_tx, in_rx) = futures::channel::mpsc::channel::<Inbound>(16);
        // The client side reads through a small queue, so a test client that stops
        // reading fills it and then the outbox, like a real one would.
        let (out_tx, out_rx) = futures::channel::mpsc::channel::<Outbound>(8);
        tokio::spawn(self.clone().run_connection(socket, in_rx, out_tx, None));
        Ok(ChannelClient::in_memory(in_tx, out_rx))
    }

    /// Runs one connection to its end: the socket state machine on the caller's task,
    /// the writer on a task of its own (so a client that does not read blocks only it).
    ///
    /// Not `async`: the setup runs here, and the future returned holds only what the
    /// connection needs while it lives. An `async fn` that builds a future and then
    /// awaits or boxes it keeps a slot for that future too (rustc does not reuse it),
    /// which made every idle connection's task about a kilobyte bigger; so does an
    /// `async move` block awaiting a future it captured.
    fn run_connection<In, S>(
        self,
        socket: SocketInfo,
        inbound: In,
        sink: S,
        park: Option<Arc<dyn Park>>,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        In: futures::Stream<Item = Inbound> + Unpin + Send + 'static,
        S: futures::Sink<Outbound> + Unpin + Send + 'static,
    {
        let inner = self.inner;
        inner.connections.add();
        let live = Live(inner.clone());
        inner.telemetry().emit(|| TelemetryEvent::SocketConnected);
        let conn = inner.next_connection.fetch_add(1, Ordering::Relaxed);
        // Everything logged while serving this connection, its channels included,
        // carries these fields. When nothing listens at info level, the span is a no-op.
        let span = tracing::info_span!(
            "socket",
            socket_id = %socket.id.as_deref().unwrap_or("anonymous"),
            conn,
        );
        // A connection that hibernates lets its writer end meanwhile (see
        // `crate::hibernate`): its outbox keeps the writer then.
        let parks = match (&inner.hibernation, &park) {
            (Some(_), Some(socket)) if inner.config.hibernate_after.is_some() => {
                Some(socket.clone())
            }
            _ => None,
        };
        let (outbox, rx) = match parks {
            Some(_) => Outbox::parking(inner.config.outbound_capacity),
            None => Outbox::new(inner.config.outbound_capacity),
        };
        let mut socket = socket;
        let inspected = inner.inspector.as_ref().map(|inspector| {
            let registration = inspector.register(
                conn,
                socket.id.clone(),
                outbox.clone(),
                inner.config.outbound_capacity,
            );
            // Its channels find the connection's counters there when they join.
            socket.assigns.insert(registration.socket());
            registration
        });
        // Only an inspected connection's writer counts (and keeps its registration
        // until it ends): without an inspector the writer's task and the connection's
        // carry nothing for one. The reader is counted by `Connection`.
        let config = inner.config.clone();
        let writer = match (parks, inspected) {
            (Some(socket), inspected) => {
                let runtime = tokio::runtime::Handle::current();
                let writer = match inspected {
                    Some(registration) => {
                        let sink = CountOut::new(sink, registration);
                        spawn_writer(runtime, sink, rx, config, socket)
                    }
                    None => spawn_writer(runtime, sink, rx, config, socket),
                };
                outbox.set_writer(writer);
                // The connection awaits its writer itself (`Connection::run`).
                None
            }
            (None, Some(registration)) => Some(tokio::spawn(write_loop(
                CountOut::new(sink, registration),
                rx,
                config,
            ))),
            (None, None) => Some(tokio::spawn(write_loop(sink, rx, config))),
        };
        let connection = Connection::new(
            inner.config.clone(),
            inner.router.clone(),
            inner.pubsub.clone(),
            socket,
            outbox,
            inner.shutdown.subscribe(),
        );
        let connection = match (&inner.hibernation, park) {
            (Some(hook), Some(socket)) => connection.hibernation(hook.clone(), socket),
            _ => connection,
        };
        let run = connection.run(inbound);
        // `then` polls `run` where it lies; an `async` block awaiting it would move it
        // into a second slot of its own (and double the task's size).
        futures::FutureExt::then(run, move |reason| async move {
            if let Some(writer) = writer {
                let _ = writer.await;
            }
            live.0
                .telemetry()
                .emit(|| TelemetryEvent::SocketClosed { code: reason.code });
            drop(live);
        })
        .instrument(span)
    }
}

async fn upgrade(
    State(endpoint): State<Endpoint>,
    Query(params): Query<ConnectParams>,
    headers: HeaderMap,
    uri: Uri,
    ws: Upgrade,
) -> Response {
    if let Some(refused) = check_origin(&endpoint, &headers, &uri) {
        return refused;
    }
    if endpoint.is_shutting_down() {
        // A balancer still sending clients here learns to try another node.
        return (StatusCode::SERVICE_UNAVAILABLE, "server shutting down").into_response();
    }
    match params.get("vsn").map(String::as_str) {
        Some(VSN) => {}
        other => {
            endpoint
                .inner
                .telemetry()
                .emit(|| TelemetryEvent::SocketRefused {
                    reason: "unsupported_vsn",
                });
            tracing::warn!(vsn = ?other, "connection refused: unsupported serializer version");
            return (
                StatusCode::FORBIDDEN,
                format!("this server speaks the Phoenix v2 protocol only: connect with ?vsn={VSN}"),
            )
                .into_response();
        }
    }
    let socket = match endpoint.inner.connect(&params) {
        Ok(socket) => socket,
        Err(_) => {
            // Like Phoenix: no body, the client learns nothing about why.
            return StatusCode::FORBIDDEN.into_response();
        }
    };
    let ws = match ws {
        Upgrade::Axum(ws) => ws,
        Upgrade::Kept(upgrade) => {
            // The connection gets a task of its own, sized for it alone.
            return upgrade.respond(move |io| {
                tokio::spawn(serve_io(endpoint, io, socket));
            });
        }
    };
    let config = &endpoint.inner.config;
    ws.read_buffer_size(config.read_buffer_size)
        .write_buffer_size(config.write_buffer_size)
        .max_write_buffer_size(config.max_write_buffer_size)
        .max_message_size(config.max_message_size)
        .max_frame_size(config.max_frame_size)
        .on_upgrade(move |ws| serve_websocket(endpoint, ws, socket))
}

// ANCHOR: check_origin
/// The 403 to answer when a web page this endpoint does not serve asks for a socket:
/// a foreign page could otherwise open one that carries its visitor's cookies.
fn check_origin(endpoint: &Endpoint, headers: &HeaderMap, uri: &Uri) -> Option<Response> {
    // No Origin: not a page in a browser, so nothing a foreign site could forge.
    let origin = headers.get(header::ORIGIN)?;
    let origin = String::from_utf8_lossy(origin.as_bytes());
    // HTTP/1.1 names the server in Host; HTTP/2 in the request's authority.
    let host = match headers.get(header::HOST) {
        Some(host) => host.to_str().ok(),
        None => uri.authority().map(|a| a.as_str()),
    };
    let why = endpoint.inner.check_origin.allows(&origin, host).err()?;
    let telemetry = endpoint.inner.telemetry();
    telemetry.emit(|| TelemetryEvent::SocketRefused { reason: "origin" });
    tracing::warn!(%origin, host, why, "WebSocket refused: origin not allowed");
    let body = format!("WebSocket refused: origin {origin} is not allowed ({why})");
    Some((StatusCode::FORBIDDEN, body).into_response())
}
// ANCHOR_END: check_origin

/// How a WebSocket is upgraded: by axum, or, on a hibernating endpoint, by the
/// framework, which keeps the upgraded stream (see [`crate::hibernate`]).
enum Upgrade {
    Axum(WebSocketUpgrade),
    Kept(KeptUpgrade),
}

impl axum::extract::FromRequestParts<Endpoint> for Upgrade {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        endpoint: &Endpoint,
    ) -> Result<Self, Response> {
        if endpoint.inner.hibernation.is_some() {
            return KeptUpgrade::from_parts(parts)
                .map(Upgrade::Kept)
                .map_err(IntoResponse::into_response);
        }
        WebSocketUpgrade::from_request_parts(parts, endpoint)
            .await
            .map(Upgrade::Axum)
            .map_err(IntoResponse::into_response)
    }
}

/// A hibernating endpoint's connection, on its own task: the stream split into the
/// connection's two halves through [`crate::hibernate`]'s shared socket.
fn serve_io<Io>(
    endpoint: Endpoint,
    io: Io,
    socket: SocketInfo,
) -> impl Future<Output = ()> + Send + 'static
where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let inner = &endpoint.inner;
    let (reader, writer, park) =
        crate::hibernate::split(io, inner.config.clone(), inner.released.clone());
    endpoint.run_connection(socket, reader, writer, Some(park))
}

/// Not `async`: the WebSocket is split here, synchronously, so the future that lives
/// as long as the connection does not also keep a slot for the unsplit socket (a
/// few hundred bytes, times every idle connection).
fn serve_websocket(
    endpoint: Endpoint,
    ws: WebSocket,
    socket: SocketInfo,
) -> impl Future<Output = ()> + Send + 'static {
    let (sink, stream) = ws.split();
    let sink = futures::SinkExt::with(sink, |out: Outbound| {
        futures::future::ready(Ok::<_, axum::Error>(match out {
            Outbound::Text(text) => Message::Text(text),
            Outbound::Close(reason) => Message::Close(Some(CloseFrame {
                code: reason.code,
                reason: reason.reason.into(),
            })),
        }))
    });
    let inbound = stream.map(|message| match message {
        Ok(Message::Text(text)) => Inbound::Text(text),
        Ok(Message::Binary(bytes)) => Inbound::Binary(bytes.to_vec()),
        Ok(Message::Ping(_) | Message::Pong(_)) => Inbound::Control,
        Ok(Message::Close(_)) => Inbound::Closed,
        Err(error) => classify(error),
    });
    endpoint.run_connection(socket, Box::pin(inbound), Box::pin(sink), None)
}

fn classify(error: axum::Error) -> Inbound {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let error = error.into_inner();
    match error.downcast_ref::<WsError>() {
        Some(WsError::Capacity(_)) => Inbound::TooBig,
        Some(WsError::Utf8(_)) => Inbound::InvalidUtf8,
        Some(WsError::ConnectionClosed | WsError::AlreadyClosed) => Inbound::Closed,
        _ => Inbound::Error(error.to_string()),
    }
}

/// How many connections the kernel may hold ready for `accept` (the kernel caps it
/// at `net.core.somaxconn`, 4096 by default). `TcpListener::bind` asks for 1024:
/// a burst of connects beyond it while the accept loop is busy is dropped, and each
/// dropped client waits for its SYN to be retransmitted, 1 s later, then 3 s: a
/// latency cliff rather than a queue (the scale lab's connect scenario showed it).
pub const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` with [`LISTEN_BACKLOG`].
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted server may bind its port again while
    // the previous one's connections sit in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// How long a closed connection of a [`Server`] keeps reading, and throwing away, what
/// its client still sends, waiting for the client's own close (a lingering close).
pub const LINGER: Duration = Duration::from_secs(1);

/// A TCP connection that, once dropped, closes the way RFC 6455 (section 7.1.1) asks
/// and HTTP servers' "lingering close" does: it shuts down its sending side (all that
/// was written, then FIN) and reads and discards what the client still sends, until
/// the client closes too, or for [`LINGER`] at most.
///
/// Why: a socket closed while the client's data is still arriving is reset, not
/// closed. The kernel sends RST and throws away what it had not sent yet, the close
/// frame included, and the client's reads fail. A client that was still sending when
/// the server closed it (too big a message, a flood) saw 1006, "connection lost",
/// instead of the close frame with 1009 or 1008 and its reason.
///
/// The WebSocket owns the stream and drops it when the connection ends, so `Drop`
/// is the one place that sees the end; the lingering runs in a task of its own, and
/// the connection counts as open (for [`Server::shutdown`]) until it is done.
struct Lingering {
    stream: Option<TcpStream>,
    open: Option<Open>,
}

/// One connection counted open in its server's [`Counter`] while it lives.
struct Open(Arc<Counter>);

impl Open {
    fn new(counter: &Arc<Counter>) -> Open {
        counter.add();
        Open(counter.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.remove();
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        // Without a runtime (it is shutting down) nobody is left to linger for.
        if let (Some(stream), Ok(runtime)) =
            (self.stream.take(), tokio::runtime::Handle::try_current())
        {
            let open = self.open.take();
            runtime.spawn(async move {
                linger(stream).await;
                drop(open);
            });
        }
    }
}

async fn linger(mut stream: TcpStream) {
    // An error means the connection is gone already; reading then fails at once.
    let _ = stream.shutdown().await;
    let mut discard = [0; 512];
    let _ = tokio::time::timeout(LINGER, async {
        // Until the client closes its side (a read of 0 bytes) or the connection fails.
        while let Ok(1..) = stream.read(&mut discard).await {}
    })
    .await;
}

impl Lingering {
    fn stream(self: Pin<&mut Self>) -> Pin<&mut TcpStream> {
        Pin::new(
            self.get_mut()
                .stream
                .as_mut()
                .expect("taken only when dropped"),
        )
    }
}

impl AsyncRead for Lingering {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.stream().poll_read(cx, buf)
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.stream().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.stream().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.stream().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.stream().poll_shutdown(cx)
    }
}

/// The listener a [`Server`] serves: a [`TcpListener`] whose connections linger,
/// counted while they are open.
struct LingeringListener {
    listener: TcpListener,
    open: Arc<Counter>,
}

impl axum::serve::Listener for LingeringListener {
    type Io = Lingering;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Lingering, SocketAddr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.listener).await;
        let stream = Lingering {
            stream: Some(stream),
            open: Some(Open::new(&self.open)),
        };
        (stream, addr)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// A running server: its address, and how to stop it.
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    /// Every TCP connection accepted and not closed yet (lingering ones included).
    open: Arc<Counter>,
}

impl Server {
    /// Serves `app` on `listener` in the background. Its connections end with a
    /// lingering close (see [`LINGER`]), so a client sees why it was closed.
    pub fn spawn(listener: TcpListener, app: axum::Router) -> std::io::Result<Server> {
        let addr = listener.local_addr()?;
        let open = Arc::new(Counter::default());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let listener = LingeringListener {
            listener,
            open: open.clone(),
        };
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        Ok(Server {
            addr,
            shutdown: Some(tx),
            task,
            open,
        })
    }

    /// Binds `127.0.0.1:port` (0 picks a free port) and serves `app`.
    pub async fn bind(port: u16, app: axum::Router) -> std::io::Result<Server> {
        Self::spawn(listen(SocketAddr::from(([127, 0, 0, 1], port)))?, app)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// TCP connections accepted and not fully closed yet: HTTP, WebSocket, and those
    /// still lingering after their close.
    pub fn connections(&self) -> usize {
        self.open.get()
    }

    /// `ws://<addr>{mount}/websocket?vsn=2.0.0` plus `params`.
    pub fn socket_url(&self, mount: &str, params: &[(&str, &str)]) -> String {
        let mut url = format!("ws://{}{mount}/websocket?", self.addr);
        for (key, value) in params {
            url.push_str(&format!("{key}={value}&"));
        }
        url.push_str("vsn=");
        url.push_str(VSN);
        url
    }

    /// Stops gracefully: stops accepting, lets the HTTP requests in flight finish,
    /// and waits until every connection it accepted has closed, each WebSocket's
    /// lingering close included (the client's close read, or [`LINGER`]), so the
    /// process can exit without resetting a connection whose close frame is on its way.
    ///
    /// WebSockets end only when their endpoint closes them: call
    /// [`Endpoint::shutdown`] on each endpoint first. Not bounded here: bound it with
    /// the drain deadline (`tokio::time::timeout`, or `serving::Shutdown::drain`);
    /// what is still open then goes with the process.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // axum's graceful shutdown: the listener is closed, idle keep-alive
        // connections too, and it returns once the requests in flight are answered.
        let _ = (&mut self.task).await;
        // Upgraded connections left axum's hands: they are counted here instead.
        self.open.zero().await;
    }

    /// Stops at once: stops accepting and aborts the server; open WebSockets are
    /// dropped without a close frame. For tests and tools; a server in production
    /// stops with [`Server::shutdown`].
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Turns a JSON value that must be an object into a payload (panics otherwise: for
/// literals in code, `json!({...})`).
pub fn payload(value: Value) -> Payload {
    match value {
        Value::Object(map) => map,
        other => panic!("a payload is a JSON object, got {other}"),
    }
}
