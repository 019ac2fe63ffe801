//! Exercise s3.e10: hard mode: hibernate idle connections.
//!
//! - slide: slides/src/section3/part3/e10_hibernate.md
//! - tests: `mod e10_hibernate` in section3-production/tests/hibernate.rs,
//!   run by `cargo xtask check s3.e10`
//! - stuck? `cargo xtask hint s3.e10` (each hint gives away a little more)
//!
//! An idle joined connection costs about 6.0 KB, and most of a server's connections
//! are idle most of the time. Phoenix hibernates a quiet channel process (a full
//! collection, its heap compacted); Rust has nothing to compact, but a quiet
//! connection holds things it can drop and build again: tungstenite's read buffer
//! (allocated and zeroed when the connection opens), its write buffer, its state, the
//! outbox's empty slots. The framework does the mechanics (`channels::hibernate`):
//! after `SocketConfig::hibernate_after` without a frame from the client it calls
//! this hook, and it calls it again when the client's next frame arrives. The hook
//! decides what may go, and what to take back.
//!
//! Measure it: `cargo run -p section3-production --release -- hibernate-cost
//! --connections 19000 --yours` (and with `--release --features jemalloc`: whether
//! the freed memory leaves the process is the allocator's choice, see
//! `src/allocator.rs`).

use channels::hibernate::{Hibernate, Idle};

/// Outbox slots a woken connection takes back at once: the reply to the frame that
/// woke it, and a broadcast or two, in one allocation.
pub const WAKE_SLOTS: usize = 4;

/// Gives back what a quiet connection does not need, and takes it again on its next
/// frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReleaseWhenIdle;

impl Hibernate for ReleaseWhenIdle {
    fn hibernate(&self, idle: &mut Idle<'_>) -> bool {
        // TODO(s3.e10): slides/src/section3/part3/e10_hibernate.md
        // Decide whether this connection may let its WebSocket go now (nothing queued
        // for the client, no frame half read), release it, give back the outbox's
        // empty slots, and say whether it hibernated. `Idle` has every method you need.
        todo!("s3.e10: release what a quiet connection does not need")
    }

    fn wake(&self, idle: &mut Idle<'_>) {
        // TODO(s3.e10): the client's next frame arrived; take back what its reply needs.
        todo!("s3.e10: take back what the next frame needs")
    }
}
