//! s3.e10: hard mode: hibernate idle connections.
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
//! --connections 19000`, and with `--release --features jemalloc` (the figures of
//! both allocators are in `solutions/section3/part3.md`).

use channels::hibernate::{Hibernate, Idle};

/// Outbox slots a woken connection takes back at once: the reply to the frame that
/// woke it, and a broadcast or two, in one allocation.
pub const WAKE_SLOTS: usize = 4;

/// Gives back what a quiet connection does not need, and takes it again on its next
/// frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReleaseWhenIdle;

// ANCHOR: hibernate
impl Hibernate for ReleaseWhenIdle {
    fn hibernate(&self, idle: &mut Idle<'_>) -> bool {
        // Frames on their way to the client: the writer is about to use the socket,
        // so dropping it now would only build it again at once.
        if idle.queued() > 0 {
            return false;
        }
        // The first bytes of a frame arrived and the rest has not: they live in the
        // read buffer, and releasing the socket would lose them (the stream would
        // then start in the middle of a frame). Try again next period.
        if idle.half_read() {
            return false;
        }
        // Bytes written and not yet taken by the kernel: the framework refuses, and
        // the next period tries again.
        if idle.release_socket().is_err() {
            return false;
        }
        // Nothing is queued: the queue's slots are memory nobody uses until the next
        // frame, which grows it again.
        idle.shrink_outbox(0);
        true
    }

    fn wake(&self, idle: &mut Idle<'_>) {
        // The socket took its buffers back to read this frame; the reply comes next.
        // One allocation for a few frames instead of growing the queue by doubling.
        idle.reserve_outbox(WAKE_SLOTS);
    }
}
// ANCHOR_END: hibernate
