//! What the tracker costs next to a plain `HashMap` doing the same bookkeeping: the
//! set-up and the timed loops shared by the bench (`cargo bench -p tracker --bench
//! tracker`, which adds criterion's statistics) and section 4's walkthrough
//! experiment (`experiment part1`), so both measure the same thing.
//!
//! - `list` of a 10,000-member topic: through the tracker handle (a round trip to the
//!   shard task), straight from the CRDT, and a HashMap's values cloned into a Vec;
//! - the gated pipeline's question (s4.e4), `Tracker::count`, on the same topic and
//!   on a topic nobody watches;
//! - track + untrack pairs: through the handle, and HashMap insert + remove;
//! - merging a 10,000-entry delta into a replica, against extending a HashMap.
//!
//! Targets: list <= 1 ms, >= 25,000 track+untrack pairs per second through the handle.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use figures::section4::TrackerBench;

use crate::hub::Hub;
use crate::replica::ReplicaRef;
use crate::state::{Delta, OwnerId, State};
use crate::{Diff, Owner, Tracker, TrackerConfig};

/// Members of the measured topic.
pub const MEMBERS: usize = 10_000;
/// The measured topic.
pub const TOPIC: &str = "room:lobby";

/// What a chat room would store per user (only ever cloned here, never read).
#[derive(Clone, Debug)]
pub struct UserMeta {
    /// The user's display name.
    pub name: Arc<str>,
    /// When the user came online, in ms since the epoch.
    pub online_at: u64,
}

/// The meta of user `i`.
pub fn meta(i: usize) -> UserMeta {
    UserMeta {
        name: format!("User {i}").into(),
        online_at: 1_767_603_600_000 + i as u64,
    }
}

/// The key of user `i`.
pub fn key(i: usize) -> Arc<str> {
    format!("user:{i}").into()
}

/// Everything the measurements need, built once: a tracker (on a current-thread
/// runtime of its own) and a bare CRDT, each holding [`MEMBERS`] members of
/// [`TOPIC`], the HashMap baseline with the same entries, and a delta of
/// [`MEMBERS`] entries with a replica that has not seen it.
pub struct Fixture {
    /// The runtime the tracker's shard runs on (`block_on` for each call).
    pub rt: tokio::runtime::Runtime,
    /// The tracker, on an in-memory hub of one node.
    pub tracker: Tracker<UserMeta>,
    /// The owners of the members (dropping one would untrack it).
    pub owners: Vec<Owner>,
    /// Owners for the track + untrack pairs, on keys nobody else uses.
    pub extra: Vec<Owner>,
    /// The CRDT alone, with the same members.
    pub crdt: State<UserMeta>,
    /// The baseline: key to meta.
    pub baseline: HashMap<Arc<str>, UserMeta>,
    /// A delta of [`MEMBERS`] joins from replica `b`.
    pub delta: Delta<UserMeta>,
    /// Replica `c`, which knows `b` is up and has seen nothing of it.
    pub receiver: State<UserMeta>,
    /// A counter that makes every pair's key new.
    pub n: usize,
    _hub: Hub<UserMeta>,
}

impl Fixture {
    /// Builds the fixture (a second or so: 10,000 tracks through the handle).
    pub fn new() -> anyhow::Result<Fixture> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let hub = Hub::new();
        let tracker: Tracker<UserMeta> = rt.block_on(async {
            Tracker::start(
                "bench",
                hub.node("a"),
                |_: &Diff<UserMeta>| {},
                TrackerConfig::default(),
            )
        })?;
        let owners: Vec<_> = (0..MEMBERS).map(|_| tracker.owner()).collect();
        rt.block_on(async {
            for (i, owner) in owners.iter().enumerate() {
                tracker.track(owner, TOPIC, &key(i), meta(i)).await?;
            }
            anyhow::Ok(())
        })?;
        let extra = (0..1000).map(|_| tracker.owner()).collect();

        let mut crdt = State::new(ReplicaRef::new("a"));
        let mut baseline = HashMap::new();
        for i in 0..MEMBERS {
            crdt.join(OwnerId(i as u64), TOPIC.into(), key(i), meta(i))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            baseline.insert(key(i), meta(i));
        }

        let source_ref = ReplicaRef::new("b");
        let mut source = State::new(source_ref.clone());
        for i in 0..MEMBERS {
            source
                .join(OwnerId(i as u64), TOPIC.into(), key(i), meta(i))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        let delta = source.take_delta();
        let mut receiver = State::new(ReplicaRef::new("c"));
        receiver.replica_up(&source_ref);
        Ok(Fixture {
            rt,
            tracker,
            owners,
            extra,
            crdt,
            baseline,
            delta,
            receiver,
            n: 0,
            _hub: hub,
        })
    }

