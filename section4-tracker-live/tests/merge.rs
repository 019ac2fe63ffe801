//! Exercise tests for s4.e5 (hard mode): your merge of the add-wins observed-remove set.
//!
//! First small examples, one rule each, then the laws every replica relies on
//! (commutative, associative, idempotent) and convergence under loss, reordering,
//! duplication and partitions, a thousand random histories each. When a law fails,
//! proptest shrinks the history to a minimal one and the message shows the lattices
//! that broke it.
//!
//! The replicas here are bare [`Lattice`]s driven by this file: an add takes the next
//! dot of its replica, a remove drops the value and leaves its dot in the delta's clouds
//! (the tombstone), a delta is a lattice with an empty context. Nothing else of the
//! tracker is involved, so a failure is your merge's.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use section4_tracker_live::Implementation;
use testkit::exercise;
use tracker::replica::ReplicaRef;
use tracker::state::{Lattice, MergeReport, Tag, Topic};

/// Meta: (replica index, sequence number), unique per add.
type Meta = (usize, u32);
type L = Lattice<Meta>;

fn merge(implementation: Implementation, mine: &mut L, theirs: &L) -> MergeReport {
    match implementation {
        Implementation::Start => {
            section4_tracker_live::start::part1::e05_merge::merge(mine, theirs)
        }
        Implementation::Solution => {
            section4_tracker_live::solution::part1::e05_merge::merge(mine, theirs)
        }
    }
}

/// `mine ⊔ theirs`, as a new lattice.
fn merged(implementation: Implementation, mine: &L, theirs: &L) -> L {
    let mut out = mine.clone();
    merge(implementation, &mut out, theirs);
    out
}

const REPLICAS: usize = 3;
const TOPICS: [&str; 2] = ["sensor:1", "room:lobby"];
const KEYS: [&str; 3] = ["user:1", "user:2", "user:3"];

fn replica(i: usize) -> ReplicaRef {
    ReplicaRef {
        name: format!("node-{i}").into(),
        vsn: 1,
    }
}

fn tag(i: usize, clock: u64) -> Tag {
    Tag {
        replica: replica(i),
        clock,
    }
}

fn value(topic: &str, key: &str, meta: Meta) -> (Topic, Arc<str>, Meta) {
    (topic.into(), key.into(), meta)
}

/// One replica: its lattice, its pending delta, and the truth (the values it added and
/// has not removed: only the owner removes its own values).
#[derive(Clone, Debug)]
struct Node {
    me: usize,
    lattice: L,
    delta: L,
    own: BTreeSet<Tag>,
}

impl Node {
    fn new(me: usize) -> Self {
        Self {
            me,
            lattice: L::new(),
            delta: L::new(),
            own: BTreeSet::new(),
        }
    }

    fn add(&mut self, topic: usize, key: usize, meta: Meta) {
        let n = self
            .lattice
            .context
            .get(&replica(self.me))
            .copied()
            .unwrap_or(0)
            + 1;
        self.lattice.context.insert(replica(self.me), n);
        let t = tag(self.me, n);
        let v = value(TOPICS[topic], KEYS[key], meta);
        self.lattice.values.insert(t.clone(), v.clone());
        self.delta.values.insert(t.clone(), v);
        self.delta
            .clouds
            .entry(replica(self.me))
            .or_default()
            .insert(n);
        self.own.insert(t);
    }

