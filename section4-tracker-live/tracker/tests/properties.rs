//! Property tests of the presence CRDT: the merge is a join (commutative, associative,
//! idempotent), deltas are equivalent to snapshots, the reported joins and leaves replay to
//! exactly what `list` shows, and replicas converge whatever the network does to messages
//! (loss, reordering, duplication, partitions) once they exchange state again.
//!
//! States are small (3 replicas, a handful of keys) so a thousand cases run in about a second.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use tracker::replica::ReplicaRef;
use tracker::state::{Changes, Delta, OwnerId, Snapshot, State};

const REPLICAS: usize = 3;
const TOPICS: [&str; 2] = ["room:lobby", "orders:42"];
const KEYS: [&str; 3] = ["user:1", "user:2", "user:3"];

/// Meta: (replica index, sequence number), unique per change so each presence is distinct.
type Meta = (usize, u32);

#[derive(Clone, Debug)]
enum Op {
    Track {
        at: usize,
        owner: u64,
        topic: usize,
        key: usize,
    },
    Untrack {
        at: usize,
        owner: u64,
        topic: usize,
        key: usize,
    },
    Update {
        at: usize,
        owner: u64,
        topic: usize,
        key: usize,
    },
    /// End of a broadcast period: the delta goes into every other replica's inbox.
    Flush { at: usize },
    /// A catch-up transfer: `from`'s snapshot for `to` goes into `to`'s inbox.
    Transfer { from: usize, to: usize },
    /// Delivers one in-flight message (any of them: reordering), maybe keeping a copy
    /// for later (duplication).
    Deliver { to: usize, pick: usize, keep: bool },
    /// Loses one in-flight message (a partition or a full queue).
    Lose { to: usize, pick: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..REPLICAS;
    let place = (0..REPLICAS, 0..2u64, 0..TOPICS.len(), 0..KEYS.len());
    prop_oneof![
        3 => place.clone().prop_map(|(at, owner, topic, key)| Op::Track { at, owner, topic, key }),
        2 => place.clone().prop_map(|(at, owner, topic, key)| Op::Untrack { at, owner, topic, key }),
        1 => place.prop_map(|(at, owner, topic, key)| Op::Update { at, owner, topic, key }),
        2 => r.clone().prop_map(|at| Op::Flush { at }),
        1 => (r.clone(), r.clone()).prop_map(|(from, to)| Op::Transfer { from, to }),
        4 => (r.clone(), any::<usize>(), any::<bool>())
            .prop_map(|(to, pick, keep)| Op::Deliver { to, pick, keep }),
        1 => (r, any::<usize>()).prop_map(|(to, pick)| Op::Lose { to, pick }),
    ]
}

#[derive(Clone, Debug)]
enum Message {
    Delta(Delta<Meta>),
    Snapshot(Snapshot<Meta>),
}

/// A visible presence as the diff and `list` describe it.
type Seen = (String, String, Meta);

struct Cluster {
    states: Vec<State<Meta>>,
    inboxes: Vec<Vec<Message>>,
    /// What each replica's handle_diff would have told a listener, replayed.
    seen: Vec<BTreeSet<Seen>>,
    seq: u32,
}

impl Cluster {
    fn new() -> Self {
        let refs: Vec<ReplicaRef> = (0..REPLICAS)
            .map(|i| ReplicaRef {
                name: format!("node-{i}").into(),
                vsn: 1,
            })
            .collect();
        let states = refs
            .iter()
            .map(|me| {
                let mut s = State::new(me.clone());
                for other in refs.iter().filter(|r| *r != me) {
                    s.replica_up(other);
                }
                s
            })
            .collect();
        Self {
            states,
            inboxes: vec![Vec::new(); REPLICAS],
            seen: vec![BTreeSet::new(); REPLICAS],
            seq: 0,
        }
    }

