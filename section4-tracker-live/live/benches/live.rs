//! What does "render everything, then diff" cost per event, next to what the wire
//! needs anyway (serialising the full render)?
//!
//! The feed page with 26 activities, after a new one was added on top:
//! - render + diff against the previous render (what the `lv:` channel does per event);
//! - render + serialise the diff to JSON (the whole per-event cost before the socket);
//! - baseline: render + serialise the full render (a framework without diffs).
//!
//! `cargo bench -p live --bench live`

use std::hint::black_box;
use std::time::{Duration, Instant};

use activity::{Activity, ActivityKind, CustomerTier};
use criterion::{Criterion, criterion_group, criterion_main};
use figures::section4::LiveBench;
use live::feed::feed_page;

fn activities(n: i64) -> Vec<Activity> {
    (1..=n)
        .rev()
        .map(|id| Activity {
            id,
            who: format!("Customer {id}"),
            what: format!("bought {} × standing desk", id % 4 + 1),
            kind: ActivityKind::ALL[id as usize % ActivityKind::ALL.len()],
            occurred_at: time::OffsetDateTime::UNIX_EPOCH,
            customer_tier: CustomerTier::ALL[id as usize % CustomerTier::ALL.len()],
        })
        .collect()
}

fn per_call(n: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed() / n
}

/// Activities on the feed page.
const ACTIVITIES: usize = 26;

fn bench(c: &mut Criterion) {
    let after = activities(ACTIVITIES as i64);
    let before = feed_page(&after[1..], false);
    let mut group = c.benchmark_group("live_feed_26");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("render_and_diff", |b| {
        b.iter(|| black_box(feed_page(&after, false).diff(&before)))
    });
    group.bench_function("render_diff_to_json", |b| {
        b.iter(|| {
            black_box(serde_json::Value::Object(feed_page(&after, false).diff(&before)).to_string())
        })
    });
    group.bench_function("baseline_render_full_to_json", |b| {
        b.iter(|| black_box(feed_page(&after, false).to_json().to_string()))
    });
    group.finish();

    // One-line summary with ratios, measured in this run.
    let n = 20_000;
    let diffed = per_call(n, || {
        black_box(serde_json::Value::Object(feed_page(&after, false).diff(&before)).to_string());
    });
    let full = per_call(n, || {
        black_box(feed_page(&after, false).to_json().to_string());
    });
    println!(
        "live feed, {ACTIVITIES} activities: render+diff+json {diffed:?} per event, render+full \
         json {full:?}; ratio {:.2}",
        diffed.as_secs_f64() / full.as_secs_f64()
    );

    // The same figures for the results page (`cargo xtask bench` reads the file).
    let figures = LiveBench {
        activities: ACTIVITIES,
        diff_us: diffed.as_secs_f64() * 1e6,
        full_us: full.as_secs_f64() * 1e6,
    };
    let path = figures::write(&figures, None).expect("write the bench's figures");
    eprintln!("figures: {}", path.display());
}

criterion_group!(benches, bench);
criterion_main!(benches);
