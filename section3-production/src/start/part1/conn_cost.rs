//! s3.e5: what a connection costs.
//!
//! Every idle connection holds its buffers for as long as it lives. tungstenite's
//! defaults are sized for one fast transfer (128 KiB to read, 128 KiB to gather
//! writes, messages up to 64 MiB); a real-time server holds ten thousand quiet
//! connections that each send a few hundred bytes now and then. Tune the WebSocket
//! for that server, and measure the difference:
//! `cargo run -p section3-production --release -- conn-cost --connections 1000 --yours`.

use channels::SocketConfig;

/// The WebSocket settings for many small, mostly idle connections, tuned from
/// `untuned` ([`SocketConfig::tungstenite_defaults`]). Only the five WebSocket fields
/// change; the framework's own bounds (outbox, mailbox, timeouts) stay as they are.
pub fn tuned(untuned: SocketConfig) -> SocketConfig {
    // TODO(s3.e5): slides/src/section3/part1/conn_cost.md
    // Give each of read_buffer_size, write_buffer_size, max_write_buffer_size,
    // max_message_size and max_frame_size a value, and a comment saying why.
    todo!("return SocketConfig {{ read_buffer_size: .., ..untuned }} with all five tuned")
}
