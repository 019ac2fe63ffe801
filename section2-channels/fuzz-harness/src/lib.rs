//! # channels-fuzz: the channels framework's fuzz harnesses
//!
//! Harnesses shared by the fuzz targets (`section2-channels/fuzz`, cargo-fuzz on
//! nightly) and the corpus replay test (`tests/fuzz_corpus.rs`, stable): one function
//! per target, taking the fuzzer's raw bytes, panicking on a broken invariant.
//!
//! Keeping them here, in a library, means the stable test checks every committed
//! corpus file with exactly the code the fuzzer ran.

use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::watch;

use channels::SocketInfo;
use channels::outbox::{Outbound, Outbox};
use channels::protocol::{BinaryPush, Frame};
use channels::pubsub::LocalPubSub;
use channels::router::ChannelRouter;
use channels::socket::{Connection, Inbound, SocketConfig};

/// Frames one [`socket_frames`] run may queue for its client at once: small, so
/// a run that floods its client exercises the back-pressure (the socket reads
/// nothing while half of it is queued).
pub const OUTBOX_CAPACITY: usize = 32;

/// Most inbound messages one [`socket_frames`] run sends (longer inputs are cut).
pub const MAX_INBOUND: usize = 64;

/// `frame_decode`: the protocol's text decoder and binary push parser on any bytes.
///
/// Invariants: no panic; a frame that decodes encodes back to text that decodes to
/// the same frame; every decode error can be put into words for the client.
pub fn frame_decode(data: &[u8]) {
    let _ = BinaryPush::parse(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Frame::decode(text) {
        Ok(frame) => {
            let again = Frame::decode(&frame.encode())
                .unwrap_or_else(|e| panic!("{frame:?} encodes to text that fails: {e}"));
            // Exact, floats included: the workspace enables serde_json's
            // `float_roundtrip`, so a relayed float keeps every bit (without it this
            // fuzzer found `700e-071` moving by 1 ULP).
            assert_eq!(again, frame, "decode(encode(frame)) changed the frame");
        }
        Err(error) => {
            assert!(
                !error.to_string().is_empty(),
                "a decode error without words"
            );
        }
    }
}

/// Splits fuzzer bytes into inbound messages: `0xff` separates them; a message
/// whose first byte is even is text (UTF-8, lossily), odd is binary.
pub fn inbound_messages(data: &[u8]) -> Vec<Inbound> {
    data.split(|b| *b == 0xff)
        .take(MAX_INBOUND)
        .map(|chunk| match chunk.split_first() {
            Some((kind, rest)) if kind % 2 == 1 => Inbound::Binary(rest.to_vec()),
            Some((_, rest)) => Inbound::Text(String::from_utf8_lossy(rest).into_owned().into()),
            None => Inbound::Control,
        })
        .collect()
}

/// `socket_frames`: a sequence of inbound messages (see [`inbound_messages`]) driven
/// through [`Connection::run`], with the `ping` and `ops` channels of the reference,
/// then the client goes away.
///
/// Invariants: no panic; the run ends;
/// every frame the socket queues is a well-formed Phoenix frame with an event; the
/// outbox never holds more than [`OUTBOX_CAPACITY`] frames; the close code is one
/// the framework documents.
pub fn socket_frames(data: &[u8]) {
    let inbound = inbound_messages(data);
    // Real time, not paused (pausing needs tokio's test-util, which the library does
    // not enable): the run never waits on a timer, the client leaves when done.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async move {
        let router = ChannelRouter::new()
            .channel::<section2_reference::part1::e01_ping::PingChannel>("ping")
            .channel::<section2_reference::part1::e03_intercept::OpsChannel>("ops");
        let (outbox, receiver) = Outbox::new(OUTBOX_CAPACITY);
        let (_stop, shutdown) = watch::channel(false);
        let config = SocketConfig {
            outbound_capacity: OUTBOX_CAPACITY,
            ..SocketConfig::default()
        };
        let connection = Connection::new(
            config,
            Arc::new(router),
            Arc::new(LocalPubSub::new()),
            SocketInfo::default(),
            outbox.clone(),
            shutdown,
        );
        // The client sends everything, letting the channel tasks run between messages
        // (so replies interleave with inbound frames), then goes away: the close
        // (1000) ends the run, or an earlier one the frames caused.
        let messages = Box::pin(futures::stream::iter(inbound).then(|message| async {
            for _ in 0..4 {
                tokio::task::yield_now().await;
            }
            message
        }));
        let run = tokio::spawn(connection.run(messages));
        // The writer: reads what the socket queues, as a client that keeps up would.
        let mut frames = 0usize;
        let reason = loop {
            assert!(
                outbox.queued() <= OUTBOX_CAPACITY,
                "the outbox holds {} frames, its capacity is {OUTBOX_CAPACITY}",
                outbox.queued()
            );
            match receiver.recv().await {
                Outbound::Text(text) => {
                    frames += 1;
                    well_formed(&text);
                }
                Outbound::Close(reason) => break reason,
            }
        };
        while let Some(text) = receiver.try_recv() {
            well_formed(&text);
        }
        let returned = run.await.expect("the connection task does not panic");
        assert_eq!(returned.code, reason.code, "run returned another reason");
        assert!(
            [1000, 1001, 1002, 1003, 1007, 1008, 1009].contains(&reason.code)
                && !reason.reason.is_empty(),
            "an undocumented close {reason:?} after {frames} frames"
        );
    });
}

fn well_formed(text: &str) {
    let frame = Frame::decode(text)
        .unwrap_or_else(|e| panic!("the socket sent {text:?}, not a frame: {e}"));
    assert!(!frame.event.is_empty(), "a frame without an event: {text}");
    assert!(!frame.topic.is_empty(), "a frame without a topic: {text}");
}
