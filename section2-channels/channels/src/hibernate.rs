//! Hibernation: what an idle connection gives back, and takes again on its next frame.
//!
//! Off unless asked for: an endpoint hibernates its connections only when it was
//! built with a [`Hibernate`] hook ([`EndpointBuilder::hibernation`]) and
//! [`SocketConfig::hibernate_after`] is set. Section 2's figures are measured with it
//! off.
//!
//! What a quiet connection holds that it does not need while quiet is mostly its
//! WebSocket: tungstenite's read buffer (allocated and zeroed when the connection
//! opens, `read_buffer_size` bytes), its write buffer (as large as the largest backlog
//! it ever gathered), its state and the wakers of its two halves. None of it can be
//! shrunk from outside, but all of it can be dropped and built again: between two
//! frames a WebSocket connection is nothing but its TCP stream. So a hibernating
//! connection keeps the stream and lets the WebSocket go ([`Idle::release_socket`]);
//! the first byte the client sends, or the first frame the server sends, builds a new
//! one over the same stream, with the configured buffers, in place (no handshake:
//! that happened when the connection opened).
//!
//! The connection's writer task goes too: once the socket is released and nothing is
//! queued for the client, it ends, leaving its sink and receiver in the outbox
//! (`outbox::Parking`); the first frame queued spawns it again (`spawn_writer`), and
//! so does the connection's end, to send the close frame. A waiting writer costs its
//! task and its future, about 600 bytes that a connection sending nothing does not
//! need.
//!
//! Two things make dropping it safe or not, and the hook decides on them
//! ([`Idle::queued`], [`Idle::half_read`]): a frame half read (its bytes are in the
//! buffer that would go), and frames on their way out. Bytes written but not yet
//! taken by the kernel are the framework's business: [`Idle::release_socket`] refuses
//! then.
//!
//! [`EndpointBuilder::hibernation`]: crate::endpoint::EndpointBuilder::hibernation
//! [`SocketConfig::hibernate_after`]: crate::socket::SocketConfig::hibernate_after

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::Utf8Bytes;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use futures::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self as ts, Message};

use crate::outbox::{Outbound, Outbox, OutboxReceiver};
use crate::socket::{Inbound, Parker, SocketConfig, write_or_park};

/// What a connection does once no frame has come from its client for
/// [`SocketConfig::hibernate_after`](crate::socket::SocketConfig::hibernate_after),
/// and again when the client's next frame arrives.
///
/// Called on the connection's own task, between two frames: nothing else of the
/// connection runs meanwhile. A hook that panics ends its connection.
pub trait Hibernate: Send + Sync + 'static {
    /// The connection has been quiet for the period: give back what it does not need
    /// while quiet. Returns whether it hibernated (then [`Hibernate::wake`] is called
    /// before its client's next frame is handled). Called again every period for as
    /// long as the client stays silent, since a frame the server sent in between
    /// took the socket's buffers back.
    fn hibernate(&self, idle: &mut Idle<'_>) -> bool;

    /// The client's next frame arrived, after [`Hibernate::hibernate`] returned
    /// `true`: take back what handling it needs. The socket already took its own
    /// buffers back to read the frame.
    fn wake(&self, idle: &mut Idle<'_>);
}

/// One quiet connection, as a [`Hibernate`] hook sees it.
pub struct Idle<'a> {
    outbox: &'a Outbox,
    socket: &'a dyn Park,
}

/// Why [`Idle::release_socket`] kept the WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Bytes written to it have not all been taken by the kernel yet: they would go
    /// with it.
    Unflushed,
    /// The connection is closing or closed.
    Closed,
}

impl std::fmt::Display for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kept::Unflushed => "bytes written and not yet taken by the kernel",
            Kept::Closed => "the connection is closing",
        })
    }
}

impl<'a> Idle<'a> {
    pub(crate) fn new(outbox: &'a Outbox, socket: &'a dyn Park) -> Self {
        Idle { outbox, socket }
    }

    /// Frames queued for the client and not written yet.
    pub fn queued(&self) -> usize {
        self.outbox.queued()
    }

