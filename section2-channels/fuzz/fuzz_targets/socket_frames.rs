//! A sequence of inbound frames through the socket state machine (see
//! `channels_fuzz`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    channels_fuzz::socket_frames(data);
});
