//! Any bytes through the protocol decoder (see `channels_fuzz`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    channels_fuzz::frame_decode(data);
});
