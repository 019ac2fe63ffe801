//! Trackers on several "nodes" of an in-memory hub, with paused time: heartbeats,
//! catch-up transfers, netsplits, crashes, restarts, graceful shutdowns and handle_diff.
//!
//! Timings follow the reference suite: a 100 ms broadcast period, 2 silent periods,
//! so down after 400 ms of silence, and permdown after 1500 ms.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, sleep, timeout};
use tracker::hub::Hub;
use tracker::replica::{ReplicaRef, Status};
use tracker::transport::GossipKind;
use tracker::{
    ConfigError, Diff, TrackError, Tracked, Tracker, TrackerConfig, TrackerEvent, shard_for,
};

type Meta = &'static str;

const PERIOD: Duration = Duration::from_millis(100);
const TIMEOUT: Duration = Duration::from_millis(1000);

fn config(pool_size: usize) -> TrackerConfig {
    TrackerConfig {
        pool_size,
        permdown_period: Duration::from_millis(1500),
        ..TrackerConfig::with_periods(PERIOD, 2)
    }
}

/// One diff entry, flattened: (topic, "join" | "leave", key, tracked).
type Change = (String, &'static str, String, Tracked<Meta>);

struct Node {
    name: &'static str,
    tracker: Tracker<Meta>,
    diffs: mpsc::UnboundedReceiver<Diff<Meta>>,
    events: broadcast::Receiver<TrackerEvent>,
}

fn start(hub: &Hub<Meta>, name: &'static str) -> Node {
    start_pool(hub, name, 1)
}

fn start_pool(hub: &Hub<Meta>, name: &'static str, pool_size: usize) -> Node {
    start_with(hub, name, config(pool_size))
}

fn start_with(hub: &Hub<Meta>, name: &'static str, config: TrackerConfig) -> Node {
    let (tx, diffs) = mpsc::unbounded_channel();
    // The test's handle_diff forwards every batch, like a Presence would re-broadcast it.
    let handler = move |diff: &Diff<Meta>| {
        let _ = tx.send(diff.clone());
    };
    let tracker =
        Tracker::start("presence", hub.node(name), handler, config).expect("valid config");
    let events = tracker.events();
    Node {
        name,
        tracker,
        diffs,
        events,
    }
}

impl Node {
    /// Every change reported so far, flattened.
    fn drain(&mut self) -> Vec<Change> {
        let mut out = Vec::new();
        while let Ok(diff) = self.diffs.try_recv() {
            out.extend(flatten(&diff));
        }
        out
    }

    /// The next diff batch (waiting at most TIMEOUT of virtual time).
    async fn next_diff(&mut self) -> Vec<Change> {
        let diff = timeout(TIMEOUT, self.diffs.recv())
            .await
            .unwrap_or_else(|_| panic!("{}: no diff within {TIMEOUT:?}", self.name))
            .expect("handler alive");
        flatten(&diff)
    }

    /// Waits for an event matching `pred`, failing after TIMEOUT * 3.
    async fn event(&mut self, what: &str, pred: impl Fn(&TrackerEvent) -> bool) -> TrackerEvent {
        let name = self.name;
        timeout(TIMEOUT * 3, async {
            loop {
                let e = self.events.recv().await.expect("events open");
                if pred(&e) {
                    return e;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{name}: no {what} event"))
    }

    async fn keys(&self, topic: &str) -> BTreeSet<String> {
        self.tracker
            .list(topic)
            .await
            .into_iter()
            .map(|(k, _)| k.to_string())
            .collect()
    }

    async fn replica(&self) -> ReplicaRef {
        self.tracker.replicas().await.remove(0).0
    }
}

fn flatten(diff: &Diff<Meta>) -> Vec<Change> {
    let mut out = Vec::new();
    for (topic, d) in diff {
        for (k, t) in &d.leaves {
            out.push((topic.to_string(), "leave", k.to_string(), t.clone()));
        }
        for (k, t) in &d.joins {
            out.push((topic.to_string(), "join", k.to_string(), t.clone()));
        }
    }
    out
}

fn summary(changes: &[Change]) -> Vec<(&str, &str)> {
    changes
        .iter()
        .map(|(_, kind, key, _)| (*kind, key.as_str()))
        .collect()
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

#[tokio::test(start_paused = true)]
async fn heartbeats_are_sent_every_period_and_carry_deltas() {
    let hub = Hub::new();
    let a = start(&hub, "a");
    let _b = start(&hub, "b");
    sleep(Duration::from_millis(1000)).await;
    let idle = hub.count("a", "b", GossipKind::EmptyHeartbeat);
    assert!(
        (3..=4).contains(&idle),
        "an idle shard sends a bare heartbeat every 3rd period (2 silent ones between): \
         {idle} in 1 s"
    );
    assert_eq!(hub.count("a", "b", GossipKind::Heartbeat), 0);

    let alice = a.tracker.owner();
    a.tracker
        .track(&alice, "room:lobby", "alice", "online")
        .await
        .unwrap();
    sleep(PERIOD).await;
    assert_eq!(
        hub.count("a", "b", GossipKind::Heartbeat),
        1,
        "a change is broadcast within one period"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unseen_node_comes_up_then_catches_up_by_transfer() {
    let hub = Hub::new();
    let a = start(&hub, "a");
    let alice = a.tracker.owner();
    a.tracker
        .track(&alice, "room:lobby", "alice", "online")
        .await
        .unwrap();
    sleep(PERIOD * 3).await; // the delta is gone before b exists

    let mut b = start(&hub, "b");
    let up = b
        .event("replica up", |e| {
            matches!(e, TrackerEvent::ReplicaUp { .. })
        })
        .await;
    assert!(matches!(up, TrackerEvent::ReplicaUp { replica, .. } if &*replica.name == "a"));
    sleep(PERIOD * 5).await;
    let log: Vec<_> = hub
        .log()
        .into_iter()
        .filter(|s| matches!(s.kind, GossipKind::TransferReq | GossipKind::TransferAck))
        .map(|s| (s.from, s.to, s.kind))
        .collect();
    assert_eq!(
        log.first(),
        Some(&("b".to_string(), "a".to_string(), GossipKind::TransferReq))
    );
    assert_eq!(
        log.get(1),
        Some(&("a".to_string(), "b".to_string(), GossipKind::TransferAck))
    );
    assert_eq!(b.keys("room:lobby").await, set(&["alice"]));
    assert_eq!(summary(&b.drain()), vec![("join", "alice")]);
}

#[tokio::test(start_paused = true)]
async fn transfer_requests_collapse_to_one_dominant_node() {
    let hub = Hub::new();
    let a = start(&hub, "a");
    let _b = start(&hub, "b");
    let _c = start(&hub, "c");
    let owners: Vec<_> = (0..3).map(|_| a.tracker.owner()).collect();
    for (i, key) in ["user:1", "user:2", "user:3"].into_iter().enumerate() {
        a.tracker
            .track(&owners[i], "room:lobby", key, "online")
            .await
            .unwrap();
    }
    sleep(Duration::from_millis(1000)).await;

    // d's process is frozen while everyone's heartbeats queue up for it, so when it
    // resumes it holds three equally informed clocks: it must ask only one of them.
    hub.suspend("d");
    let d = start(&hub, "d");
    sleep(Duration::from_millis(1000)).await;
    hub.clear_log();
    hub.resume("d");
    sleep(Duration::from_millis(1000)).await;
    let asked: usize = ["a", "b", "c"]
        .iter()
        .map(|n| hub.count("d", n, GossipKind::TransferReq))
        .sum();
    assert_eq!(
        asked, 1,
        "d sent {asked} transfer requests; one node knew everything"
    );
    assert_eq!(
        d.keys("room:lobby").await,
        set(&["user:1", "user:2", "user:3"])
    );
}

#[tokio::test(start_paused = true)]
async fn a_restarted_node_replaces_its_old_replica_everywhere() {
    let hub = Hub::new();
    let mut a = start(&hub, "a");
    let b = start(&hub, "b");
    let (alice, bob) = (a.tracker.owner(), b.tracker.owner());
    a.tracker
        .track(&alice, "room:lobby", "alice", "online")
        .await
        .unwrap();
    b.tracker
        .track(&bob, "room:lobby", "bob", "online")
        .await
        .unwrap();
    sleep(PERIOD * 5).await;
    assert_eq!(a.keys("room:lobby").await, set(&["alice", "bob"]));
    let old = b.replica().await;
    a.drain();

    // A rolling update: b stops without a word and starts again at once.
    drop(b);
    hub.clear_log();
    let b2 = start(&hub, "b");
    let new = b2.replica().await;
    assert_ne!(old.vsn, new.vsn, "a restart is a new replica");

    let down = a
        .event("down", |e| matches!(e, TrackerEvent::ReplicaDown { .. }))
        .await;
    assert!(matches!(down, TrackerEvent::ReplicaDown { replica, .. } if replica == old));
    a.event(
        "permdown",
        |e| matches!(e, TrackerEvent::ReplicaPermdown { replica, .. } if *replica == old),
    )
    .await;
    a.event(
        "up",
        |e| matches!(e, TrackerEvent::ReplicaUp { replica, .. } if *replica == new),
    )
    .await;
    assert_eq!(summary(&a.drain()), vec![("leave", "bob")]);
    assert_eq!(a.keys("room:lobby").await, set(&["alice"]));
    assert_eq!(
        a.tracker.dirty_list("room:lobby").await.len(),
        1,
        "purged, not hidden"
    );

    sleep(Duration::from_millis(1000)).await;
    assert_eq!(b2.keys("room:lobby").await, set(&["alice"]));
    assert_eq!(
        hub.count("b", "a", GossipKind::TransferReq),
        1,
        "the new replica asks once, then heartbeats keep it in sync"
    );
}

#[tokio::test(start_paused = true)]
async fn a_suspended_node_goes_down_then_comes_back_with_the_same_replica() {
    let hub = Hub::new();
    let mut a = start(&hub, "a");
    let b = start(&hub, "b");
    let (alice, bob) = (a.tracker.owner(), b.tracker.owner());
    a.tracker
        .track(&alice, "room:lobby", "alice", "online")
        .await
        .unwrap();
    let bob_ref = b
        .tracker
        .track(&bob, "room:lobby", "bob", "online")
        .await
        .unwrap();
    sleep(PERIOD * 5).await;
    let b_replica = b.replica().await;
    a.drain();

    hub.suspend("b");
    let started = Instant::now();
    a.event("down", |e| matches!(e, TrackerEvent::ReplicaDown { .. }))
        .await;
    let silent = started.elapsed();
    assert!(
        silent >= Duration::from_millis(100) && silent <= Duration::from_millis(700),
        "down after {silent:?}: expected about the 400 ms down period after b's last heartbeat"
    );
    assert_eq!(summary(&a.drain()), vec![("leave", "bob")]);
    assert_eq!(a.keys("room:lobby").await, set(&["alice"]));
    assert_eq!(
        a.tracker
            .dirty_list("room:lobby")
            .await
            .into_iter()
            .map(|(k, _)| k.to_string())
            .collect::<BTreeSet<_>>(),
        set(&["alice", "bob"]),
        "hidden, not deleted, until permdown"
    );

    hub.resume("b");
    let up = a
        .event("up", |e| matches!(e, TrackerEvent::ReplicaUp { .. }))
        .await;
    assert!(
        matches!(&up, TrackerEvent::ReplicaUp { replica, .. } if *replica == b_replica),
        "same replica after a netsplit: {up:?}"
    );
    let back = a.next_diff().await;
    assert_eq!(summary(&back), vec![("join", "bob")]);
    assert_eq!(
        back[0].3.phx_ref, bob_ref,
        "the same presence is back, not a new one"
    );
}

#[tokio::test(start_paused = true)]
async fn a_crash_is_down_then_permdown_and_a_restart_is_up() {
    let hub = Hub::new();
    let mut a = start(&hub, "a");
    let b = start(&hub, "b");
    let bob = b.tracker.owner();
    b.tracker
        .track(&bob, "room:lobby", "bob", "online")
        .await
        .unwrap();
    sleep(PERIOD * 5).await;
    let old = b.replica().await;

    drop(b);
    a.event(
        "down",
        |e| matches!(e, TrackerEvent::ReplicaDown { replica, .. } if *replica == old),
    )
    .await;
    assert_eq!(
        a.tracker.replicas().await[0].1,
        vec![(old.clone(), Status::Down)]
    );
    assert_eq!(a.tracker.dirty_list("room:lobby").await.len(), 1);
    a.event(
        "permdown",
        |e| matches!(e, TrackerEvent::ReplicaPermdown { replica, .. } if *replica == old),
    )
    .await;
    assert!(a.tracker.dirty_list("room:lobby").await.is_empty());
    assert!(a.tracker.replicas().await[0].1.is_empty());

    let b2 = start(&hub, "b");
    let new = b2.replica().await;
    a.event(
        "up",
        |e| matches!(e, TrackerEvent::ReplicaUp { replica, .. } if *replica == new),
    )
    .await;
    assert_ne!(new.vsn, old.vsn);
}

// ANCHOR: converge_after_partition
#[tokio::test(start_paused = true)]
async fn a_healed_partition_converges_within_a_few_periods() {
    let hub = Hub::new();
    let a = start(&hub, "a");
    let b = start(&hub, "b");
    let c = start(&hub, "c");
    let (alice, bob, carol) = (a.tracker.owner(), b.tracker.owner(), c.tracker.owner());
    a.tracker
        .track(&alice, "room:lobby", "alice", "online")
        .await
        .unwrap();
    b.tracker
        .track(&bob, "room:lobby", "bob", "online")
        .await
        .unwrap();
    sleep(PERIOD * 5).await;

    hub.partition(&["a"], &["b", "c"]);
    sleep(Duration::from_millis(600)).await; // long enough for both sides to see "down"
    let alice2 = a.tracker.owner();
    a.tracker
        .track(&alice2, "room:lobby", "alice:phone", "online")
        .await
        .unwrap();
    b.tracker.untrack(&bob, "room:lobby", "bob").await;
    c.tracker
        .track(&carol, "room:lobby", "carol", "online")
        .await
        .unwrap();
    sleep(Duration::from_millis(300)).await;
    assert_eq!(a.keys("room:lobby").await, set(&["alice", "alice:phone"]));
    assert_eq!(b.keys("room:lobby").await, set(&["carol"]));

    hub.heal();
    let healed = Instant::now();
    let expected = set(&["alice", "alice:phone", "carol"]);
    loop {
        let views = [
            a.keys("room:lobby").await,
            b.keys("room:lobby").await,
            c.keys("room:lobby").await,
        ];
        if views.iter().all(|v| *v == expected) {
            break;
        }
        assert!(
            healed.elapsed() < TIMEOUT * 2,
            "not converged after 2 s: {views:?}"
        );
        sleep(Duration::from_millis(1)).await;
    }
    let took = healed.elapsed();
    eprintln!(
        "figure: converged {} ms of virtual time after the heal ({:.1} broadcast periods)",
        took.as_millis(),
        took.as_secs_f64() / PERIOD.as_secs_f64()
    );
    assert!(took <= PERIOD * 6, "converging took {took:?}");
}
// ANCHOR_END: converge_after_partition

#[tokio::test(start_paused = true)]
async fn joins_and_leaves_are_reported_locally_at_once_and_remotely_within_a_period() {
    let hub = Hub::new();
    let mut a = start(&hub, "a");
    let mut b = start(&hub, "b");
    sleep(PERIOD * 5).await;

    let alice = a.tracker.owner();
    let phx_ref = a
        .tracker
        .track(&alice, "room:lobby", "alice", "online")
        .await
        .unwrap();
    let local = a.drain();
    assert_eq!(
        summary(&local),
        vec![("join", "alice")],
        "handle_diff runs inside track"
    );
    assert_eq!(local[0].3.phx_ref, phx_ref);
    assert_eq!(local[0].0, "room:lobby");

    let remote = b.next_diff().await;
    assert_eq!(summary(&remote), vec![("join", "alice")]);
    assert_eq!(
        remote[0].3, local[0].3,
        "same meta and phx_ref on every node"
    );

    a.tracker.untrack(&alice, "room:lobby", "alice").await;
    assert_eq!(summary(&a.drain()), vec![("leave", "alice")]);
    assert_eq!(summary(&b.next_diff().await), vec![("leave", "alice")]);
    a.tracker.untrack(&alice, "room:lobby", "alice").await; // not tracked: nothing
    assert!(a.drain().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_ended_owner_leaves_every_topic() {
    let hub = Hub::new();
    let mut a = start_pool(&hub, "a", 4);
    let b = start_pool(&hub, "b", 4);
    let channel = a.tracker.owner();
    for topic in ["room:lobby", "orders:42", "sensors:boiler"] {
        a.tracker
            .track(&channel, topic, "user:7", "online")
            .await
            .unwrap();
    }
    sleep(PERIOD * 3).await;
    assert_eq!(b.keys("orders:42").await, set(&["user:7"]));
    a.drain();

    drop(channel); // the channel's task ended
    sleep(Duration::from_millis(1)).await;
    assert_eq!(a.drain().len(), 3, "one leave per topic");
    sleep(PERIOD * 3).await;
    for topic in ["room:lobby", "orders:42", "sensors:boiler"] {
        assert!(
            b.keys(topic).await.is_empty(),
            "{topic} still lists user:7 on b"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn untrack_all_removes_an_owners_presences_only() {
    let hub = Hub::new();
    let a = start_pool(&hub, "a", 2);
    let (alice, bob) = (a.tracker.owner(), a.tracker.owner());
    a.tracker
        .track(&alice, "room:lobby", "alice", "x")
        .await
        .unwrap();
    a.tracker
        .track(&alice, "orders:1", "alice", "x")
        .await
        .unwrap();
    a.tracker
        .track(&bob, "room:lobby", "bob", "x")
        .await
        .unwrap();
    a.tracker.untrack_all(&alice).await;
    assert_eq!(a.keys("room:lobby").await, set(&["bob"]));
    assert!(a.keys("orders:1").await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_update_is_a_leave_of_the_old_meta_and_a_join_of_the_new_one() {
    let hub = Hub::new();
    let mut a = start(&hub, "a");
    let mut b = start(&hub, "b");
    let alice = a.tracker.owner();
    let first = a
        .tracker
        .track(&alice, "room:lobby", "alice", "idle")
        .await
        .unwrap();
    sleep(PERIOD * 3).await;
    a.drain();
    b.drain();

    let second = a
        .tracker
        .update(&alice, "room:lobby", "alice", "typing")
        .await
        .unwrap();
    assert_ne!(first, second);
    for diff in [a.next_diff().await, b.next_diff().await] {
        assert_eq!(
            summary(&diff),
            vec![("leave", "alice"), ("join", "alice")],
            "one diff"
        );
        assert_eq!(diff[0].3.meta, "idle");
        assert_eq!(diff[0].3.phx_ref, first);
        assert_eq!(diff[1].3.meta, "typing");
        assert_eq!(diff[1].3.phx_ref, second);
        assert_eq!(diff[1].3.phx_ref_prev.as_deref(), Some(&*first));
    }

    let third = a
        .tracker
        .update_with(&alice, "room:lobby", "alice", |old| {
            if *old == "typing" { "idle" } else { "typing" }
        })
        .await
        .unwrap();
    let diff = a.next_diff().await;
    assert_eq!(diff[1].3.meta, "idle");
    assert_eq!(diff[1].3.phx_ref, third);
    assert_eq!(
        a.tracker.get_by_key("room:lobby", "alice").await[0].1.meta,
        "idle"
    );
}

#[tokio::test(start_paused = true)]
async fn errors_for_updates_without_presence_and_duplicate_tracks() {
    let hub = Hub::new();
    let a = start(&hub, "a");
    let alice = a.tracker.owner();
    assert_eq!(
        a.tracker
            .update(&alice, "room:lobby", "alice", "typing")
            .await,
        Err(TrackError::NoPresence)
    );
    a.tracker
        .track(&alice, "room:lobby", "alice", "idle")
        .await
        .unwrap();
    assert_eq!(
        a.tracker.track(&alice, "room:lobby", "alice", "idle").await,
        Err(TrackError::AlreadyTracked)
    );
    // Another owner (a second tab) may track the same key.
    let tab2 = a.tracker.owner();
    a.tracker
        .track(&tab2, "room:lobby", "alice", "idle")
        .await
        .unwrap();
    assert_eq!(a.tracker.list("room:lobby").await.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_graceful_permdown_removes_the_node_at_once() {
    let hub = Hub::new();
    let mut a = start(&hub, "a");
    let b = start(&hub, "b");
    let bob = b.tracker.owner();
    b.tracker
        .track(&bob, "room:lobby", "bob", "online")
        .await
        .unwrap();
    sleep(PERIOD * 5).await;
    a.drain();

    b.tracker.graceful_permdown().await;
    sleep(Duration::from_millis(1)).await; // no timer involved: just scheduling
    assert_eq!(summary(&a.drain()), vec![("leave", "bob")]);
    assert!(a.tracker.replicas().await[0].1.is_empty());
    a.event("permdown", |e| {
        matches!(e, TrackerEvent::ReplicaPermdown { .. })
    })
    .await;
    assert_eq!(
        b.tracker.track(&bob, "room:lobby", "bob", "again").await,
        Err(TrackError::Stopped)
    );
}

/// How a node stops.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stop {
    /// SIGTERM or Ctrl-C: `graceful_permdown`, then the process exits.
    Graceful,
    /// SIGKILL, a power cut: the process is gone without a word.
    Crash,
}

/// Node "a" tracks three users that node "b" lists; then "a" stops as `stop` says.
/// Returns how long b went on listing them, and the leaves b reported.
async fn listed_after_stop(stop: Stop) -> (Duration, Vec<Change>) {
    let hub = Hub::new();
    // A down period far longer than the broadcast period, as in production (30 s
    // against 1.5 s): the two ways of leaving must not overlap.
    let config = TrackerConfig {
        down_period: PERIOD * 20,
        permdown_period: PERIOD * 60,
        ..config(1)
    };
    let a = start_with(&hub, "a", config.clone());
    let mut b = start_with(&hub, "b", config);
    let users = ["alice", "bob", "carol"];
    let mut owners = Vec::new();
    for user in users {
        let owner = a.tracker.owner();
        a.tracker
            .track(&owner, "room:lobby", user, "online")
            .await
            .unwrap();
        owners.push(owner);
    }
    sleep(PERIOD * 5).await;
    assert_eq!(b.keys("room:lobby").await, set(&users));
    b.drain();

    let stopped = Instant::now();
    if stop == Stop::Graceful {
        a.tracker.graceful_permdown().await;
    }
    // The process is gone; its channels (the owners) did not get to untrack anything.
    drop(a);
    while !b.keys("room:lobby").await.is_empty() {
        assert!(stopped.elapsed() < PERIOD * 100, "{stop:?}: never left");
        sleep(Duration::from_millis(1)).await;
    }
    drop(owners);
    (stopped.elapsed(), b.drain())
}

#[tokio::test(start_paused = true)]
async fn a_graceful_stop_leaves_within_two_periods_and_a_crash_after_the_down_period() {
    let (graceful, leaves) = listed_after_stop(Stop::Graceful).await;
    println!("graceful stop: the other node listed its users for {graceful:?} more");
    assert!(
        graceful <= PERIOD * 2,
        "a graceful stop must show within two broadcast periods ({:?}), took {graceful:?}",
        PERIOD * 2
    );
    let mut left = summary(&leaves);
    left.sort();
    assert_eq!(
        left,
        [("leave", "alice"), ("leave", "bob"), ("leave", "carol")]
    );

    let (crash, leaves) = listed_after_stop(Stop::Crash).await;
    println!("crash: the other node listed its users for {crash:?} more");
    let down = PERIOD * 20;
    // The crash came up to three periods after a's last heartbeat (two silent
    // periods, then a bare one), and b checks once a period.
    assert!(
        crash >= down - PERIOD * 3 && crash <= down + PERIOD * 2,
        "a crash is noticed after the down period ({down:?}), took {crash:?}"
    );
    assert_eq!(leaves.len(), 3, "{leaves:?}");
}

#[tokio::test(start_paused = true)]
async fn a_node_dropping_gossip_catches_up_when_it_listens_again() {
    let hub = Hub::new();
    let a = start(&hub, "a");
    let b = start(&hub, "b");
    sleep(PERIOD * 3).await;
    hub.drop_gossips("b");
    let alice = a.tracker.owner();
    a.tracker
        .track(&alice, "room:lobby", "alice", "online")
        .await
        .unwrap();
    sleep(PERIOD * 2).await;
    assert!(b.keys("room:lobby").await.is_empty());
    hub.resume_gossips("b");
    sleep(PERIOD * 6).await;
    assert_eq!(
        b.keys("room:lobby").await,
        set(&["alice"]),
        "the lost delta came by transfer"
    );
}

#[tokio::test(start_paused = true)]
async fn pools_of_any_size_route_every_call_to_the_same_shard() {
    for pool_size in [1, 2, 8, 512] {
        let hub = Hub::new();
        let a = start_pool(&hub, "a", pool_size);
        let b = start_pool(&hub, "b", pool_size);
        let owner = a.tracker.owner();
        let topics: Vec<String> = (0..20).map(|i| format!("orders:{i}")).collect();
        for t in &topics {
            a.tracker
                .track(&owner, t, "user:1", "online")
                .await
                .unwrap();
        }
        a.tracker
            .update(&owner, &topics[3], "user:1", "busy")
            .await
            .unwrap();
        a.tracker.untrack(&owner, &topics[4], "user:1").await;
        sleep(PERIOD * 5).await;
        for (i, t) in topics.iter().enumerate() {
            let listed = b.tracker.list(t).await;
            match i {
                4 => assert!(listed.is_empty(), "pool {pool_size}: {t} untracked"),
                3 => assert_eq!(listed[0].1.meta, "busy", "pool {pool_size}"),
                _ => assert_eq!(listed.len(), 1, "pool {pool_size}: {t}"),
            }
        }
        a.tracker.untrack_all(&owner).await;
        a.tracker.graceful_permdown().await;
        b.tracker.graceful_permdown().await;
    }
}

#[test]
fn the_shard_hash_is_stable_and_spreads_topics() {
    // Pinned: every node, build and platform must agree.
    assert_eq!(shard_for("room:lobby", 8), shard_for("room:lobby", 8));
    assert_eq!(shard_for("", 8), (0xcbf2_9ce4_8422_2325_u64 % 8) as usize);
    let mut counts = [0usize; 8];
    for i in 0..8000 {
        counts[shard_for(&format!("orders:{i}"), 8)] += 1;
    }
    assert!(
        counts.iter().all(|&c| (800..1200).contains(&c)),
        "uneven: {counts:?}"
    );
}

#[test]
fn timing_options_are_validated() {
    let mut c = config(1);
    c.down_period = PERIOD;
    assert_eq!(
        c.validate(),
        Err(ConfigError(
            "down_period must be at least twice as large as the broadcast_period"
        ))
    );
    let mut c = config(1);
    c.permdown_period = c.down_period;
    assert_eq!(
        c.validate(),
        Err(ConfigError(
            "permdown_period must be at least larger than the down_period"
        ))
    );
    assert!(config(1).validate().is_ok());
    assert!(TrackerConfig::default().validate().is_ok());
    assert_eq!(
        TrackerConfig::default().down_period,
        Duration::from_secs(30)
    );
}

/// Many seeded histories of partitions (some longer than the permdown period), dropped
/// gossip and churn: once the network heals, every node lists exactly what the owners hold.
#[tokio::test(start_paused = true)]
async fn random_partitions_and_churn_converge_once_healed() {
    let mut seed: u64 = 0x5eed_2026;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    const NAMES: [&str; 3] = ["a", "b", "c"];
    for round in 0..12 {
        let hub = Hub::new();
        let nodes: Vec<Node> = NAMES.iter().map(|n| start(&hub, n)).collect();
        let owners: Vec<Vec<_>> = nodes
            .iter()
            .map(|n| (0..4).map(|_| n.tracker.owner()).collect())
            .collect();
        let mut truth = BTreeSet::new();
        let mut history = Vec::new();
        for _ in 0..30 {
            match next(6) {
                0 => {
                    let i = next(3) as usize;
                    let rest: Vec<&str> =
                        NAMES.iter().copied().filter(|n| *n != NAMES[i]).collect();
                    hub.partition(&[NAMES[i]], &rest);
                    history.push(format!("partition {}", NAMES[i]));
                }
                1 => {
                    hub.heal();
                    history.push("heal".to_string());
                }
                2 => {
                    let i = next(3) as usize;
                    hub.drop_gossips(NAMES[i]);
                    history.push(format!("drop {}", NAMES[i]));
                }
                _ => {
                    let (n, o) = (next(3) as usize, next(4) as usize);
                    let key = format!("user:{}{o}", NAMES[n]);
                    if truth.remove(&key) {
                        nodes[n]
                            .tracker
                            .untrack(&owners[n][o], "room:lobby", &key)
                            .await;
                        history.push(format!("untrack {key}"));
                    } else {
                        nodes[n]
                            .tracker
                            .track(&owners[n][o], "room:lobby", &key, "online")
                            .await
                            .unwrap();
                        history.push(format!("track {key}"));
                        truth.insert(key);
                    }
                }
            }
            let pause = Duration::from_millis(next(400));
            sleep(pause).await;
            history.push(format!("sleep {}ms", pause.as_millis()));
        }
        hub.heal();
        for n in NAMES {
            hub.resume_gossips(n);
        }
        let healed = Instant::now();
        loop {
            let mut views = Vec::new();
            for n in &nodes {
                views.push(n.keys("room:lobby").await);
            }
            if views.iter().all(|v| *v == truth) {
                break;
            }
            assert!(
                healed.elapsed() < Duration::from_secs(3),
                "round {round}: no convergence 3 s after healing\n\
                 expected {truth:?}\n got {views:?}\n history: {history:?}"
            );
            sleep(Duration::from_millis(10)).await;
        }
    }
}
