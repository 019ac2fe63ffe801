//! A small Phoenix-protocol client for tests and tools: connect (over a real
//! WebSocket or in memory), join, push, wait for replies, and keep a wscat-style
//! transcript of every frame in (`<`) and out (`>`).
//!
//! It keeps refs the way phoenix.js does: refs count up from 1 as strings, and a join's
//! ref is the channel's join ref for every later push on that topic.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::outbox::{CloseReason, Outbound};
use crate::protocol::{self, Frame};
use crate::socket::Inbound;

/// How long the client waits for a frame before giving up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

enum Transport {
    Ws(Box<WebSocketStream<MaybeTlsStream<TcpStream>>>),
    Memory {
        tx: mpsc::Sender<Inbound>,
        rx: mpsc::Receiver<Outbound>,
    },
}

/// What the server sent next.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// A protocol frame.
    Frame(Frame),
    /// The server closed the connection.
    Closed(CloseReason),
}

/// Why [`ChannelClient::connect`] failed.
#[derive(Debug)]
pub enum ConnectError {
    /// The server answered the upgrade with this HTTP status (403: refused).
    Status(u16),
    /// Anything else (no server, not a WebSocket).
    Other(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Status(status) => write!(f, "the server answered HTTP {status}"),
            ConnectError::Other(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for ConnectError {}

/// One client connection.
pub struct ChannelClient {
    transport: Transport,
    next_ref: u64,
    join_refs: HashMap<String, String>,
    /// The topic of each push sent, by ref, so a wait for a reply can tell when that
    /// topic's channel crashed instead.
    sent_topics: HashMap<String, String>,
    buffered: VecDeque<Received>,
    transcript: Vec<String>,
    timeout: Duration,
}

impl ChannelClient {
    /// Connects to `url` (`ws://host/socket/websocket?vsn=2.0.0&...`).
    pub async fn connect(url: &str) -> Result<ChannelClient, ConnectError> {
        match tokio_tungstenite::connect_async(url).await {
            Ok((ws, _)) => Ok(Self::with(Transport::Ws(Box::new(ws)))),
            Err(tungstenite::Error::Http(response)) => {
                Err(ConnectError::Status(response.status().as_u16()))
            }
            Err(e) => Err(ConnectError::Other(e.to_string())),
        }
    }

    pub(crate) fn in_memory(tx: mpsc::Sender<Inbound>, rx: mpsc::Receiver<Outbound>) -> Self {
        Self::with(Transport::Memory { tx, rx })
    }

    fn with(transport: Transport) -> Self {
        ChannelClient {
            transport,
            next_ref: 0,
            join_refs: HashMap::new(),
            sent_topics: HashMap::new(),
            buffered: VecDeque::new(),
            transcript: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Waits at most `timeout` for each frame (default [`DEFAULT_TIMEOUT`]).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// A fresh ref, as phoenix.js makes them.
    pub fn make_ref(&mut self) -> String {
        self.next_ref += 1;
        self.next_ref.to_string()
    }

    /// The join ref of a joined topic.
    pub fn join_ref(&self, topic: &str) -> Option<&str> {
        self.join_refs.get(topic).map(String::as_str)
    }

    /// Every frame so far, one per line: `> ` sent, `< ` received.
    pub fn transcript(&self) -> String {
        self.transcript.join("\n")
    }

    /// Sends one text frame as it is (it need not be valid).
    pub async fn send_text(&mut self, text: &str) {
        self.transcript.push(format!("> {text}"));
        let sent = match &mut self.transport {
            Transport::Ws(ws) => ws.send(Message::text(text)).await.is_ok(),
            Transport::Memory { tx, .. } => tx.send(Inbound::Text(text.into())).await.is_ok(),
        };
        if !sent {
            self.transcript
                .push("! send failed: connection closed".into());
        }
    }

    /// Sends one binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.transcript
            .push(format!("> (binary, {} bytes)", bytes.len()));
        let _ = match &mut self.transport {
            Transport::Ws(ws) => ws.send(Message::binary(bytes)).await.is_ok(),
            Transport::Memory { tx, .. } => tx.send(Inbound::Binary(bytes)).await.is_ok(),
        };
    }

    /// Sends a frame.
    pub async fn send_frame(&mut self, frame: &Frame) {
        self.send_text(&frame.encode()).await;
    }

    /// Sends `phx_join` on `topic` and waits for its reply. On an ok reply, later
    /// pushes on the topic carry this join's ref.
    pub async fn join(&mut self, topic: &str, payload: Value) -> Frame {
        let join_ref = self.make_ref();
        self.send_frame(&Frame {
            join_ref: Some(join_ref.clone()),
            msg_ref: Some(join_ref.clone()),
            topic: topic.into(),
            event: protocol::JOIN.into(),
            payload,
        })
        .await;
        let reply = self.reply_to(&join_ref).await;
        if reply_status(&reply) == Some("ok") {
            self.join_refs.insert(topic.into(), join_ref);
        }
        reply
    }

    /// Pushes `event` on `topic` (with the topic's join ref, if joined); returns its ref.
    pub async fn push(&mut self, topic: &str, event: &str, payload: Value) -> String {
        let msg_ref = self.make_ref();
        let join_ref = self.join_refs.get(topic).cloned();
        if self.sent_topics.len() > 1024 {
            // A long-lived client: forget old refs rather than grow.
            self.sent_topics.clear();
        }
        self.sent_topics.insert(msg_ref.clone(), topic.to_owned());
        self.send_frame(&Frame {
            join_ref,
            msg_ref: Some(msg_ref.clone()),
            topic: topic.into(),
            event: event.into(),
            payload,
        })
        .await;
        msg_ref
    }

    /// Pushes `event` and waits for its reply.
    pub async fn call(&mut self, topic: &str, event: &str, payload: Value) -> Frame {
        let msg_ref = self.push(topic, event, payload).await;
        self.reply_to(&msg_ref).await
    }

    /// Leaves `topic` and waits for the reply.
    pub async fn leave(&mut self, topic: &str) -> Frame {
        let reply = self.call(topic, protocol::LEAVE, json!({})).await;
        self.join_refs.remove(topic);
        reply
    }

    /// Sends a heartbeat and waits for its reply.
    pub async fn heartbeat(&mut self) -> Frame {
        self.call(protocol::PHOENIX_TOPIC, protocol::HEARTBEAT, json!({}))
            .await
    }

    /// Waits for the reply to `msg_ref`; other frames are kept for [`Self::next`].
    /// Panics (with the transcript) if none arrives in time, the server closes, or the
    /// channel the request went to crashes (`phx_error`) first.
    pub async fn reply_to(&mut self, msg_ref: &str) -> Frame {
        let topic = self.sent_topics.get(msg_ref).cloned();
        let position = self.buffered.iter().position(|r| {
            matches!(r, Received::Frame(f) if f.event == protocol::REPLY && f.msg_ref.as_deref() == Some(msg_ref))
        });
        if let Some(position) = position {
            let Some(Received::Frame(frame)) = self.buffered.remove(position) else {
                unreachable!()
            };
            return frame;
        }
        loop {
            match self.receive().await {
                Some(Received::Frame(frame))
                    if frame.event == protocol::REPLY
                        && frame.msg_ref.as_deref() == Some(msg_ref) =>
                {
                    return frame;
                }
                Some(Received::Frame(frame))
                    if frame.event == protocol::ERROR && Some(&frame.topic) == topic.as_ref() =>
                {
                    panic!(
                        "the channel on {} crashed (phx_error) before replying to ref {msg_ref}: \
                         a panic in its callback, e.g. a todo!() still in place; transcript:\n{}",
                        frame.topic,
                        self.transcript()
                    );
                }
                Some(Received::Closed(reason)) => panic!(
                    "the server closed the connection ({} {}) before replying to ref \
                     {msg_ref}; transcript:\n{}",
                    reason.code,
                    reason.reason,
                    self.transcript()
                ),
                Some(other) => self.buffered.push_back(other),
                None => panic!(
                    "no reply to ref {msg_ref} within {:?}; transcript:\n{}",
                    self.timeout,
                    self.transcript()
                ),
            }
        }
    }

    /// The next frame or close, in arrival order; `None` if nothing came in time.
    pub async fn next(&mut self) -> Option<Received> {
        match self.buffered.pop_front() {
            Some(received) => Some(received),
            None => self.receive().await,
        }
    }

    /// The next frame; panics (with the transcript) on a close or a timeout.
    pub async fn next_frame(&mut self) -> Frame {
        match self.next().await {
            Some(Received::Frame(frame)) => frame,
            other => panic!(
                "expected a frame, got {other:?}; transcript:\n{}",
                self.transcript()
            ),
        }
    }

    /// Waits until the server closes the connection; panics if it does not in time.
    pub async fn closed(&mut self) -> CloseReason {
        loop {
            match self.next().await {
                Some(Received::Closed(reason)) => return reason,
                Some(Received::Frame(_)) => {}
                None => panic!(
                    "the server did not close the connection within {:?}; transcript:\n{}",
                    self.timeout,
                    self.transcript()
                ),
            }
        }
    }

    /// Closes the connection from the client side.
    pub async fn close(mut self) {
        self.transcript.push("> close".into());
        match &mut self.transport {
            Transport::Ws(ws) => {
                let _ = ws.send(Message::Close(None)).await;
            }
            Transport::Memory { tx, .. } => {
                let _ = tx.send(Inbound::Closed).await;
            }
        }
    }

    async fn receive(&mut self) -> Option<Received> {
        let received = tokio::time::timeout(self.timeout, self.receive_forever())
            .await
            .ok()?;
        match &received {
            Received::Frame(frame) => self.transcript.push(format!("< {}", frame.encode())),
            Received::Closed(reason) => self
                .transcript
                .push(format!("< close {} {}", reason.code, reason.reason)),
        }
        Some(received)
    }

    async fn receive_forever(&mut self) -> Received {
        loop {
            let text = match &mut self.transport {
                Transport::Ws(ws) => match ws.next().await {
                    Some(Ok(Message::Text(text))) => text.as_str().to_owned(),
                    Some(Ok(Message::Close(frame))) => {
                        return Received::Closed(match frame {
                            Some(frame) => {
                                CloseReason::new(u16::from(frame.code), frame.reason.as_str())
                            }
                            None => CloseReason::new(u16::from(CloseCode::Status), ""),
                        });
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Received::Closed(CloseReason::new(1006, e.to_string())),
                    None => return Received::Closed(CloseReason::new(1006, "connection lost")),
                },
                Transport::Memory { rx, .. } => match rx.next().await {
                    Some(Outbound::Text(text)) => text.as_str().to_owned(),
                    Some(Outbound::Close(reason)) => return Received::Closed(reason),
                    None => return Received::Closed(CloseReason::new(1006, "connection lost")),
                },
            };
            return Received::Frame(decode_server_frame(&text));
        }
    }
}

/// Decodes a frame the server sent (its payload need not be an object).
fn decode_server_frame(text: &str) -> Frame {
    let value: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("the server sent invalid JSON ({e}): {text}"));
    let items = value
        .as_array()
        .filter(|items| items.len() == 5)
        .unwrap_or_else(|| panic!("the server sent a frame that is not a 5-array: {text}"));
    let string = |v: &Value| v.as_str().map(str::to_owned);
    Frame {
        join_ref: string(&items[0]),
        msg_ref: string(&items[1]),
        topic: string(&items[2]).unwrap_or_default(),
        event: string(&items[3]).unwrap_or_default(),
        payload: items[4].clone(),
    }
}

/// The `status` of a `phx_reply` frame.
pub fn reply_status(frame: &Frame) -> Option<&str> {
    frame.payload.get("status").and_then(Value::as_str)
}

/// The `response` of a `phx_reply` frame.
pub fn reply_response(frame: &Frame) -> &Value {
    frame.payload.get("response").unwrap_or(&Value::Null)
}
