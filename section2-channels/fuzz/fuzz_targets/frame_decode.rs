//! Any bytes through the protocol decoder (see `section2_channels::fuzzing`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    section2_channels::fuzzing::frame_decode(data);
});
