//! # Section 2: channels over WebSocket
//!
//! A small channels framework that speaks the Phoenix Channels v2 JSON protocol, so
//! the official `phoenix` JavaScript client works with it unchanged, and the
//! exercises built on it.
//!
//! Read the provided framework in this order:
//!
//! 1. [`protocol`]: the frame `[join_ref, ref, topic, event, payload]`, encoded and
//!    decoded;
//! 2. [`channel`]: the [`Channel`] trait you implement, and its context;
//! 3. [`router`]: topics to channels; each joined channel is a task with a mailbox;
//! 4. [`socket`]: one connection's state machine (control events, bounds, close);
//! 5. [`pubsub`]: broadcasts, encoded once, to every subscriber of a topic;
//! 6. [`endpoint`]: the axum WebSocket endpoint, connect/refuse, disconnect by id;
//! 7. [`client`]: a Rust client for tests and tools, with wscat-style transcripts;
//! 8. [`telemetry`]: the events the framework emits for an observer (metrics, logs).
//!
//! Beside the framework:
//!
//! - [`activity`]: the activity feed's store on a real database (SQLite or Postgres),
//!   the source of truth the channels read from and write through;
//! - [`token`]: signed, expiring tokens (Phoenix.Token-like) that authenticate a socket.
//!
//! The exercises live in [`start`] (yours) and [`solution`] (the reference); [`app`]
//! routes their topics, and `cargo run -p section2-channels -- serve` serves them.

pub mod activity;
pub mod app;
pub mod auth;
pub mod channel;
pub mod client;
pub mod endpoint;
pub mod experiment;
pub mod feed;
pub mod fuzzing;
pub mod lab;
mod mailbox;
pub mod outbox;
pub mod protocol;
pub mod pubsub;
pub mod reports;
pub mod router;
pub mod scale;
pub mod socket;
pub mod solution;
pub mod start;
pub mod telemetry;
pub mod token;

pub use channel::{Channel, ChannelContext, HandleIn, Handled, Join, SocketInfo, SocketRef};
pub use endpoint::{Endpoint, Refused, Server, payload};
pub use protocol::{Frame, Payload, Status};
pub use pubsub::{Broadcast, LocalPubSub, PubSub};
pub use router::ChannelRouter;
pub use socket::SocketConfig;
