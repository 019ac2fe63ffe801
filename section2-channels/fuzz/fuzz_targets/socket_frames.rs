//! A sequence of inbound frames through the socket state machine (see
//! `section2_channels::fuzzing`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    section2_channels::fuzzing::socket_frames(data);
});
