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
//! Targets: list <= 1 ms, >= 25,000 track+untrack pairs per second through the handle.
//!
//! `cargo bench -p tracker --bench tracker`

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use figures::section4::TrackerBench;
use tracker::hub::Hub;
use tracker::replica::ReplicaRef;
use tracker::state::{OwnerId, State};
use tracker::{Diff, Tracker, TrackerConfig};

const MEMBERS: usize = 10_000;
const TOPIC: &str = "room:lobby";

/// What a chat room would store per user (only ever cloned here, never read).
#[derive(Clone, Debug)]
#[allow(dead_code)]
struct UserMeta {
    name: Arc<str>,
    online_at: u64,
}

fn meta(i: usize) -> UserMeta {
    UserMeta {
        name: format!("User {i}").into(),
        online_at: 1_767_603_600_000 + i as u64,
    }
}

fn key(i: usize) -> Arc<str> {
    format!("user:{i}").into()
}

fn per_call(n: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed() / n
}

fn ratio(x: Duration, baseline: Duration) -> f64 {
    x.as_secs_f64() / baseline.as_secs_f64()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hub = Hub::new();
    let tracker: Tracker<UserMeta> = rt.block_on(async {
        Tracker::start(
            "bench",
            hub.node("a"),
            |_: &Diff<UserMeta>| {},
            TrackerConfig::default(),
        )
        .unwrap()
    });
    let owners: Vec<_> = (0..MEMBERS).map(|_| tracker.owner()).collect();
    rt.block_on(async {
        for (i, owner) in owners.iter().enumerate() {
            tracker.track(owner, TOPIC, &key(i), meta(i)).await.unwrap();
        }
    });

    let mut crdt = State::new(ReplicaRef::new("a"));
    let mut baseline: HashMap<Arc<str>, UserMeta> = HashMap::new();
    for i in 0..MEMBERS {
        crdt.join(OwnerId(i as u64), TOPIC.into(), key(i), meta(i))
            .unwrap();
        baseline.insert(key(i), meta(i));
    }
    let list_baseline = || -> Vec<(Arc<str>, UserMeta)> {
        baseline
            .iter()
            .map(|(k, m)| (k.clone(), m.clone()))
            .collect()
    };

    let mut group = c.benchmark_group("list of a 10,000-member topic");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("baseline: HashMap values cloned", |b| {
        b.iter(|| black_box(list_baseline()))
    });
    group.bench_function("State::list", |b| b.iter(|| black_box(crdt.list(TOPIC))));
    group.bench_function("Tracker::list (round trip to the shard)", |b| {
        b.iter(|| black_box(rt.block_on(tracker.list(TOPIC))))
    });
    group.bench_function("Tracker::count (the gate's question)", |b| {
        b.iter(|| black_box(rt.block_on(tracker.count(TOPIC))))
    });
    group.finish();

    // Track + untrack pairs on keys nobody else uses.
    let extra: Vec<_> = (0..1000).map(|_| tracker.owner()).collect();
    let mut group = c.benchmark_group("track + untrack");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    let mut n = 0usize;
    let mut map = baseline.clone();
    group.bench_function("baseline: HashMap insert + remove", |b| {
        b.iter(|| {
            n += 1;
            let k = key(MEMBERS + n % 1000);
            map.insert(k.clone(), meta(n));
            black_box(map.remove(&k));
        })
    });
    let mut state = crdt.clone();
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
    group.bench_function("Tracker track + untrack", |b| {
        b.iter(|| {
            n += 1;
            let (owner, k) = (&extra[n % 1000], key(MEMBERS + n));
            rt.block_on(async {
                tracker.track(owner, TOPIC, &k, meta(n)).await.unwrap();
                tracker.untrack(owner, TOPIC, &k).await;
            })
        })
    });
    group.finish();

    // A replica receiving a 10,000-entry delta (a node whose users all joined at once).
    let source_ref = ReplicaRef::new("b");
    let mut source = State::new(source_ref.clone());
    for i in 0..MEMBERS {
        source
            .join(OwnerId(i as u64), TOPIC.into(), key(i), meta(i))
            .unwrap();
    }
    let delta = source.take_delta();
    let mut receiver = State::<UserMeta>::new(ReplicaRef::new("c"));
    receiver.replica_up(&source_ref);
    let mut group = c.benchmark_group("merge a 10,000-entry delta");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("baseline: HashMap extend", |b| {
        b.iter_batched(
            HashMap::new,
            |mut m: HashMap<_, _>| {
                m.extend(delta.values.iter().map(|(t, e)| (t.clone(), e.clone())));
                m
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("State::merge_delta", |b| {
        b.iter_batched(
            || receiver.clone(),
            |mut r| {
                black_box(r.merge_delta(&delta));
                r
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();

    // One-line summary with ratios, measured in this run.
    let list_base = per_call(200, || {
        black_box(list_baseline());
    });
    let list_state = per_call(200, || {
        black_box(crdt.list(TOPIC));
    });
    let list_tracker = per_call(200, || {
        black_box(rt.block_on(tracker.list(TOPIC)));
    });
    println!(
        "list of {MEMBERS}: tracker {list_tracker:?} (target <= 1 ms), state {list_state:?}, \
         HashMap {list_base:?}; ratios to HashMap {:.2} / {:.2}",
        ratio(list_tracker, list_base),
        ratio(list_state, list_base)
    );

    // The gate asks once per reading: what does the question cost?
    let count_busy = per_call(2000, || {
        black_box(rt.block_on(tracker.count(TOPIC)));
    });
    let count_empty = per_call(2000, || {
        black_box(rt.block_on(tracker.count("sensor:nobody")));
    });
    println!(
        "gate question: count of {MEMBERS} members {count_busy:?}, of an unwatched topic \
         {count_empty:?}, vs list {list_tracker:?}; list/count {:.0}x",
        ratio(list_tracker, count_busy)
    );

    let pairs = 20_000u32;
    let mut map = baseline.clone();
    let base_pair = per_call(pairs, || {
        n += 1;
        let k = key(MEMBERS + n % 1000);
        map.insert(k.clone(), meta(n));
        black_box(map.remove(&k));
    });
    let tracker_pair = per_call(pairs, || {
        n += 1;
        let (owner, k) = (&extra[n % 1000], key(MEMBERS + n));
        rt.block_on(async {
            tracker.track(owner, TOPIC, &k, meta(n)).await.unwrap();
            tracker.untrack(owner, TOPIC, &k).await;
        })
    });
    println!(
        "track+untrack: tracker {:.0}/s (target >= 25,000/s), HashMap {:.0}/s; ratio {:.1}",
        1.0 / tracker_pair.as_secs_f64(),
        1.0 / base_pair.as_secs_f64(),
        ratio(tracker_pair, base_pair)
    );

    let merge_base = per_call(20, || {
        let mut m = HashMap::new();
        m.extend(delta.values.iter().map(|(t, e)| (t.clone(), e.clone())));
        black_box(m);
    });
    let merge_state = per_call(20, || {
        let mut r = receiver.clone();
        black_box(r.merge_delta(&delta));
    });
    println!(
        "merge of a {MEMBERS}-entry delta: {merge_state:?} (incl. cloning an empty receiver) \
         vs HashMap extend {merge_base:?}; ratio {:.1}",
        ratio(merge_state, merge_base)
    );

    // The same figures for the results page (`cargo xtask bench` reads the file).
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let figures = TrackerBench {
        members: MEMBERS,
        list_tracker_us: us(list_tracker),
        list_state_us: us(list_state),
        list_hashmap_us: us(list_base),
        count_us: us(count_busy),
        count_unwatched_us: us(count_empty),
        track_untrack_per_sec: 1.0 / tracker_pair.as_secs_f64(),
        hashmap_track_untrack_per_sec: 1.0 / base_pair.as_secs_f64(),
        merge_us: us(merge_state),
        hashmap_extend_us: us(merge_base),
    };
    let path = figures::write(&figures, None).expect("write the bench's figures");
    eprintln!("figures: {}", path.display());
}

criterion_group!(benches, bench);
criterion_main!(benches);
