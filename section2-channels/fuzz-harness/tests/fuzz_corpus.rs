//! Replays every committed fuzz corpus file (section2-channels/fuzz/corpus/<target>/)
//! through the same harness the fuzzer runs (`channels_fuzz`), on the
//! stable toolchain: what the fuzzer once found stays fixed.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus {} is missing: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the corpus {} is empty", dir.display());
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

fn replay(target: &str, harness: fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let result = std::panic::catch_unwind(|| harness(&bytes));
        assert!(
            result.is_ok(),
            "{target}: the corpus file {} breaks an invariant (the panic above says which); \
             reproduce with `cargo +nightly fuzz run {target} {}` in section2-channels/fuzz",
            path.display(),
            path.display()
        );
    }
}

#[test]
fn frame_decode_corpus() {
    replay("frame_decode", channels_fuzz::frame_decode);
}

#[test]
fn socket_frames_corpus() {
    replay("socket_frames", channels_fuzz::socket_frames);
}

/// The fuzzer's one finding: without serde_json's `float_roundtrip` the decimal
/// `700e-071` parsed 1 ULP away from the nearest f64, so a payload relayed by the
/// server (decoded, re-encoded) changed. Kept here by name as well as in the corpus.
#[test]
fn a_relayed_float_keeps_every_bit() {
    for float in [
        "700e-071",
        "0.1",
        "2.2250738585072014e-308",
        "1.7976931348623157e308",
    ] {
        let frame = format!(r#"["1","2","room:lobby","new_msg",{{"x":{float}}}]"#);
        channels_fuzz::frame_decode(frame.as_bytes());
    }
}
