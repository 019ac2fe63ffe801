//! s3.e5: what a connection costs.
//!
//! Every idle connection holds its buffers for as long as it lives. tungstenite's
//! defaults are sized for one fast transfer (128 KiB to read, 128 KiB to gather
//! writes, messages up to 64 MiB). Section 2's channels run with settings chosen for the
//! course's chat and feed, whose frames are a few hundred bytes. This server is another
//! one, a sensor gateway, and its figures ask for other settings:
//!
//! - **idle**: each server holds 100,000 devices, joined and quiet between batches, in
//!   1.2 GB: at most 12,000 bytes per idle joined connection;
//! - **batches**: every few seconds a device sends a batch of readings, one message of
//!   up to 8 KiB in one frame (8,200 bytes on the wire with its header), which must
//!   take at most 3 reads;
//! - **worst case**: nothing legitimate is larger, and one device may make the server
//!   hold at most 64 KiB while it reads
//!   ([`inbound_worst_case_bytes`](crate::conn_cost::inbound_worst_case_bytes)); a
//!   bigger message closes its connection with 1009.
//!
//! Measure the result:
//! `cargo run -p section3-production --release -- conn-cost --connections 1000 --yours`.

use channels::SocketConfig;

/// The WebSocket settings for the gateway, tuned from `untuned`
/// ([`SocketConfig::tungstenite_defaults`]). Only the five WebSocket fields change;
/// the framework's own bounds (outbox, mailbox, timeouts) stay as they are.
// ANCHOR: tuned
pub fn tuned(untuned: SocketConfig) -> SocketConfig {
    SocketConfig {
        // Allocated and zeroed when the connection opens, so resident for as long as
        // it lives, idle or not. tungstenite reads at most this much per system call:
        // a batch of 8,200 bytes takes 3 reads with 4 KiB (9 with section 2's 1 KiB),
        // and 3 reads need at least 2,734 bytes. An idle joined connection costs about
        // 5 KB besides this buffer, so the 12,000-byte budget leaves it about 7 KB:
        // 4 KiB comes to about 9.1 KB per connection, 8 KiB (2 reads) to about 13 KB,
        // over the budget.
        read_buffer_size: 4 * 1024,
        // The writer flushes after each batch it takes from the outbox, so no frame
        // waits for the buffer to fill: the size only decides how many frames of a
        // backlog share one system call. 4 KiB gathers about twenty small frames; the
        // buffer keeps the capacity a backlog grew it to (about 6 KiB), where 128 KiB
        // would keep up to 200 KiB. It costs nothing while the connection is idle.
        write_buffer_size: 4 * 1024,
        // What the WebSocket may hold beyond what the kernel took: the gathered bytes
        // plus the frame being written. 1 MiB is far above anything the gateway sends,
        // and no longer unlimited.
        max_write_buffer_size: 1024 * 1024,
        // A batch (8 KiB) must pass. One device can make the server hold the larger of
        // the read buffer and the frame limit, plus the message limit: with both limits
        // at L (and L above the read buffer) that is 2L, so the 64 KiB allowed gives
        // L = 32 KiB, four batches' worth, and anything bigger closes with 1009.
        max_message_size: 32 * 1024,
        // A frame's room is reserved as soon as its header announces its length, before
        // its bytes arrive. Devices send a batch as one frame, so the frame limit is the
        // message limit: 32 KiB (frame) + 32 KiB (message) = 64 KiB, the budget.
        max_frame_size: 32 * 1024,
        ..untuned
    }
}
// ANCHOR_END: tuned