    fn replay(&mut self, at: usize, changes: Changes<Meta>) {
        for e in changes.leaves {
            let removed = self.seen[at].remove(&(e.topic.to_string(), e.key.to_string(), e.meta));
            assert!(
                removed,
                "replica {at} reported a leave of {e:?} it never reported joining"
            );
        }
        for e in changes.joins {
            let added = self.seen[at].insert((e.topic.to_string(), e.key.to_string(), e.meta));
            assert!(added, "replica {at} reported {e:?} joining twice");
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Track {
                at,
                owner,
                topic,
                key,
            } => {
                self.seq += 1;
                let meta = (at, self.seq);
                let s = &mut self.states[at];
                if let Ok(tag) =
                    s.join(OwnerId(owner), TOPICS[topic].into(), KEYS[key].into(), meta)
                {
                    assert_eq!(&tag.replica, s.replica());
                    self.seen[at].insert((TOPICS[topic].into(), KEYS[key].into(), meta));
                }
            }
            Op::Untrack {
                at,
                owner,
                topic,
                key,
            } => {
                let (topic, key) = (Arc::from(TOPICS[topic]), Arc::from(KEYS[key]));
                if let Some(e) = self.states[at].leave(OwnerId(owner), &topic, &key) {
                    self.replay(
                        at,
                        Changes {
                            joins: vec![],
                            leaves: vec![e],
                        },
                    );
                }
            }
            Op::Update {
                at,
                owner,
                topic,
                key,
            } => {
                self.seq += 1;
                let meta = (at, self.seq);
                let (topic, key) = (Arc::from(TOPICS[topic]), Arc::from(KEYS[key]));
                if let Some((old, _)) =
                    self.states[at].leave_join(OwnerId(owner), &topic, &key, meta)
                {
                    let new = self.states[at]
                        .local_entry(&topic, OwnerId(owner), &key)
                        .cloned();
                    self.replay(
                        at,
                        Changes {
                            joins: new.into_iter().collect(),
                            leaves: vec![old],
                        },
                    );
                }
            }
            Op::Flush { at } => {
                if self.states[at].has_delta() {
                    let delta = self.states[at].take_delta();
                    for to in (0..REPLICAS).filter(|&to| to != at) {
                        self.inboxes[to].push(Message::Delta(delta.clone()));
                    }
                }
            }
            Op::Transfer { from, to } if from != to => {
                let clocks = self.states[to].clocks();
                let to_ref = self.states[to].replica().clone();
                let snapshot = self.states[from].extract(&to_ref, &clocks);
                self.inboxes[to].push(Message::Snapshot(snapshot));
            }
            Op::Transfer { .. } => {}
            Op::Deliver { to, pick, keep } => {
                if self.inboxes[to].is_empty() {
                    return;
                }
                let i = pick % self.inboxes[to].len();
                let message = if keep {
                    self.inboxes[to][i].clone()
                } else {
                    self.inboxes[to].swap_remove(i)
                };
                let changes = match &message {
                    Message::Delta(d) => self.states[to].merge_delta(d),
                    Message::Snapshot(s) => self.states[to].merge_snapshot(s),
                };
                self.replay(to, changes);
            }
            Op::Lose { to, pick } => {
                if !self.inboxes[to].is_empty() {
                    let i = pick % self.inboxes[to].len();
                    self.inboxes[to].swap_remove(i);
                }
            }
        }
    }

    /// The partition heals: everyone sends everyone a full transfer, twice (so what one
    /// replica learned from another in round one reaches the third in round two).
    fn heal(&mut self) {
        for _ in 0..2 {
            for from in 0..REPLICAS {
                for to in (0..REPLICAS).filter(|&to| to != from) {
                    self.apply(&Op::Transfer { from, to });
                    let last = self.inboxes[to].len() - 1;
                    self.apply(&Op::Deliver {
                        to,
                        pick: last,
                        keep: false,
                    });
                }
            }
        }
    }

    fn listed(&self, at: usize) -> BTreeSet<Seen> {
        TOPICS
            .iter()
            .flat_map(|topic| {
                self.states[at]
                    .list(topic)
                    .into_iter()
                    .map(move |(k, m)| (topic.to_string(), k.to_string(), m))
            })
            .collect()
    }