    fn remove(&mut self, pick: usize) {
        let Some(t) = self.own.iter().nth(pick % self.own.len().max(1)).cloned() else {
            return;
        };
        self.own.remove(&t);
        self.lattice.values.remove(&t);
        // The tombstone: the dot stays in what the delta has seen, without its value.
        self.delta.values.remove(&t);
        self.delta
            .clouds
            .entry(t.replica.clone())
            .or_default()
            .insert(t.clock);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Add {
        at: usize,
        topic: usize,
        key: usize,
    },
    Remove {
        at: usize,
        pick: usize,
    },
    /// End of a broadcast period: the delta goes to every other replica's inbox.
    Flush {
        at: usize,
    },
    /// A full state goes from one replica to another's inbox.
    Send {
        from: usize,
        to: usize,
    },
    /// Delivers one in-flight message (any: reordering), maybe keeping a copy (duplication).
    Deliver {
        to: usize,
        pick: usize,
        keep: bool,
    },
    /// Loses one in-flight message.
    Lose {
        to: usize,
        pick: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..REPLICAS;
    prop_oneof![
        3 => (r.clone(), 0..TOPICS.len(), 0..KEYS.len())
            .prop_map(|(at, topic, key)| Op::Add { at, topic, key }),
        2 => (r.clone(), 0..8usize).prop_map(|(at, pick)| Op::Remove { at, pick }),
        2 => r.clone().prop_map(|at| Op::Flush { at }),
        1 => (r.clone(), r.clone()).prop_map(|(from, to)| Op::Send { from, to }),
        4 => (r.clone(), 0..8usize, any::<bool>())
            .prop_map(|(to, pick, keep)| Op::Deliver { to, pick, keep }),
        1 => (r, 0..8usize).prop_map(|(to, pick)| Op::Lose { to, pick }),
    ]
}

struct Cluster {
    implementation: Implementation,
    nodes: Vec<Node>,
    inboxes: Vec<Vec<L>>,
    seq: u32,
}

impl Cluster {
    fn new(implementation: Implementation) -> Self {
        Self {
            implementation,
            nodes: (0..REPLICAS).map(Node::new).collect(),
            inboxes: vec![Vec::new(); REPLICAS],
            seq: 0,
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Add { at, topic, key } => {
                self.seq += 1;
                self.nodes[at].add(topic, key, (at, self.seq));
            }
            Op::Remove { at, pick } => self.nodes[at].remove(pick),
            Op::Flush { at } => {
                let delta = std::mem::take(&mut self.nodes[at].delta);
                if !delta.clouds.is_empty() {
                    for to in (0..REPLICAS).filter(|&to| to != at) {
                        self.inboxes[to].push(delta.clone());
                    }
                }
            }
            Op::Send { from, to } if from != to => {
                let state = self.nodes[from].lattice.clone();
                self.inboxes[to].push(state);
            }
            Op::Send { .. } => {}
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
                merge(self.implementation, &mut self.nodes[to].lattice, &message);
            }
            Op::Lose { to, pick } => {
                if !self.inboxes[to].is_empty() {
                    let i = pick % self.inboxes[to].len();
                    self.inboxes[to].swap_remove(i);
                }
            }
        }
    }

    /// The partition heals: everyone merges everyone's full state, twice (what one
    /// learned from another in round one reaches the third in round two).
    fn heal(&mut self) {
        for _ in 0..2 {
            for from in 0..REPLICAS {
                for to in (0..REPLICAS).filter(|&to| to != from) {
                    let state = self.nodes[from].lattice.clone();
                    merge(self.implementation, &mut self.nodes[to].lattice, &state);
                }
            }
        }
    }

    /// What every replica should hold once healed: the values their owners still hold.
    fn truth(&self) -> BTreeSet<Tag> {
        self.nodes
            .iter()
            .flat_map(|n| n.own.iter().cloned())
            .collect()
    }
}

fn history(implementation: Implementation, ops: &[Op]) -> Cluster {
    let mut cluster = Cluster::new(implementation);
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

/// A replica that holds b's user:1 (dot b@1) and has seen b up to 1.
fn holding_bobs_add() -> (L, L) {
    let mut b = L::new();
    b.context.insert(replica(1), 1);
    b.values
        .insert(tag(1, 1), value("room:lobby", "user:1", (1, 1)));
    (b.clone(), b)
}

#[exercise(section4_tracker_live)]
mod e05_merge {
    use super::*;

    #[test]
    fn a_dot_never_seen_is_an_add() {
        let (_, b) = holding_bobs_add();
        let mut a = L::new();
        let report = merge(IMPLEMENTATION, &mut a, &b);
        assert_eq!(
            a.values.keys().cloned().collect::<Vec<_>>(),
            vec![tag(1, 1)],
            "a has never seen b's dot node-1#1@1: merging b must add its value"
        );
        assert_eq!(
            report.joins,
            BTreeSet::from([tag(1, 1)]),
            "report the add in `joins`"
        );
        assert!(report.leaves.is_empty(), "nothing was removed: {report:?}");
        assert_eq!(
            a.context,
            BTreeMap::from([(replica(1), 1)]),
            "after the merge a has seen what b had seen (node-1 up to 1)"
        );
    }

    #[test]
    fn seen_but_not_held_is_a_remove() {
        let (mut a, mut b) = holding_bobs_add();
        b.values.clear(); // b removed its presence: dot 1 is seen, no longer held
        let report = merge(IMPLEMENTATION, &mut a, &b);
        assert!(
            a.values.is_empty(),
            "b has seen node-1#1@1 (its context reaches 1) and no longer holds it: an \
             observed remove, a must drop it; a still holds {:?}",
            a.values
        );
        assert_eq!(
            report.leaves,
            BTreeSet::from([tag(1, 1)]),
            "report the remove in `leaves`"
        );
    }

    #[test]
    fn a_removed_value_does_not_come_back_from_a_late_delta() {
        let (mut a, _) = holding_bobs_add();
        // a learnt of the remove (seen, not held)...
        a.values.clear();
        // ...then the old delta that added it arrives late (or twice).
        let mut late = L::new();
        late.clouds.insert(replica(1), BTreeSet::from([1]));
        late.values
            .insert(tag(1, 1), value("room:lobby", "user:1", (1, 1)));
        let report = merge(IMPLEMENTATION, &mut a, &late);
        assert!(
            a.values.is_empty() && report.is_empty(),
            "a has already seen dot node-1#1@1: the late add must be ignored (judge adds \
             against what *mine* has seen, not only what it holds); got {:?}, {report:?}",
            a.values
        );
    }

    #[test]
    fn add_wins_over_a_remove_that_never_saw_it() {
        let mut a = L::new();
        a.context.insert(replica(0), 2);
        a.values
            .insert(tag(0, 2), value("room:lobby", "user:1", (0, 2)));
        // b saw a's first dot only (it was removed), never the second.
        let mut b = L::new();
        b.context.insert(replica(0), 1);
        let report = merge(IMPLEMENTATION, &mut a, &b);
        assert!(
            a.values.contains_key(&tag(0, 2)),
            "b never saw dot node-0#1@2, so it cannot have removed it: the add wins and a \
             keeps it. Only remove what the other side has seen. {report:?}"
        );
    }

    #[test]
    fn what_both_have_seen_is_kept_compact() {
        let mut a = L::new();
        a.context.insert(replica(1), 2);
        let mut delta = L::new();
        delta.clouds.insert(replica(1), BTreeSet::from([3, 5]));
        merge(IMPLEMENTATION, &mut a, &delta);
        assert_eq!(
            (a.context.clone(), a.clouds.clone()),
            (
                BTreeMap::from([(replica(1), 3)]),
                BTreeMap::from([(replica(1), BTreeSet::from([5]))])
            ),
            "a had seen node-1 up to 2, the delta covers dots 3 and 5: a has now seen up \
             to 3, and 5 waits in the cloud. Union the contexts and clouds, then call \
             `mine.compact()`"
        );
    }

    #[test]
    fn the_laws_hold_for_a_thousand_random_histories() {
        let implementation = IMPLEMENTATION;
        proptest!(config(), |(ops in prop::collection::vec(op(), 0..40))| {
            let cluster = history(implementation, &ops);
            let [a, b, c] = [0, 1, 2].map(|i| cluster.nodes[i].lattice.clone());
            let m = |x: &L, y: &L| merged(implementation, x, y);
            prop_assert_eq!(
                m(&a, &b), m(&b, &a),
                "COMMUTATIVITY failed: merge(a, b) != merge(b, a)\na = {:?}\nb = {:?}",
                a, b
            );
            prop_assert_eq!(
                m(&m(&a, &b), &c), m(&a, &m(&b, &c)),
                "ASSOCIATIVITY failed: merge(merge(a, b), c) != merge(a, merge(b, c))\n\
                 a = {:?}\nb = {:?}\nc = {:?}",
                a, b, c
            );
            let mut own = a.clone();
            let report = merge(implementation, &mut own, &a);
            prop_assert!(
                own == a && report.is_empty(),
                "IDEMPOTENCE failed: merging a with itself changed it or reported {:?}\n\
                 a      = {:?}\nresult = {:?}",
                report, a, own
            );
            let mut twice = m(&a, &b);
            let once = twice.clone();
            let report = merge(implementation, &mut twice, &b);
            prop_assert!(
                twice == once && report.is_empty(),
                "IDEMPOTENCE failed: merging b a second time changed the result or \
                 reported {:?} (a duplicated message must be harmless)\n\
                 a = {:?}\nb = {:?}",
                report, a, b
            );
        });
    }

    #[test]
    fn replicas_converge_after_loss_reordering_duplication_and_partitions() {
        let implementation = IMPLEMENTATION;
        proptest!(config(), |(ops in prop::collection::vec(op(), 0..60))| {
            let mut cluster = history(implementation, &ops);
            cluster.heal();
            let truth = cluster.truth();
            for at in 0..REPLICAS {
                let held: BTreeSet<Tag> =
                    cluster.nodes[at].lattice.values.keys().cloned().collect();
                prop_assert_eq!(
                    &held, &truth,
                    "CONVERGENCE failed: after healing, replica {} holds different values \
                     from what the owners hold", at
                );
                prop_assert_eq!(
                    &cluster.nodes[at].lattice, &cluster.nodes[0].lattice,
                    "CONVERGENCE failed: replicas {} and 0 saw the same messages but differ", at
                );
            }
        });
    }
}