    /// The baseline's `list`: every value cloned into a Vec.
    pub fn list_baseline(&self) -> Vec<(Arc<str>, UserMeta)> {
        self.baseline
            .iter()
            .map(|(k, m)| (k.clone(), m.clone()))
            .collect()
    }

    /// One HashMap insert + remove on a key nobody else uses.
    pub fn hashmap_pair(&mut self, map: &mut HashMap<Arc<str>, UserMeta>) {
        self.n += 1;
        let k = key(MEMBERS + self.n % 1000);
        map.insert(k.clone(), meta(self.n));
        black_box(map.remove(&k));
    }

    /// One track + untrack through the handle, on a new key.
    pub fn tracker_pair(&mut self) {
        self.n += 1;
        let (owner, k) = (&self.extra[self.n % 1000], key(MEMBERS + self.n));
        let meta = meta(self.n);
        self.rt.block_on(async {
            self.tracker
                .track(owner, TOPIC, &k, meta)
                .await
                .expect("a new key");
            self.tracker.untrack(owner, TOPIC, &k).await;
        })
    }

    /// A HashMap built from the delta's entries (the merge's baseline).
    pub fn hashmap_extend(&self) -> usize {
        let mut m = HashMap::new();
        m.extend(
            self.delta
                .values
                .iter()
                .map(|(t, e)| (t.clone(), e.clone())),
        );
        m.len()
    }

    /// Every figure once, in plain timed loops.
    pub fn measure(&mut self) -> TrackerBench {
        let list_base = per_call(200, || {
            black_box(self.list_baseline());
        });
        let list_state = per_call(200, || {
            black_box(self.crdt.list(TOPIC));
        });
        let list_tracker = per_call(200, || {
            black_box(self.rt.block_on(self.tracker.list(TOPIC)));
        });
        let count_busy = per_call(2000, || {
            black_box(self.rt.block_on(self.tracker.count(TOPIC)));
        });
        let count_empty = per_call(2000, || {
            black_box(self.rt.block_on(self.tracker.count("sensor:nobody")));
        });
        let pairs = 20_000;
        let mut map = self.baseline.clone();
        let base_pair = per_call(pairs, || self.hashmap_pair(&mut map));
        let tracker_pair = per_call(pairs, || self.tracker_pair());
        let merge_base = per_call(20, || {
            black_box(self.hashmap_extend());
        });
        let merge_state = per_call(20, || {
            let mut r = self.receiver.clone();
            black_box(r.merge_delta(&self.delta));
        });
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        TrackerBench {
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
        }
    }
}

/// The bench's summary lines for `f`, with the ratios and the targets.
pub fn summary(f: &TrackerBench) -> String {
    let ms = |us: f64| format!("{:.3}ms", us / 1000.0);
    [
        format!(
            "list of {}: tracker {} (target <= 1 ms), state {}, HashMap {}; ratios to \
             HashMap {:.2} / {:.2}",
            f.members,
            ms(f.list_tracker_us),
            ms(f.list_state_us),
            ms(f.list_hashmap_us),
            f.list_tracker_us / f.list_hashmap_us,
            f.list_state_us / f.list_hashmap_us
        ),
        format!(
            "gate question: count of {} members {:.3}µs, of an unwatched topic {:.3}µs, vs \
             list {}; list/count {:.0}x",
            f.members,
            f.count_us,
            f.count_unwatched_us,
            ms(f.list_tracker_us),
            f.list_tracker_us / f.count_us
        ),
        format!(
            "track+untrack: tracker {:.0}/s (target >= 25,000/s), HashMap {:.0}/s; ratio {:.1}",
            f.track_untrack_per_sec,
            f.hashmap_track_untrack_per_sec,
            f.hashmap_track_untrack_per_sec / f.track_untrack_per_sec
        ),
        format!(
            "merge of a {}-entry delta: {} (incl. cloning an empty receiver) vs HashMap \
             extend {}; ratio {:.1}",
            f.members,
            ms(f.merge_us),
            ms(f.hashmap_extend_us),
            f.merge_us / f.hashmap_extend_us
        ),
    ]
    .join("\n")
}

/// Time per call of `f`, over `n` calls.
pub fn per_call(n: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed() / n
}
