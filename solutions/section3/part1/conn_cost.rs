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
// ANCHOR: tuned
pub fn tuned(untuned: SocketConfig) -> SocketConfig {
    SocketConfig {
        // Allocated and zeroed when the connection opens, so resident for as long as
        // it lives, idle or not. Channel frames are a few hundred bytes: 1 KiB reads
        // each in one system call. A larger message is not refused, the buffer grows
        // to fit it, and it takes one read per KiB (an 8 KiB message 9 reads, 3 with
        // 4 KiB, which costs about 3 KB more per idle connection).
        read_buffer_size: 1024,
        // The writer flushes after each batch it takes from the outbox, so no frame
        // waits for the buffer to fill: the size only decides how many frames of a
        // backlog share one system call. 4 KiB gathers about twenty small frames;
        // the buffer keeps the capacity a backlog grew it to (about 6 KiB), where
        // 128 KiB would keep up to 200 KiB. 0 (one `write` per frame) is the
        // cheapest in memory and the dearest in CPU.
        write_buffer_size: 4 * 1024,
        // What the WebSocket may hold beyond what the kernel took: the gathered
        // bytes plus the frame being written. 1 MiB is far above any frame the
        // course sends, and no longer unlimited.
        max_write_buffer_size: 1024 * 1024,
        // The largest client message in the course (a push with an activity) is
        // well under 1 KiB; 64 KiB leaves room and turns anything bigger into 1009.
        max_message_size: 64 * 1024,
        // A frame's room is reserved as soon as its header announces its length,
        // before its bytes arrive: with 16 MiB a few thousand clients could claim
        // gigabytes by sending headers. Browsers send a message as one frame, so the
        // frame limit is the message limit.
        max_frame_size: 64 * 1024,
        ..untuned
    }
}
// ANCHOR_END: tuned
