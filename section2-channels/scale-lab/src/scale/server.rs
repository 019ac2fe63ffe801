//! The server under test for the broadcast scenarios, run as a child process
//! (`server --kind ours|raw|floor`), driven by lines on its standard input.
//!
//! Three kinds serve the same clients the same frames:
//!
//! - `ours`: the course's endpoint (the reference `ping` channel at `/socket`), each
//!   message a [`Broadcast`](channels::pubsub::Broadcast) through the pubsub, the outbox
//!   and the writer task, as any broadcast of a channel;
//! - `raw`: [`super::raw_server`], plain tokio-tungstenite with a
//!   `tokio::sync::broadcast` of pre-encoded frames: the baseline;
//! - `floor`: [`super::floor_server`], no WebSocket library, the frame's bytes
//!   written to every socket by the publisher: what the kernel alone costs.
//!
//! The control protocol (one command a line, so the client process drives it through
//! a pipe, with no extra connection to count):
//!
//! - `pub <seq>`: broadcast one message carrying `seq` now;
//! - `run <millis> <window>`: broadcast `seq` 1, 2, ... as fast as the subscribers
//!   take them for `millis` ms, keeping at most `window` messages beyond the latest
//!   `ack`; then print `done <last seq>`;
//! - `ack <seq>`: every subscriber has received up to `seq` (flow control: without
//!   it a publisher outruns 10,000 writers and the bounded queues disconnect them
//!   as slow clients, which is what they are for, not what this measures).
//!
//! End of input ends the process.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Notify;

use channels::SocketConfig;
use channels::endpoint::{Endpoint, Server};
use channels::protocol::Payload;
use channels::router::ChannelRouter;

/// The topic every subscriber joins.
pub const TOPIC: &str = "ping";
/// The broadcast's event.
pub const EVENT: &str = "tick";

/// Which server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// The course's endpoint, pubsub and outbox.
    Ours,
    /// tokio-tungstenite with a tokio broadcast channel.
    Raw,
    /// No WebSocket library: pre-encoded frame bytes written to each socket by the
    /// publisher itself, what the kernel alone costs.
    Floor,
}

impl Kind {
    /// `"ours"`, `"raw"` or `"floor"`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Raw => "raw",
            Kind::Floor => "floor",
        }
    }
}

/// One control command (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Broadcast one message now.
    Publish(u64),
    /// Broadcast as fast as the subscribers take it, for a while.
    Run {
        /// How long.
        millis: u64,
        /// Messages beyond the latest ack.
        window: u64,
    },
    /// Every subscriber has received up to this sequence number.
    Ack(u64),
}

impl Command {
    /// Parses one line; an unknown or malformed line is an error that says which.
    pub fn parse(line: &str) -> anyhow::Result<Command> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |i: usize| -> anyhow::Result<u64> {
            words
                .get(i)
                .with_context(|| format!("{line:?}: argument {i} is missing"))?
                .parse()
                .with_context(|| format!("{line:?}: argument {i} is not a number"))
        };
        let command = match words.first().copied() {
            Some("pub") if words.len() == 2 => Command::Publish(number(1)?),
            Some("ack") if words.len() == 2 => Command::Ack(number(1)?),
            Some("run") if words.len() == 3 => Command::Run {
                millis: number(1)?,
                window: number(2)?.max(1),
            },
            _ => bail!("{line:?}: expected `pub <seq>`, `ack <seq>` or `run <millis> <window>`"),
        };
        Ok(command)
    }
}