    /// Whether the WebSocket holds part of a frame from the client (its first bytes
    /// arrived, the rest has not): releasing the socket now would lose them.
    pub fn half_read(&self) -> bool {
        self.socket.half_read()
    }

    /// Drops the WebSocket (its read and write buffers, its state), keeping the TCP
    /// stream; the next byte in either direction builds a new one with the configured
    /// buffers. Whatever it holds goes with it: check [`Idle::half_read`] first.
    /// Refuses ([`Kept`]) while bytes written to it are still on their way.
    pub fn release_socket(&mut self) -> Result<(), Kept> {
        self.socket.release()
    }

    /// Whether the WebSocket is released now.
    pub fn socket_released(&self) -> bool {
        self.socket.is_released()
    }

    /// Frames the outbox's queue has room for without growing (its capacity).
    pub fn outbox_slots(&self) -> usize {
        self.outbox.slots()
    }

    /// Gives back the room of the outbox's queue beyond `slots` frames (only what is
    /// empty: queued frames stay).
    pub fn shrink_outbox(&mut self, slots: usize) {
        self.outbox.shrink_to(slots);
    }

    /// Makes room in the outbox's queue for `slots` frames in one allocation.
    pub fn reserve_outbox(&mut self, slots: usize) {
        self.outbox.reserve(slots);
    }
}

/// A connection's socket, as hibernation sees it.
pub(crate) trait Park: Send + Sync {
    fn half_read(&self) -> bool;
    fn release(&self) -> Result<(), Kept>;
    fn is_released(&self) -> bool;
}

/// What the connection's task keeps for hibernation: boxed, so a connection without
/// it pays one pointer.
pub(crate) struct Sleeper {
    hook: Arc<dyn Hibernate>,
    socket: Arc<dyn Park>,
    period: Duration,
    /// When the idle timeout closes the connection (no frame from the client).
    close_at: Instant,
    /// The hook said it hibernated, and has not been woken since.
    asleep: bool,
}

impl Sleeper {
    pub(crate) fn new(
        hook: Arc<dyn Hibernate>,
        socket: Arc<dyn Park>,
        period: Duration,
        idle_timeout: Duration,
    ) -> Self {
        Sleeper {
            hook,
            socket,
            period,
            close_at: Instant::now() + idle_timeout,
            asleep: false,
        }
    }

    /// A frame came from the client (or the outbox drained): wakes the hook if it
    /// hibernated, and returns when to look again.
    pub(crate) fn activity(&mut self, outbox: &Outbox, idle_timeout: Duration) -> Instant {
        let now = Instant::now();
        self.close_at = now + idle_timeout;
        if std::mem::take(&mut self.asleep) {
            self.hook.wake(&mut Idle::new(outbox, &*self.socket));
        }
        (now + self.period).min(self.close_at)
    }

    /// The idle clock rang: `None` when the idle timeout is reached (close), else asks
    /// the hook to hibernate and returns when to look again.
    pub(crate) fn idle(&mut self, outbox: &Outbox) -> Option<Instant> {
        let now = Instant::now();
        if now >= self.close_at {
            return None;
        }
        if self.hook.hibernate(&mut Idle::new(outbox, &*self.socket)) {
            self.asleep = true;
            // With its socket released and nothing queued, the writer may end.
            outbox.nudge_writer();
        }
        Some((now + self.period).min(self.close_at))
    }
}

/// Spawns a hibernating connection's writer on `runtime`: [`write_or_park`], ending
/// while `socket` is released and nothing is queued. The next frame queued, or the
/// connection's end, calls this again (from whatever thread queued the frame: hence
/// the runtime handle).
pub(crate) fn spawn_writer<S>(
    runtime: tokio::runtime::Handle,
    sink: S,
    rx: OutboxReceiver,
    config: Arc<SocketConfig>,
    socket: Arc<dyn Park>,
) -> tokio::task::JoinHandle<()>
where
    S: Sink<Outbound> + Unpin + Send + 'static,
{
    let parker = WhileReleased {
        runtime: runtime.clone(),
        socket,
    };
    runtime.spawn(write_or_park(sink, rx, config, parker))
}

/// A hibernating connection's writer ends while its socket is released.
struct WhileReleased {
    runtime: tokio::runtime::Handle,
    socket: Arc<dyn Park>,
}

