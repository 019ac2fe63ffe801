//! What does one frame cost to encode and decode? A typical feed event, against
//! `serde_json` parsing the same text into a bare `Value` (the floor any JSON frame
//! decoder pays) in the same run.
//!
//! `cargo bench -p channels --bench frame`

use std::hint::black_box;
use std::time::Instant;

use channels::Frame;
use criterion::{Criterion, criterion_group, criterion_main};
use figures::section2::FrameBench;
use serde_json::{Value, json};

fn feed_event() -> Frame {
    Frame::push(
        "3",
        "feed",
        "activity.created",
        json!({
            "id": 1042,
            "who_id": 77,
            "what": "checkout",
            "what_type": "order",
            "occurred_at": "2026-11-23T10:15:00Z",
            "customer_tier": "gold",
        }),
    )
}

fn bench(c: &mut Criterion) {
    let frame = feed_event();
    let text = frame.encode();
    let mut group = c.benchmark_group("frame");
    group.bench_function("encode", |b| b.iter(|| black_box(&frame).encode()));
    group.bench_function("decode", |b| {
        b.iter(|| Frame::decode(black_box(&text)).unwrap())
    });
    group.bench_function("baseline: serde_json::from_str::<Value>", |b| {
        b.iter(|| serde_json::from_str::<Value>(black_box(&text)).unwrap())
    });
    group.finish();

    let per_call = |f: &dyn Fn()| {
        let n = 200_000;
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        start.elapsed() / n
    };
    let baseline = per_call(&|| {
        black_box(serde_json::from_str::<Value>(black_box(&text)).unwrap());
    });
    let decode = per_call(&|| {
        black_box(Frame::decode(black_box(&text)).unwrap());
    });
    let encode = per_call(&|| {
        black_box(black_box(&frame).encode());
    });
    println!(
        "frame of {} bytes: decode {decode:?} (ratio {:.2} to a bare serde_json parse of {baseline:?}), encode {encode:?}",
        text.len(),
        decode.as_secs_f64() / baseline.as_secs_f64()
    );
    let figures = FrameBench {
        frame_bytes: text.len(),
        decode_ns: decode.as_secs_f64() * 1e9,
        encode_ns: encode.as_secs_f64() * 1e9,
        serde_json_parse_ns: baseline.as_secs_f64() * 1e9,
    };
    // The same figures for the results page (`cargo xtask bench` reads the file).
    let path = figures::write(&figures, None).expect("write the bench's figures");
    eprintln!("figures: {}", path.display());
}

criterion_group!(benches, bench);
criterion_main!(benches);
