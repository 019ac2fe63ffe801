//! # Tuning: what the scale lab measured, kept apart from the patterns
//!
//! Read this last. The other files show each pattern plainly. Each piece here
//! replaces a plain version, with the same API, at one marked seam, and stays only
//! because the scale lab measured what it buys (figures below). Swap a seam line
//! back to the plain version and the framework still works and passes its tests;
//! it only costs what the figures say.
//!
//! ## `mailbox`: a channel's mailbox that costs nothing while empty
//!
//! Seam: `use crate::tuning::mailbox as mpsc;` in `channel.rs` and `router.rs`. The
//! plain version is `use tokio::sync::mpsc;`.
//!
//! tokio's bounded channel allocates its first block of 32 message slots when it is
//! created, and every joined channel has a mailbox: ten thousand idle connections
//! hold ten thousand blocks of slots they do not use. `mailbox` is a `VecDeque`
//! behind a lock, with tokio's methods and error types, and costs what it holds.
//!
//! ```sh
//! cargo run -p scale-lab --release -- idle --steps 19000
//! # server RSS per idle joined connection, the two builds taking turns, load 2.8-7.2:
//! #   tuning::mailbox     6,029 B and 6,025 B
//! #   tokio::sync::mpsc   8,608 B and 8,612 B   (+2.6 KB, +43% per connection)
//! ```
//!
//! ## [`FastLaneMap`]: a broadcast to thousands, for less CPU
//!
//! Seam: `type Subscribers = crate::tuning::FastLaneMap;` in `pubsub.rs`. The plain
//! version is `pubsub::SubscriberMap`, a map and a loop that calls `deliver`.
//!
//! A broadcast to 10,000 connections touches 10,000 outboxes in turn, on the
//! broadcaster's core, and each one is usually a cache miss (its writer task last
//! touched it, often on the other core). `FastLaneMap` keeps each joined channel's
//! outbox in the table (Phoenix's "fastlane": asked once, at subscribe time, through
//! [`Subscriber::fastlane`](crate::pubsub::Subscriber::fastlane)), so the loop goes
//! straight to the outbox instead of through the subscriber; and it asks the CPU to
//! start loading the outbox [`PREFETCH_AHEAD`] entries ahead, so the misses overlap
//! instead of being paid one after the other. That prefetch is the crate's only
//! `unsafe` (an intrinsic that cannot fault), allowed in `fastlane.rs` and denied
//! everywhere else.
//!
//! ```sh
//! cargo bench -p channels --bench tuning
//! # in process, one broadcast and a drain per round, the tables taking turns;
//! # median time per subscriber, tuned / plain, over four runs at load 2.4-3.9:
//! #   1,000 subscribers: 0.77-0.96    10,000 subscribers: 0.53-0.78
//!
//! cargo run -p scale-lab --release -- fanout
//! # 10,000 subscribers over loopback, ours / raw tokio-tungstenite in the same run,
//! # four builds taking turns, load 2.6-7.4 (two to four runs each; the ratio swings
//! # with what the other processes leave, so compare the builds, not the runs):
//! #   before this split (fastlane + prefetch in pubsub.rs)  0.83 0.68 0.97 0.78
//! #   FastLaneMap (fastlane + prefetch)                     1.03 0.87 0.97 0.87
//! #   FastLaneMap without the prefetch                      0.83 0.70
//! #   SubscriberMap (plain)                                 0.74 0.63 0.78 0.76
//! # server CPU per message, ours / raw: tuned 1.09-1.38x, plain 1.32-1.86x
//! ```
//!
//! On average over those runs: plain 0.73, the fastlane alone 0.77, with the prefetch
//! 0.94. The plain table costs about a fifth of the fan-out throughput, and the
//! fastlane without the prefetch wins little of it back (its pointer is what lets
//! the loop prefetch at all); both stay.
//!
//! ## Tried and dropped
//!
//! The outbox's shared state used to be laid out by hand (`#[repr(C)]`, the fields
//! every send reads first, one flags byte for "closing" and "writer gone") to fill
//! as few cache lines as possible. The plain struct in `outbox.rs` measured the same
//! (idle 6,033 and 6,026 B per connection before, 6,029 and 6,025 B after; fan-out
//! as above), so it is gone.

mod fastlane;
pub(crate) mod mailbox;

pub use fastlane::{FastLaneMap, PREFETCH_AHEAD};