/// The wire frame of message `seq` (keys in serde_json's sorted order), padded to about `size` bytes (what both kinds
/// send, byte for byte).
pub fn frame(seq: u64, size: usize) -> String {
    let bare = format!(r#"[null,null,"{TOPIC}","{EVENT}",{{"pad":"","seq":{seq}}}]"#);
    let pad = "x".repeat(size.saturating_sub(bare.len()));
    format!(r#"[null,null,"{TOPIC}","{EVENT}",{{"pad":"{pad}","seq":{seq}}}]"#)
}

fn payload(seq: u64, size: usize) -> Payload {
    let bare = frame(seq, 0).len();
    let mut payload = Payload::new();
    payload.insert("seq".into(), seq.into());
    payload.insert("pad".into(), "x".repeat(size.saturating_sub(bare)).into());
    payload
}

/// The sequence number in a frame built by [`frame`], found without parsing JSON
/// (10,000 clients parse every message).
pub fn seq_of(text: &str) -> Option<u64> {
    let start = text.find(r#""seq":"#)? + 6;
    let digits = text[start..].bytes().take_while(u8::is_ascii_digit).count();
    text[start..start + digits].parse().ok()
}

/// Something that broadcasts message `seq` to every subscriber.
pub trait Publisher: Send + Sync + 'static {
    /// Broadcasts message `seq`.
    fn publish(&self, seq: u64);
}

struct OursPublisher {
    endpoint: Endpoint,
    size: usize,
}

impl Publisher for OursPublisher {
    fn publish(&self, seq: u64) {
        self.endpoint
            .broadcast(TOPIC, EVENT, payload(seq, self.size));
    }
}

/// Keeps a server serving while it lives.
pub type KeepAlive = Box<dyn std::any::Any + Send>;

/// Serves `kind` on 127.0.0.1 with `config`'s WebSocket settings, messages of about
/// `size` bytes; returns the address, the publisher and what keeps it serving.
pub async fn start(
    kind: Kind,
    config: SocketConfig,
    size: usize,
) -> anyhow::Result<(SocketAddr, Arc<dyn Publisher>, KeepAlive)> {
    match kind {
        Kind::Ours => {
            let router = ChannelRouter::new()
                .channel::<section2_reference::part1::e01_ping::PingChannel>(TOPIC);
            let endpoint = Endpoint::builder(router).config(config).build();
            let server = Server::bind(0, endpoint.routes("/socket")).await?;
            let addr = server.addr();
            Ok((
                addr,
                Arc::new(OursPublisher { endpoint, size }),
                Box::new(server),
            ))
        }
        Kind::Raw => super::raw_server::start(config, size).await,
        Kind::Floor => super::floor_server::start(size).await,
    }
}

/// Runs the child process: serves, prints `serving on http://<addr>`, obeys stdin.
pub async fn run_child(kind: Kind, config: SocketConfig, size: usize) -> anyhow::Result<()> {
    let (addr, publisher, _server) = start(kind, config, size).await?;
    let mut stdout = tokio::io::stdout();
    stdout
        .write_all(format!("serving {} on http://{addr}\n", kind.name()).as_bytes())
        .await?;
    stdout.flush().await?;
    let acked = Arc::new(AtomicU64::new(0));
    let acked_moved = Arc::new(Notify::new());
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut running: Option<tokio::task::JoinHandle<u64>> = None;
    while let Some(line) = lines.next_line().await? {
        match Command::parse(&line)? {
            Command::Publish(seq) => publisher.publish(seq),
            Command::Ack(seq) => {
                acked.fetch_max(seq, Ordering::AcqRel);
                acked_moved.notify_one();
            }
            Command::Run { millis, window } => {
                if running.as_ref().is_some_and(|r| !r.is_finished()) {
                    bail!("`run` while a run is going on");
                }
                let (publisher, acked, moved) =
                    (publisher.clone(), acked.clone(), acked_moved.clone());
                running = Some(tokio::spawn(async move {
                    let last = sustained(&*publisher, &acked, &moved, millis, window).await;
                    let mut stdout = tokio::io::stdout();
                    let _ = stdout.write_all(format!("done {last}\n").as_bytes()).await;
                    let _ = stdout.flush().await;
                    last
                }));
            }
        }
    }
    Ok(())
}

/// Broadcasts as fast as the acks allow for `millis`; returns the last seq sent.
async fn sustained(
    publisher: &dyn Publisher,
    acked: &AtomicU64,
    moved: &Notify,
    millis: u64,
    window: u64,
) -> u64 {
    let until = Instant::now() + Duration::from_millis(millis);
    let mut seq = acked.load(Ordering::Acquire);
    while Instant::now() < until {
        while seq >= acked.load(Ordering::Acquire) + window {
            // Bounded wait: the client process acks every few milliseconds.
            let _ = tokio::time::timeout(Duration::from_millis(5), moved.notified()).await;
            if Instant::now() >= until {
                return seq;
            }
        }
        seq += 1;
        publisher.publish(seq);
        if seq % 16 == 0 {
            // Let the writers (and the stdin reader with its acks) run on this core.
            tokio::task::yield_now().await;
        }
    }
    seq
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_bad_lines_say_what_is_expected() {
        assert_eq!(Command::parse("pub 7").unwrap(), Command::Publish(7));
        assert_eq!(Command::parse("ack 12").unwrap(), Command::Ack(12));
        assert_eq!(
            Command::parse("run 2000 64").unwrap(),
            Command::Run {
                millis: 2000,
                window: 64
            }
        );
        let error = Command::parse("publish 7").unwrap_err().to_string();
        assert!(error.contains("expected `pub <seq>`"), "{error}");
        assert!(Command::parse("pub x").is_err());
        assert!(Command::parse("run 5").is_err());
    }

    #[test]
    fn frames_have_the_requested_size_and_their_seq_reads_back() {
        let text = frame(123_456, 200);
        assert_eq!(text.len(), 200);
        assert_eq!(seq_of(&text), Some(123_456));
        assert_eq!(seq_of("[null,null,\"ping\",\"other\",{}]"), None);
        // Ours encodes the same bytes through the protocol's encoder.
        let encoded = channels::protocol::Frame::broadcast(
            TOPIC,
            EVENT,
            serde_json::Value::Object(payload(9, 200)),
        )
        .encode();
        assert_eq!(encoded, frame(9, 200));
    }
}
