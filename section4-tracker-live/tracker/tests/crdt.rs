//! The pure tracker layers: clocks, replica liveness, the presence CRDT, delta generations.
//! No tokio here: every test is a plain function over values.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracker::clock::{self, Clock};
use tracker::delta_generation::{DeltaGenerations, Transfer};
use tracker::replica::{ReplicaEvent, ReplicaRef, Replicas, Status};
use tracker::state::{
    AlreadyTracked, Entry, Key, NotContiguous, OwnerId, Snapshot, State, Topic, VClock,
};

fn node(name: &str, vsn: u64) -> ReplicaRef {
    ReplicaRef {
        name: name.into(),
        vsn,
    }
}

fn t(s: &str) -> Topic {
    Arc::from(s)
}

fn k(s: &str) -> Key {
    Arc::from(s)
}

fn keys<M>(list: Vec<(Key, M)>) -> Vec<String> {
    let mut keys: Vec<String> = list.into_iter().map(|(k, _)| k.to_string()).collect();
    keys.sort();
    keys
}

fn entry_keys<M>(entries: &[Entry<M>]) -> Vec<String> {
    let mut keys: Vec<String> = entries.iter().map(|e| e.key.to_string()).collect();
    keys.sort();
    keys
}

/// Replicas that have all seen each other come up.
fn cluster(names: &[&str]) -> Vec<State<&'static str>> {
    cluster_any(names)
}

fn cluster_of<M: Clone, const N: usize>(names: [&str; N]) -> [State<M>; N] {
    cluster_any(&names)
        .try_into()
        .unwrap_or_else(|_| unreachable!("one state per name"))
}

fn cluster_any<M: Clone>(names: &[&str]) -> Vec<State<M>> {
    let refs: Vec<ReplicaRef> = names.iter().map(|n| node(n, 1)).collect();
    refs.iter()
        .map(|me| {
            let mut s = State::new(me.clone());
            for other in refs.iter().filter(|r| *r != me) {
                s.replica_up(other);
            }
            s
        })
        .collect()
}

mod clocks {
    use super::*;

