//! What does the tracker cost next to a plain `HashMap` doing the same bookkeeping?
//!
//! - `list` of a 10,000-member topic: through the tracker handle (a round trip to the
//!   shard task), straight from the CRDT, and a HashMap's values cloned into a Vec;
//! - track + untrack pairs: through the handle, on the CRDT alone, and HashMap
//!   insert + remove;
//! - merging a 10,000-entry delta into a replica, against extending a HashMap;
//! - the gated pipeline's question (s4.e4), `Tracker::count`, against `Tracker::list`
//!   on the same 10,000-member topic and on a topic nobody watches.
//!
//! The set-up and the summary's timed loops are `tracker::costs` (section 4's
//! walkthrough experiment runs the same loops); criterion's groups come first.
//!
//! Targets: list <= 1 ms, >= 25,000 track+untrack pairs per second through the handle.
//!
//! `cargo bench -p tracker --bench tracker`

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tracker::costs::{Fixture, MEMBERS, TOPIC, key, meta, summary};
use tracker::state::OwnerId;

fn bench(c: &mut Criterion) {
    let mut f = Fixture::new().expect("the bench's fixture");

    let mut group = c.benchmark_group("list of a 10,000-member topic");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("baseline: HashMap values cloned", |b| {
        b.iter(|| black_box(f.list_baseline()))
    });
    group.bench_function("State::list", |b| b.iter(|| black_box(f.crdt.list(TOPIC))));
    group.bench_function("Tracker::list (round trip to the shard)", |b| {
        b.iter(|| black_box(f.rt.block_on(f.tracker.list(TOPIC))))
    });
    group.bench_function("Tracker::count (the gate's question)", |b| {
        b.iter(|| black_box(f.rt.block_on(f.tracker.count(TOPIC))))
    });
    group.finish();

    // Track + untrack pairs on keys nobody else uses.
    let mut group = c.benchmark_group("track + untrack");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    let mut map = f.baseline.clone();
    group.bench_function("baseline: HashMap insert + remove", |b| {
        b.iter(|| f.hashmap_pair(&mut map))
    });
    let mut state = f.crdt.clone();
    let mut n = 0usize;
    group.bench_function("State join + leave", |b| {
        b.iter(|| {
            n += 1;
            let (owner, k) = (OwnerId((MEMBERS + n % 1000) as u64), key(MEMBERS + n));
            let topic: Arc<str> = TOPIC.into();
            state
                .join(owner, topic.clone(), k.clone(), meta(n))
                .unwrap();
            black_box(state.leave(owner, &topic, &k));
        })
    });
    group.bench_function("Tracker track + untrack", |b| b.iter(|| f.tracker_pair()));
    group.finish();

    // A replica receiving a 10,000-entry delta (a node whose users all joined at once).
    let mut group = c.benchmark_group("merge a 10,000-entry delta");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("baseline: HashMap extend", |b| {
        b.iter_batched(
            HashMap::new,
            |mut m: HashMap<_, _>| {
                m.extend(f.delta.values.iter().map(|(t, e)| (t.clone(), e.clone())));
                m
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("State::merge_delta", |b| {
        b.iter_batched(
            || f.receiver.clone(),
            |mut r| {
                black_box(r.merge_delta(&f.delta));
                r
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();

    // One-line summaries with ratios, measured in this run.
    let figures = f.measure();
    println!("{}", summary(&figures));

    // The same figures for the results page (`cargo xtask bench` reads the file), from
    // a `cargo bench` run only (it passes --bench): `cargo test --benches` runs this in
    // a debug build, whose figures must not reach the page.
    if std::env::args().any(|arg| arg == "--bench") {
        let path = figures::write(&figures, None).expect("write the bench's figures");
        eprintln!("figures: {}", path.display());
    } else {
        eprintln!("figures not written: not a `cargo bench` run");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
