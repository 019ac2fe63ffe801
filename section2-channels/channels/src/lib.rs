//! # channels: Phoenix-compatible channels over WebSocket
//!
//! A small channels framework that speaks the Phoenix Channels v2 JSON protocol, so
//! the official `phoenix` JavaScript client works with it unchanged. Section 2's
//! exercises are channels built on it; sections 3 and 4 build on it too.
//!
//! Read it in this order:
//!
//! 1. [`protocol`]: the frame `[join_ref, ref, topic, event, payload]`, encoded and
//!    decoded;
//! 2. [`channel`]: the [`Channel`] trait you implement, and its context;
//! 3. [`router`]: topics to channels; each joined channel is a task with a mailbox;
//! 4. [`socket`]: one connection's state machine (control events, bounds, close);
//! 5. [`pubsub`]: broadcasts, encoded once, to every subscriber of a topic;
//! 6. [`endpoint`]: the axum WebSocket endpoint, connect/refuse, disconnect by id,
//!    graceful shutdown; [`origin`], which web pages may open a socket;
//! 7. [`client`]: a Rust client for tests and tools, with wscat-style transcripts;
//! 8. [`telemetry`]: the events the framework emits for an observer (metrics, logs);
//!    [`inspect`], counters per connection and per channel that an observer samples.
//!
//! Beside the framework:
//!
//! - [`token`]: signed, expiring tokens (Phoenix.Token-like) that authenticate a socket;
//! - [`auth`]: what the authenticated socket's channels share (the user id, the app's
//!   signer).
//!
//! Read last: [`tuning`], what the scale lab measured and kept (a mailbox that costs
//! nothing while empty, a faster subscriber table for broadcasts to thousands). Each
//! piece does what a plain version in the files above does, and is used at one
//! marked seam.
//!
//! Off by default, for section 3's hard mode: [`hibernate`], an idle connection that
//! lets its WebSocket go and builds it again on its next frame.

// The only `unsafe` is one prefetch hint in `tuning`, allowed there and nowhere else.
#![deny(unsafe_code)]

pub mod auth;
pub mod channel;
pub mod client;
pub mod endpoint;
pub mod hibernate;
pub mod inspect;
pub mod origin;
pub mod outbox;
pub mod protocol;
pub mod pubsub;
pub mod router;
pub mod socket;
pub mod telemetry;
pub mod token;
pub mod tuning;

pub use channel::{Channel, ChannelContext, HandleIn, Handled, Join, SocketInfo, SocketRef};
pub use endpoint::{Endpoint, Refused, Server, payload};
pub use origin::CheckOrigin;
pub use protocol::{Frame, Payload, Status};
pub use pubsub::{Broadcast, LocalPubSub, PubSub};
pub use router::ChannelRouter;
pub use socket::SocketConfig;