    fn c(entries: &[(&'static str, u64)]) -> Clock<&'static str> {
        entries.iter().copied().collect()
    }

    #[test]
    fn dominates_needs_every_entry_and_every_replica() {
        assert!(clock::dominates(
            &c(&[("a", 2), ("b", 1)]),
            &c(&[("a", 1), ("b", 1)])
        ));
        assert!(!clock::dominates(
            &c(&[("a", 1), ("b", 1)]),
            &c(&[("a", 2), ("b", 1)])
        ));
        assert!(clock::dominates(&c(&[("a", 1)]), &c(&[("a", 1)])));
        // Higher on a, but it has never heard of b: no domination either way.
        assert!(!clock::dominates(
            &c(&[("a", 5)]),
            &c(&[("a", 1), ("b", 1)])
        ));
        assert!(!clock::dominates(
            &c(&[("a", 1), ("b", 1)]),
            &c(&[("a", 5)])
        ));
        assert!(clock::dominates(&c(&[("a", 1), ("b", 1)]), &c(&[("a", 1)])));
    }

    #[test]
    fn dominates_or_equal_compares_on_the_first_clocks_replicas() {
        assert!(clock::dominates_or_equal(
            &c(&[("a", 2)]),
            &c(&[("a", 1), ("b", 9)])
        ));
        assert!(clock::dominates_or_equal(&c(&[("a", 2)]), &c(&[("a", 2)])));
        assert!(!clock::dominates_or_equal(
            &c(&[("a", 1), ("b", 1)]),
            &c(&[("b", 2)])
        ));
    }

    #[test]
    fn bounds_are_pointwise_over_the_union() {
        let x = c(&[("a", 1), ("b", 5)]);
        let y = c(&[("b", 3), ("c", 2)]);
        assert_eq!(
            clock::upperbound(&x, &y),
            c(&[("a", 1), ("b", 5), ("c", 2)])
        );
        assert_eq!(
            clock::lowerbound(&x, &y),
            c(&[("a", 1), ("b", 3), ("c", 2)])
        );
    }

    #[test]
    fn filter_and_list_replicas() {
        let x = c(&[("a", 1), ("b", 5), ("c", 2)]);
        assert_eq!(
            clock::filter_replicas(&x, &["a", "c", "z"]),
            c(&[("a", 1), ("c", 2)])
        );
        assert_eq!(clock::replicas(&x), vec!["a", "b", "c"]);
    }

    #[test]
    fn append_clock_keeps_a_minimal_set() {
        let mut set: Vec<(&str, Clock<&str>)> = Vec::new();
        clock::append_clock(&mut set, "n1", c(&[]));
        assert!(set.is_empty(), "an empty clock carries no information");

        clock::append_clock(&mut set, "n1", c(&[("a", 1), ("b", 1)]));
        clock::append_clock(&mut set, "n2", c(&[("a", 1), ("b", 2)]));
        assert_eq!(
            set.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            vec!["n2"],
            "n2 dominates everything known: it alone is kept"
        );

        clock::append_clock(&mut set, "n3", c(&[("a", 1), ("b", 1)]));
        assert_eq!(set.len(), 1, "a dominated clock adds nothing");

        clock::append_clock(&mut set, "n4", c(&[("a", 2), ("b", 1)]));
        let mut nodes: Vec<&str> = set.iter().map(|(n, _)| *n).collect();
        nodes.sort();
        assert_eq!(nodes, vec!["n2", "n4"], "concurrent clocks are both needed");

        clock::append_clock(&mut set, "n5", c(&[("a", 3), ("b", 1), ("c", 1)]));
        let mut nodes: Vec<&str> = set.iter().map(|(n, _)| *n).collect();
        nodes.sort();
        assert_eq!(
            nodes,
            vec!["n2", "n5"],
            "n5 makes n4 redundant, not n2 (b: 2 > 1)"
        );
    }
}

mod replicas {
    use super::*;

    const DOWN: Duration = Duration::from_millis(400);
    const PERMDOWN: Duration = Duration::from_millis(1500);

    #[test]
    fn every_start_gets_a_new_version() {
        let refs: BTreeSet<u64> = (0..1000).map(|_| ReplicaRef::new("orders-1").vsn).collect();
        assert_eq!(refs.len(), 1000, "two starts shared a vsn");
        let r = ReplicaRef::new("orders-1");
        assert_eq!(&*r.name, "orders-1");
    }

    #[test]
    fn heartbeats_bring_replicas_up_and_new_versions_replace_old_ones() {
        let t0 = Instant::now();
        let mut replicas = Replicas::new();
        let b1 = node("b", 1);
        assert_eq!(
            replicas.put_heartbeat(&b1, t0),
            vec![ReplicaEvent::Up(b1.clone())]
        );
        assert_eq!(replicas.put_heartbeat(&b1, t0), vec![], "already up");

        let b2 = node("b", 2);
        assert_eq!(
            replicas.put_heartbeat(&b2, t0),
            vec![
                ReplicaEvent::Down(b1.clone()),
                ReplicaEvent::Permdown(b1),
                ReplicaEvent::Up(b2.clone())
            ],
            "a restarted node's old presences belong to dead owners"
        );
        assert_eq!(replicas.get("b").unwrap().replica, b2);
        assert_eq!(replicas.len(), 1);
        assert_eq!(
            replicas.put_heartbeat(&node("b", 1), t0),
            vec![],
            "a late heartbeat of the previous start changes nothing"
        );
        assert_eq!(replicas.get("b").unwrap().replica, b2);
    }

    #[test]
    fn detect_down_temporary_then_back() {
        let t0 = Instant::now();
        let mut replicas = Replicas::new();
        let b = node("b", 1);
        replicas.put_heartbeat(&b, t0);
        assert_eq!(
            replicas.detect_down(t0 + DOWN, DOWN, PERMDOWN),
            vec![],
            "not yet"
        );
        assert_eq!(
            replicas.detect_down(t0 + DOWN + Duration::from_millis(1), DOWN, PERMDOWN),
            vec![ReplicaEvent::Down(b.clone())]
        );
        assert_eq!(replicas.get("b").unwrap().status, Status::Down);
        assert_eq!(
            replicas.detect_down(t0 + DOWN * 2, DOWN, PERMDOWN),
            vec![],
            "down is reported once"
        );
        assert_eq!(
            replicas.put_heartbeat(&b, t0 + DOWN * 2),
            vec![ReplicaEvent::Up(b.clone())],
            "same version after a netsplit: up again"
        );
    }

    #[test]
    fn detect_down_permanent_removes_the_replica() {
        let t0 = Instant::now();
        let mut replicas = Replicas::new();
        let (b, c) = (node("b", 1), node("c", 1));
        replicas.put_heartbeat(&b, t0);
        replicas.put_heartbeat(&c, t0);
        replicas.detect_down(t0 + DOWN * 2, DOWN, PERMDOWN);
        replicas.put_heartbeat(&c, t0 + PERMDOWN * 2);
        let events = replicas.detect_down(t0 + PERMDOWN * 2, DOWN, PERMDOWN);
        assert_eq!(
            events,
            vec![ReplicaEvent::Permdown(b)],
            "b was down already"
        );
        assert!(replicas.get("b").is_none());
        assert_eq!(replicas.get("c").unwrap().status, Status::Up);
    }

    #[test]
    fn detect_down_reports_down_before_permdown_when_skipping_ahead() {
        let t0 = Instant::now();
        let mut replicas = Replicas::new();
        let b = node("b", 1);
        replicas.put_heartbeat(&b, t0);
        assert_eq!(
            replicas.detect_down(t0 + PERMDOWN * 2, DOWN, PERMDOWN),
            vec![ReplicaEvent::Down(b.clone()), ReplicaEvent::Permdown(b)]
        );
        assert!(replicas.is_empty());
    }
}

mod state {
    use super::*;

    const ALICE: OwnerId = OwnerId(1);
    const BOB: OwnerId = OwnerId(2);

    #[test]
    fn join_then_leave_is_visible_locally() {
        let mut a = State::new(node("a", 1));
        a.join(ALICE, t("room:lobby"), k("alice"), "online")
            .unwrap();
        assert_eq!(a.list("room:lobby"), vec![(k("alice"), "online")]);
        assert_eq!(
            a.join(ALICE, t("room:lobby"), k("alice"), "again"),
            Err(AlreadyTracked)
        );
        let left = a.leave(ALICE, &t("room:lobby"), &k("alice")).unwrap();
        assert_eq!(left.meta, "online");
        assert!(a.list("room:lobby").is_empty());
        assert!(a.leave(ALICE, &t("room:lobby"), &k("alice")).is_none());
        assert!(a.is_empty());
    }

    #[test]
    fn merging_another_replica_reports_its_joins() {
        let [mut a, mut b] = cluster(&["a", "b"]).try_into().unwrap();
        a.join(ALICE, t("room:lobby"), k("alice"), "a").unwrap();
        b.join(BOB, t("room:lobby"), k("bob"), "b").unwrap();
        let changes = a.merge_snapshot(&b.snapshot());
        assert_eq!(entry_keys(&changes.joins), vec!["bob"]);
        assert!(changes.leaves.is_empty());
        assert_eq!(keys(a.list("room:lobby")), vec!["alice", "bob"]);
    }

    #[test]
    fn merge_is_idempotent() {
        let [mut a, mut b] = cluster(&["a", "b"]).try_into().unwrap();
        b.join(BOB, t("room:lobby"), k("bob"), "b").unwrap();
        a.merge_snapshot(&b.snapshot());
        let before = a.lattice();
        let again = a.merge_snapshot(&b.snapshot());
        assert!(again.is_empty(), "a second merge reported {again:?}");
        assert_eq!(a.lattice(), before);
        assert_eq!(a.get_by_key("room:lobby", "bob"), vec![(BOB, "b")]);
    }

    #[test]
    fn observed_removes_propagate() {
        let [mut a, mut b] = cluster(&["a", "b"]).try_into().unwrap();
        b.join(BOB, t("room:lobby"), k("bob"), "b").unwrap();
        a.merge_snapshot(&b.snapshot());
        b.leave(BOB, &t("room:lobby"), &k("bob"));
        let changes = a.merge_snapshot(&b.snapshot());
        assert_eq!(entry_keys(&changes.leaves), vec!["bob"]);
        assert!(a.list("room:lobby").is_empty());
    }

    #[test]
    fn an_update_is_a_leave_and_a_join_in_one_merge() {
        let [mut a, mut b] = cluster(&["a", "b"]).try_into().unwrap();
        b.join(BOB, t("room:lobby"), k("bob"), "idle").unwrap();
        a.merge_delta(&b.take_delta());
        b.leave_join(BOB, &t("room:lobby"), &k("bob"), "typing")
            .unwrap();
        let changes = a.merge_delta(&b.take_delta());
        assert_eq!(changes.joins.len(), 1);
        assert_eq!(changes.joins[0].meta, "typing");
        assert_eq!(changes.leaves.len(), 1);
        assert_eq!(changes.leaves[0].meta, "idle");
        assert_eq!(a.list("room:lobby"), vec![(k("bob"), "typing")]);
    }

    #[test]
    fn a_netsplit_hides_and_then_restores_a_replica() {
        let [mut a, mut b] = cluster(&["a", "b"]).try_into().unwrap();
        a.join(ALICE, t("room:lobby"), k("alice"), "a").unwrap();
        b.join(BOB, t("room:lobby"), k("bob"), "b").unwrap();
        a.merge_snapshot(&b.snapshot());

        let leaves = a.replica_down(b.replica());
        assert_eq!(entry_keys(&leaves), vec!["bob"]);
        assert_eq!(keys(a.list("room:lobby")), vec!["alice"]);
        assert_eq!(keys(a.dirty_list("room:lobby")), vec!["alice", "bob"]);

        let changes = a.merge_snapshot(&b.snapshot());
        assert!(
            changes.is_empty(),
            "a down replica's values stay hidden: {changes:?}"
        );
        assert_eq!(keys(a.list("room:lobby")), vec!["alice"]);
        assert!(
            !a.clocks().contains_key(b.replica()),
            "down replicas are not advertised"
        );

        let joins = a.replica_up(b.replica());
        assert_eq!(entry_keys(&joins), vec!["bob"]);
        assert_eq!(keys(a.list("room:lobby")), vec!["alice", "bob"]);
    }

    #[test]
    fn joins_and_removes_are_observed_through_a_third_replica() {
        let [mut a, mut b, mut c] = cluster(&["a", "b", "c"]).try_into().unwrap();
        // a and c cannot talk; b hears both.
        a.join(ALICE, t("room:lobby"), k("alice"), "a").unwrap();
        b.merge_snapshot(&a.snapshot());
        let changes = c.merge_snapshot(&b.snapshot());
        assert_eq!(entry_keys(&changes.joins), vec!["alice"]);

        a.leave(ALICE, &t("room:lobby"), &k("alice"));
        b.merge_snapshot(&a.snapshot());
        let changes = c.merge_snapshot(&b.snapshot());
        assert_eq!(entry_keys(&changes.leaves), vec!["alice"]);
        assert!(c.list("room:lobby").is_empty());
        assert_eq!(c.lattice(), a.lattice());
    }

    #[test]
    fn lookups_filter_down_replicas() {
        let [mut a, mut b] = cluster(&["a", "b"]).try_into().unwrap();
        a.join(ALICE, t("room:lobby"), k("user:1"), "phone")
            .unwrap();
        b.join(BOB, t("room:lobby"), k("user:1"), "laptop").unwrap();
        a.merge_snapshot(&b.snapshot());
        assert_eq!(a.get_by_key("room:lobby", "user:1").len(), 2);
        assert_eq!(a.get_by_topic("room:lobby").len(), 2);

        assert_eq!(a.count("room:lobby"), 2);
        assert_eq!(a.count("room:kitchen"), 0);

        a.replica_down(b.replica());
        assert_eq!(a.get_by_key("room:lobby", "user:1"), vec![(ALICE, "phone")]);
        assert_eq!(a.get_by_topic("room:lobby").len(), 1);
        assert_eq!(a.get_by_owner(ALICE).len(), 1);
        assert_eq!(
            a.count("room:lobby"),
            a.list("room:lobby").len(),
            "count agrees with list: presences of a down replica are not counted"
        );
    }

    #[test]
    fn removing_a_down_replica_purges_it_for_good() {
        let [mut a, mut b, mut c] = cluster(&["a", "b", "c"]).try_into().unwrap();
        b.join(BOB, t("room:lobby"), k("bob"), "b").unwrap();
        a.merge_snapshot(&b.snapshot());
        c.merge_snapshot(&b.snapshot());

        a.replica_down(b.replica());
        a.remove_down_replica(b.replica());
        assert!(a.dirty_list("room:lobby").is_empty());
        assert!(!a.context().contains_key(b.replica()));

        // c still holds b's values; a no longer knows b, so they do not come back.
        let changes = a.merge_snapshot(&c.snapshot());
        assert!(changes.is_empty(), "{changes:?}");
        assert!(a.dirty_list("room:lobby").is_empty());
    }

    #[test]
    fn deltas_advance_clocks_exactly_and_compact_their_clouds() {
        let [mut a, mut b] = cluster(&["a", "b"]).try_into().unwrap();
        a.join(ALICE, t("room:lobby"), k("alice"), "a").unwrap();
        a.join(BOB, t("room:lobby"), k("bob"), "a").unwrap();
        a.leave(ALICE, &t("room:lobby"), &k("alice"));
        let delta = a.take_delta();
        // join, join, leave (its own dot): 3 events.
        assert_eq!(delta.start, VClock::from([(a.replica().clone(), 0)]));
        assert_eq!(delta.end, VClock::from([(a.replica().clone(), 3)]));
        assert_eq!(a.context()[a.replica()], 3);
        assert!(!a.has_delta());

        b.merge_delta(&delta);
        assert_eq!(b.context()[a.replica()], 3);
        assert!(
            b.clouds().is_empty(),
            "contiguous dots fold into the context"
        );
        assert_eq!(keys(b.list("room:lobby")), vec!["bob"]);
    }

    #[test]
    fn a_gap_stays_in_the_clouds_until_filled() {
        let [mut a, mut b] = cluster(&["a", "b"]).try_into().unwrap();
        a.join(ALICE, t("room:lobby"), k("alice"), "a").unwrap();
        let first = a.take_delta();
        a.join(BOB, t("room:lobby"), k("bob"), "a").unwrap();
        let second = a.take_delta();

        b.merge_delta(&second);
        assert_eq!(b.context()[a.replica()], 0);
        assert_eq!(b.clouds()[a.replica()], BTreeSet::from([2]));
        b.merge_delta(&first);
        assert_eq!(b.context()[a.replica()], 2);
        assert!(b.clouds().is_empty());
        assert_eq!(keys(b.list("room:lobby")), vec!["alice", "bob"]);
    }

    #[test]
    fn non_contiguous_deltas_are_refused() {
        let mut a = State::new(node("a", 1));
        a.join(ALICE, t("room:lobby"), k("alice"), "a").unwrap();
        let mut first = a.take_delta();
        a.join(BOB, t("room:lobby"), k("bob"), "a").unwrap();
        a.take_delta(); // lost
        a.join(OwnerId(3), t("room:lobby"), k("carol"), "a")
            .unwrap();
        let third = a.take_delta();
        assert_eq!(first.merge(&third), Err(NotContiguous));
        assert_eq!(first.values.len(), 1, "a refused merge changes nothing");
    }

    #[test]
    fn extract_keeps_only_what_the_remote_knows() {
        let [mut a, mut b, mut c] = cluster(&["a", "b", "c"]).try_into().unwrap();
        b.join(BOB, t("room:lobby"), k("bob"), "b").unwrap();
        c.join(OwnerId(3), t("room:lobby"), k("carol"), "c")
            .unwrap();
        a.join(ALICE, t("room:lobby"), k("alice"), "a").unwrap();
        a.merge_snapshot(&b.snapshot());
        a.merge_snapshot(&c.snapshot());

        // A newcomer d knows only itself and a.
        let d = node("d", 1);
        let d_clock = VClock::from([(d.clone(), 0), (a.replica().clone(), 0)]);
        let snapshot = a.extract(&d, &d_clock);
        assert_eq!(
            snapshot.context.keys().cloned().collect::<Vec<_>>(),
            vec![a.replica().clone()]
        );
        assert_eq!(snapshot.values.len(), 1);

        // b knows everyone: it gets a's and c's values, not its own.
        let snapshot = a.extract(b.replica(), &b.clocks());
        let mut got: Vec<&str> = snapshot.values.values().map(|e| &*e.key).collect();
        got.sort();
        assert_eq!(got, vec!["alice", "carol"]);
        assert_eq!(snapshot.context.len(), 3);
    }

    #[test]
    fn merging_deltas_unions_values_and_dots() {
        let mut a = State::new(node("a", 1));
        a.join(ALICE, t("room:lobby"), k("alice"), "a").unwrap();
        let mut first = a.take_delta();
        a.join(BOB, t("room:lobby"), k("bob"), "a").unwrap();
        let second = a.take_delta();
        first.merge(&second).unwrap();
        assert_eq!(first.values.len(), 2);
        assert_eq!(first.clouds[a.replica()], BTreeSet::from([1, 2]));
        assert_eq!(first.start[a.replica()], 0);
        assert_eq!(first.end[a.replica()], 2);
    }

    #[test]
    fn merging_deltas_with_removes_keeps_tombstones_and_concurrent_adds() {
        let [mut a, mut b] = cluster(&["a", "b"]).try_into().unwrap();
        a.join(ALICE, t("room:lobby"), k("alice"), "a").unwrap();
        let mut first = a.take_delta();
        a.leave(ALICE, &t("room:lobby"), &k("alice"));
        a.join(ALICE, t("room:lobby"), k("alice"), "again").unwrap();
        let second = a.take_delta();

        first.merge(&second).unwrap();
        let copy = first.clone();
        first.merge(&second).unwrap();
        assert_eq!(first, copy, "merging the same delta twice is a no-op");
        let metas: Vec<&str> = first.values.values().map(|e| e.meta).collect();
        assert_eq!(
            metas,
            vec!["again"],
            "the removed add is gone, the new add stays"
        );
        assert_eq!(
            first.clouds[a.replica()],
            BTreeSet::from([1, 2, 3]),
            "the removed dot stays as a tombstone"
        );

        // b hears of the first add only after the remove: it must never show "a".
        let changes = b.merge_delta(&first);
        assert_eq!(changes.joins.len(), 1);
        assert_eq!(b.list("room:lobby"), vec![(k("alice"), "again")]);

        // A concurrent add on b of the same key survives a's remove (different dots).
        b.join(BOB, t("room:lobby"), k("alice"), "b-device")
            .unwrap();
        a.leave(ALICE, &t("room:lobby"), &k("alice"));
        let changes = b.merge_delta(&a.take_delta());
        assert_eq!(changes.leaves.len(), 1);
        assert_eq!(b.list("room:lobby"), vec![(k("alice"), "b-device")]);
    }

    #[test]
    fn leaving_an_owner_removes_all_its_presences() {
        let mut a = State::new(node("a", 1));
        a.join(ALICE, t("room:lobby"), k("alice"), "a").unwrap();
        a.join(ALICE, t("orders:42"), k("alice"), "a").unwrap();
        a.join(BOB, t("room:lobby"), k("bob"), "a").unwrap();
        let left = a.leave_owner(ALICE);
        assert_eq!(left.len(), 2);
        assert_eq!(keys(a.list("room:lobby")), vec!["bob"]);
        assert!(a.list("orders:42").is_empty());
        assert!(a.leave_owner(ALICE).is_empty());
    }
}

mod generations {
    use super::*;

    /// `n` deltas of one join each from replica a.
    fn deltas(
        n: usize,
    ) -> (
        State<&'static str>,
        Vec<tracker::state::Delta<&'static str>>,
    ) {
        let mut a = State::new(node("a", 1));
        let ds = (0..n)
            .map(|i| {
                a.join(
                    OwnerId(i as u64),
                    t("room:lobby"),
                    k(&format!("user:{i}")),
                    "a",
                )
                .unwrap();
                a.take_delta()
            })
            .collect();
        (a, ds)
    }

    fn ranges(g: &DeltaGenerations<&'static str>) -> Vec<(u64, u64)> {
        let a = node("a", 1);
        g.generations()
            .iter()
            .map(|d| (d.start[&a], d.end[&a]))
            .collect()
    }

    #[test]
    fn generations_grow_to_their_limits_then_restart() {
        let (_, ds) = deltas(4);
        let mut g = DeltaGenerations::new(vec![2, 5, 6]);
        g.push(&ds[0]);
        assert_eq!(ranges(&g), vec![(0, 1), (0, 1), (0, 1)]);
        g.push(&ds[1]);
        // Each delta has size 2 (a value and its dot): gen 0 (limit 2) restarts.
        assert_eq!(ranges(&g), vec![(1, 2), (0, 2), (0, 2)]);
        g.push(&ds[2]);
        assert_eq!(ranges(&g), vec![(2, 3), (1, 3), (0, 3)]);
        g.push(&ds[3]);
        assert_eq!(ranges(&g), vec![(3, 4), (2, 4), (1, 4)]);
    }

    #[test]
    fn a_delta_larger_than_every_limit_resets_the_generations() {
        let (_, ds) = deltas(3);
        let mut big = ds[1].clone();
        big.merge(&ds[2]).unwrap();
        let mut g = DeltaGenerations::new(vec![2, 3]);
        g.push(&ds[0]);
        g.push(&big);
        assert!(
            g.generations().is_empty(),
            "a size-4 delta fits no generation"
        );
    }

    #[test]
    fn duplicate_pushes_are_a_no_op() {
        let (_, ds) = deltas(2);
        let mut g = DeltaGenerations::new(vec![10, 20]);
        g.push(&ds[0]);
        g.push(&ds[1]);
        let before = g.generations().to_vec();
        g.push(&ds[1]);
        assert_eq!(g.generations(), &before[..]);
    }

    #[test]
    fn non_contiguous_deltas_are_left_out() {
        let (_, ds) = deltas(3);
        let mut g = DeltaGenerations::new(vec![10, 20]);
        g.push(&ds[0]);
        g.push(&ds[2]);
        assert_eq!(ranges(&g), vec![(0, 1), (0, 1)]);
    }

    #[test]
    fn removing_a_replica_clears_it_from_every_generation() {
        let (_, ds) = deltas(2);
        let mut g = DeltaGenerations::new(vec![10, 20]);
        g.push(&ds[0]);
        g.push(&ds[1]);
        g.remove_replica(&node("a", 1));
        assert!(
            g.generations()
                .iter()
                .all(|d| d.values.is_empty() && d.is_empty())
        );
    }

    #[test]
    fn extract_picks_the_first_generation_that_fits_else_the_whole_state() {
        let (a, ds) = deltas(4);
        let me = a.replica().clone();
        let b = node("b", 1);
        let clock_at = |n: u64| VClock::from([(b.clone(), 0), (me.clone(), n)]);

        let empty = DeltaGenerations::new(vec![2, 5, 6]);
        assert!(matches!(
            empty.extract(&a, &b, &clock_at(0)),
            Transfer::Snapshot(_)
        ));

        let mut g = DeltaGenerations::new(vec![2, 5, 6]);
        for d in &ds {
            g.push(d);
        }
        // Generations cover (3,4), (2,4), (1,4).
        let start_of = |t: Transfer<&str>| match t {
            Transfer::Delta(d) => Some(d.start[&me]),
            Transfer::Snapshot(_) => None,
        };
        assert_eq!(start_of(g.extract(&a, &b, &clock_at(3))), Some(3));
        assert_eq!(start_of(g.extract(&a, &b, &clock_at(2))), Some(2));
        assert_eq!(start_of(g.extract(&a, &b, &clock_at(1))), Some(1));
        assert_eq!(
            start_of(g.extract(&a, &b, &clock_at(0))),
            None,
            "too far behind"
        );
        assert_eq!(
            start_of(g.extract(&a, &b, &clock_at(4))),
            None,
            "nothing new in any delta: no delta is chosen"
        );
    }

    #[test]
    fn an_empty_delta_is_never_chosen() {
        let mut a = State::<&str>::new(node("a", 1));
        let empty = a.take_delta();
        let mut g = DeltaGenerations::new(vec![2]);
        g.push(&empty);
        let b = node("b", 1);
        let clock = VClock::from([(b.clone(), 0), (a.replica().clone(), 0)]);
        assert!(matches!(g.extract(&a, &b, &clock), Transfer::Snapshot(_)));
    }
}

mod wire {
    use super::*;
    use tracker::Tracked;
    use tracker::transport::Gossip;

    fn tracked(meta: &str, n: u32) -> Tracked<String> {
        Tracked {
            meta: meta.to_string(),
            phx_ref: format!("ref-{n}").into(),
            phx_ref_prev: (n > 1).then(|| Arc::from(format!("ref-{}", n - 1))),
        }
    }

    #[test]
    fn gossip_survives_a_json_round_trip() {
        let [mut a, mut b] = cluster_of::<Tracked<String>, 2>(["a", "b"]);
        a.join(
            OwnerId(1),
            t("room:lobby"),
            k("alice"),
            tracked("online", 1),
        )
        .unwrap();
        a.join(OwnerId(2), t("orders:42"), k("bob"), tracked("online", 2))
            .unwrap();
        a.leave(OwnerId(1), &t("room:lobby"), &k("alice"));
        let delta = a.take_delta();
        let heartbeat = Gossip::Heartbeat {
            from: a.replica().clone(),
            delta: Some(delta.clone()),
            clocks: a.clocks(),
        };
        let json = serde_json::to_string(&heartbeat).expect("encodes");
        let Gossip::Heartbeat {
            from,
            delta: Some(decoded),
            clocks,
        } = serde_json::from_str::<Gossip<String>>(&json).expect("decodes")
        else {
            panic!("decoded into another message: {json}");
        };
        assert_eq!(&from, a.replica());
        assert_eq!(clocks, a.clocks());
        assert_eq!(decoded, delta);

        let changes = b.merge_delta(&decoded);
        assert_eq!(entry_keys(&changes.joins), vec!["bob"]);

        let snapshot = a.extract(b.replica(), &b.clocks());
        let json = serde_json::to_string(&snapshot).unwrap();
        assert_eq!(
            serde_json::from_str::<Snapshot<Tracked<String>>>(&json).unwrap(),
            snapshot
        );
    }
}