impl<S> Parker<S> for WhileReleased
where
    S: Sink<Outbound> + Unpin + Send + 'static,
{
    fn wants_park(&self) -> bool {
        self.socket.is_released()
    }

    fn park(self, sink: S, rx: OutboxReceiver, config: Arc<SocketConfig>) {
        let WhileReleased { runtime, socket } = self;
        rx.park(Box::new(move |rx| {
            spawn_writer(runtime, sink, rx, config, socket)
        }));
    }
}

/// The WebSocket settings a connection's socket is built (and rebuilt) with.
pub(crate) fn ws_config(config: &SocketConfig) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_size)
        .write_buffer_size(config.write_buffer_size)
        .max_write_buffer_size(config.max_write_buffer_size)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_frame_size))
}

/// A stream that counts the bytes read from it: the WebSocket has read `read` bytes,
/// and the frames it returned took `consumed`; any difference is a frame half read.
struct Counted<Io> {
    io: Io,
    read: u64,
}

impl<Io: AsyncRead + Unpin> AsyncRead for Counted<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.io).poll_read(cx, buf))?;
        self.read += (buf.filled().len() - before) as u64;
        Poll::Ready(Ok(()))
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Counted<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Bytes a client frame carrying `message` took on the wire: header, mask, payload.
/// A message that came in several frames took more (a header each): the count then
/// says "half read" forever and the connection never releases its socket, the safe
/// way to be wrong.
fn wire_len(message: &Message) -> u64 {
    let payload = match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
        Message::Close(Some(close)) => 2 + close.reason.len(),
        Message::Close(None) => 0,
        Message::Frame(frame) => return frame.len() as u64,
    };
    let length = match payload {
        0..126 => 0,
        126..65_536 => 2,
        _ => 8,
    };
    // Two header bytes, the extended length, the 4-byte mask every client frame has.
    (2 + length + 4 + payload) as u64
}

enum State<Io> {
    /// The WebSocket, boxed so that a released socket does not keep its room.
    Live {
        ws: Box<WebSocketStream<Counted<Io>>>,
        /// Bytes of the frames returned so far (see [`Counted`]).
        consumed: u64,
        /// A frame was handed to the WebSocket and not flushed since.
        unflushed: bool,
    },
    /// Hibernating: the TCP stream alone.
    Released(Io),
    /// Closed, or failed while changing state.
    Gone,
}

/// One connection's socket, shared by its reader (the connection's task) and its
/// writer (the writer task): a lock held only inside a poll, never across an await.
struct Cell<Io> {
    state: Mutex<State<Io>>,
    config: Arc<SocketConfig>,
    /// The endpoint's count of released sockets.
    released: Arc<AtomicUsize>,
}

impl<Io> Cell<Io>
where
    Io: AsyncRead + AsyncWrite + Unpin,
{
    fn lock(&self) -> MutexGuard<'_, State<Io>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Builds the WebSocket again over a released stream, `part` being what was read
    /// from it already.
    fn wake(&self, state: &mut State<Io>, part: Vec<u8>) {
        let State::Released(io) = std::mem::replace(state, State::Gone) else {
            return;
        };
        let read = part.len() as u64;
        let ws = WebSocketStream::from_partially_read(
            Counted { io, read },
            part,
            Role::Server,
            Some(ws_config(&self.config)),
        )
        // No handshake: it completes at its first poll.
        .now_or_never()
        .expect("a WebSocket over an upgraded stream needs no handshake");
        *state = State::Live {
            ws: Box::new(ws),
            consumed: 0,
            unflushed: false,
        };
        self.released.fetch_sub(1, Ordering::Relaxed);
    }

    /// The live WebSocket, built again if it was released.
    fn live<'s>(
        &self,
        state: &'s mut State<Io>,
    ) -> Result<(&'s mut WebSocketStream<Counted<Io>>, &'s mut bool), ts::Error> {
        if matches!(state, State::Released(_)) {
            self.wake(state, Vec::new());
        }
        match state {
            State::Live { ws, unflushed, .. } => Ok((ws, unflushed)),
            _ => Err(ts::Error::AlreadyClosed),
        }
    }
}

