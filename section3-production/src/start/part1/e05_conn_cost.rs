//! Exercise s3.e5: what a connection costs.
//!
//! - slide: slides/src/section3/part1/e05_conn_cost.md
//! - tests: `mod e05_conn_cost` in section3-production/tests/part1.rs,
//!   run by `cargo xtask check s3.e5`
//! - stuck? `cargo xtask hint s3.e5` (each hint gives away a little more)
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
//! Measured figures to work from: an idle joined connection costs about 5 KB besides
//! its read buffer (6.0 KB with a 1 KiB buffer, 9.1 KB with 4 KiB); tungstenite reads at
//! most `read_buffer_size` bytes per system call. Slide:
//! slides/src/section3/part1/e05_conn_cost.md. Measure the result:
//! `cargo run -p section3-production --release -- conn-cost --connections 1000 --yours`.

use channels::SocketConfig;

/// The WebSocket settings for the gateway, tuned from `untuned`
/// ([`SocketConfig::tungstenite_defaults`]). Only the five WebSocket fields change;
/// the framework's own bounds (outbox, mailbox, timeouts) stay as they are.
pub fn tuned(untuned: SocketConfig) -> SocketConfig {
    // TODO(s3.e5): slides/src/section3/part1/e05_conn_cost.md
    // Work out the read buffer from the idle budget and the reads per batch, and the
    // message and frame limits from the batch and the worst case. Give each of
    // read_buffer_size, write_buffer_size, max_write_buffer_size, max_message_size and
    // max_frame_size a value, and a comment saying which figure it comes from.
    todo!("return SocketConfig {{ read_buffer_size: .., ..untuned }} with all five tuned")
}