    /// The truth: each replica's own presences (only owners change them).
    fn owned(&self) -> BTreeSet<Seen> {
        (0..REPLICAS)
            .flat_map(|at| {
                let s = &self.states[at];
                (0..2u64).flat_map(move |owner| {
                    s.get_by_owner(OwnerId(owner))
                        .into_iter()
                        .map(|e| (e.topic.to_string(), e.key.to_string(), e.meta))
                })
            })
            .collect()
    }
}

fn history(ops: &[Op]) -> Cluster {
    let mut cluster = Cluster::new();
    for op in ops {
        cluster.apply(op);
    }
    cluster
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    // ANCHOR: converge
    #[test]
    fn replicas_converge_after_loss_reordering_duplication_and_partitions(
        ops in prop::collection::vec(op(), 0..60)
    ) {
        let mut cluster = history(&ops);
        for at in 0..REPLICAS {
            prop_assert_eq!(cluster.listed(at), cluster.seen[at].clone(),
                "replica {}: the reported joins and leaves do not replay to its list", at);
        }
        cluster.heal();
        let truth = cluster.owned();
        for at in 0..REPLICAS {
            prop_assert_eq!(cluster.listed(at), truth.clone(),
                "replica {} disagrees with the owners after healing", at);
            prop_assert_eq!(cluster.seen[at].clone(), truth.clone(),
                "replica {}'s diffs disagree with the owners after healing", at);
            prop_assert_eq!(cluster.states[at].lattice(), cluster.states[0].lattice());
        }
    }
    // ANCHOR_END: converge

    #[test]
    fn merge_is_commutative_associative_and_idempotent(
        ops in prop::collection::vec(op(), 0..50)
    ) {
        let cluster = history(&ops);
        let [a, b, c] = [0, 1, 2].map(|i| cluster.states[i].clone());
        let merged = |mut x: State<Meta>, y: &State<Meta>| {
            x.merge_snapshot(&y.snapshot());
            x
        };
        // Commutative: a ⊔ b and b ⊔ a hold the same content.
        prop_assert_eq!(merged(a.clone(), &b).lattice(), merged(b.clone(), &a).lattice());
        // Associative: (a ⊔ b) ⊔ c = a ⊔ (b ⊔ c).
        let left = merged(merged(a.clone(), &b), &c);
        let right = merged(a.clone(), &merged(b.clone(), &c));
        prop_assert_eq!(left.lattice(), right.lattice());
        // Idempotent: merging again, or merging oneself, changes nothing and reports nothing.
        let mut twice = merged(a.clone(), &b);
        let once = twice.lattice();
        prop_assert!(twice.merge_snapshot(&b.snapshot()).is_empty());
        prop_assert_eq!(twice.lattice(), once);
        let mut own = a.clone();
        prop_assert!(own.merge_snapshot(&a.snapshot()).is_empty());
        prop_assert_eq!(own.lattice(), a.lattice());
    }

    #[test]
    fn deltas_in_any_order_equal_a_snapshot(
        ops in prop::collection::vec((0..2u64, 0..TOPICS.len(), 0..KEYS.len(), 0..4u8), 0..40),
        order in prop::collection::vec(any::<usize>(), 0..80),
    ) {
        let mut cluster = Cluster::new();
        let mut deltas = Vec::new();
        for (owner, topic, key, action) in ops {
            let op = match action {
                0 | 1 => Op::Track { at: 0, owner, topic, key },
                2 => Op::Untrack { at: 0, owner, topic, key },
                _ => Op::Update { at: 0, owner, topic, key },
            };
            cluster.apply(&op);
            if cluster.states[0].has_delta() && owner == 1 {
                deltas.push(cluster.states[0].take_delta());
            }
        }
        deltas.push(cluster.states[0].take_delta());

        let by_snapshot = {
            let mut b = cluster.states[1].clone();
            b.merge_snapshot(&cluster.states[0].snapshot());
            b
        };
        let mut by_deltas = cluster.states[1].clone();
        // Shuffled and duplicated deliveries first, then each delta once more so none is missing.
        for pick in order {
            if !deltas.is_empty() {
                by_deltas.merge_delta(&deltas[pick % deltas.len()]);
            }
        }
        for d in &deltas {
            by_deltas.merge_delta(d);
        }
        prop_assert_eq!(by_deltas.lattice(), by_snapshot.lattice());
    }
}

#[test]
fn the_reported_diff_never_lists_the_same_presence_twice() {
    // A fixed regression scenario: an update delivered before the add it replaces.
    let mut cluster = Cluster::new();
    for op in [
        Op::Track {
            at: 0,
            owner: 0,
            topic: 0,
            key: 0,
        },
        Op::Flush { at: 0 },
        Op::Update {
            at: 0,
            owner: 0,
            topic: 0,
            key: 0,
        },
        Op::Flush { at: 0 },
        Op::Deliver {
            to: 1,
            pick: 1,
            keep: true,
        },
        Op::Deliver {
            to: 1,
            pick: 0,
            keep: false,
        },
        Op::Deliver {
            to: 1,
            pick: 0,
            keep: false,
        },
    ] {
        cluster.apply(&op);
    }
    let listed: BTreeMap<_, _> = cluster
        .listed(1)
        .into_iter()
        .map(|(t, k, m)| ((t, k), m))
        .collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(cluster.listed(1), cluster.seen[1]);
}