impl<Io> Drop for Cell<Io> {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if matches!(state, State::Released(_)) {
            self.released.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl<Io> Park for Cell<Io>
where
    Io: AsyncRead + AsyncWrite + Unpin + Send,
{
    fn half_read(&self) -> bool {
        match &*self.lock() {
            State::Live { ws, consumed, .. } => ws.get_ref().read != *consumed,
            _ => false,
        }
    }

    fn release(&self) -> Result<(), Kept> {
        let mut state = self.lock();
        match &*state {
            State::Live {
                unflushed: true, ..
            } => return Err(Kept::Unflushed),
            State::Live { .. } => {}
            State::Released(_) => return Ok(()),
            State::Gone => return Err(Kept::Closed),
        }
        let State::Live { ws, .. } = std::mem::replace(&mut *state, State::Gone) else {
            unreachable!("matched above")
        };
        *state = State::Released(ws.into_inner().io);
        self.released.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn is_released(&self) -> bool {
        matches!(&*self.lock(), State::Released(_))
    }
}

/// The reading half of a hibernating connection's socket.
pub(crate) struct Reader<Io>(Arc<Cell<Io>>);

/// The writing half.
pub(crate) struct Writer<Io>(Arc<Cell<Io>>);

/// Splits `io` (past the WebSocket handshake) into the connection's two halves and
/// the handle hibernation releases it through; `released` counts the endpoint's
/// released sockets.
pub(crate) fn split<Io>(
    io: Io,
    config: Arc<SocketConfig>,
    released: Arc<AtomicUsize>,
) -> (Reader<Io>, Writer<Io>, Arc<dyn Park>)
where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Built as if woken with nothing read yet: one way in.
    released.fetch_add(1, Ordering::Relaxed);
    let cell = Cell {
        state: Mutex::new(State::Released(io)),
        config,
        released,
    };
    cell.wake(&mut cell.lock(), Vec::new());
    let cell = Arc::new(cell);
    (Reader(cell.clone()), Writer(cell.clone()), cell)
}

/// How many bytes a released socket reads when its client speaks again: most
/// channel frames fit, and what does not is read by the new WebSocket.
const WAKE_READ: usize = 512;

impl<Io> Stream for Reader<Io>
where
    Io: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Inbound;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Inbound>> {
        let cell = &*self.0;
        let mut state = cell.lock();
        loop {
            match &mut *state {
                State::Live { ws, consumed, .. } => {
                    return Poll::Ready(match ready!(ws.poll_next_unpin(cx)) {
                        Some(Ok(message)) => {
                            *consumed += wire_len(&message);
                            Some(inbound(message))
                        }
                        Some(Err(error)) => Some(classify(error)),
                        None => None,
                    });
                }
                // ANCHOR: wake
                State::Released(io) => {
                    let mut bytes = [0; WAKE_READ];
                    let mut buf = ReadBuf::new(&mut bytes);
                    if let Err(error) = ready!(Pin::new(io).poll_read(cx, &mut buf)) {
                        return Poll::Ready(Some(Inbound::Error(error.to_string())));
                    }
                    if buf.filled().is_empty() {
                        // The client closed its side without a close frame.
                        return Poll::Ready(None);
                    }
                    let part = buf.filled().to_vec();
                    cell.wake(&mut state, part);
                }
                // ANCHOR_END: wake
                State::Gone => return Poll::Ready(None),
            }
        }
    }
}

fn inbound(message: Message) -> Inbound {
    match message {
        Message::Text(text) => {
            let bytes: Bytes = text.into();
            Inbound::Text(Utf8Bytes::try_from(bytes).expect("tungstenite checked UTF-8"))
        }
        Message::Binary(bytes) => Inbound::Binary(bytes.to_vec()),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Inbound::Control,
        Message::Close(_) => Inbound::Closed,
    }
}

fn classify(error: ts::Error) -> Inbound {
    match error {
        ts::Error::Capacity(_) => Inbound::TooBig,
        ts::Error::Utf8(_) => Inbound::InvalidUtf8,
        ts::Error::ConnectionClosed | ts::Error::AlreadyClosed => Inbound::Closed,
        other => Inbound::Error(other.to_string()),
    }
}

fn outbound(out: Outbound) -> Message {
    match out {
        Outbound::Text(text) => {
            let bytes: Bytes = text.into();
            Message::Text(ts::Utf8Bytes::try_from(bytes).expect("frames are UTF-8"))
        }
        Outbound::Close(reason) => Message::Close(Some(CloseFrame {
            code: reason.code.into(),
            reason: reason.reason.into(),
        })),
    }
}

impl<Io> Sink<Outbound> for Writer<Io>
where
    Io: AsyncRead + AsyncWrite + Unpin,
{
    type Error = ts::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ts::Error>> {
        let cell = &*self.0;
        let mut state = cell.lock();
        let (ws, _) = cell.live(&mut state)?;
        ws.poll_ready_unpin(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Outbound) -> Result<(), ts::Error> {
        let cell = &*self.0;
        let mut state = cell.lock();
        let (ws, unflushed) = cell.live(&mut state)?;
        *unflushed = true;
        ws.start_send_unpin(outbound(item))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ts::Error>> {
        let mut state = self.0.lock();
        match &mut *state {
            State::Live { ws, unflushed, .. } => {
                ready!(ws.poll_flush_unpin(cx))?;
                *unflushed = false;
                Poll::Ready(Ok(()))
            }
            // Nothing was written since it was released.
            State::Released(_) => Poll::Ready(Ok(())),
            State::Gone => Poll::Ready(Err(ts::Error::AlreadyClosed)),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ts::Error>> {
        let mut state = self.0.lock();
        match &mut *state {
            State::Live { ws, .. } => ws.poll_close_unpin(cx),
            State::Released(io) => Pin::new(io).poll_shutdown(cx).map_err(ts::Error::Io),
            State::Gone => Poll::Ready(Ok(())),
        }
    }
}

/// A WebSocket upgrade the framework answers itself, keeping the upgraded stream
/// (axum's hands its users a WebSocket whose stream cannot be taken back). The same
/// checks and answer as axum's, for HTTP/1.1.
pub(crate) struct KeptUpgrade {
    key: HeaderValue,
    on_upgrade: hyper::upgrade::OnUpgrade,
}

impl KeptUpgrade {
    /// The upgrade a request asks for, or the answer to a request that is not one.
    pub(crate) fn from_parts(parts: &mut Parts) -> Result<Self, (StatusCode, &'static str)> {
        let refuse = |status: StatusCode, why: &'static str| (status, why);
        if parts.method != Method::GET {
            return Err(refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "Request method must be `GET`",
            ));
        }
        let lists = |name: header::HeaderName, token: &str| {
            parts
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| {
                    value
                        .split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case(token))
                })
        };
        if !lists(header::CONNECTION, "upgrade") {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Connection header did not include 'upgrade'",
            ));
        }
        if !lists(header::UPGRADE, "websocket") {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "`Upgrade` header did not include 'websocket'",
            ));
        }
        if parts
            .headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_none_or(|version| version != "13")
        {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "`Sec-WebSocket-Version` header did not include '13'",
            ));
        }
        let Some(key) = parts.headers.get(header::SEC_WEBSOCKET_KEY).cloned() else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "`Sec-WebSocket-Key` header missing",
            ));
        };
        let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
            return Err(refuse(
                StatusCode::UPGRADE_REQUIRED,
                "WebSocket request couldn't be upgraded since no upgrade state was present",
            ));
        };
        Ok(KeptUpgrade { key, on_upgrade })
    }

    /// Answers 101 and hands the upgraded stream to `serve` once hyper lets it go.
    pub(crate) fn respond(
        self,
        serve: impl FnOnce(TokioIo<Upgraded>) + Send + 'static,
    ) -> Response {
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            // An upgrade that fails leaves nothing to serve (the client went away).
            if let Ok(upgraded) = on_upgrade.await {
                serve(TokioIo::new(upgraded));
            }
        });
        let accept = derive_accept_key(self.key.as_bytes());
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_ACCEPT, accept)
            .body(axum::body::Body::empty())
            .expect("a valid response")
    }
}
