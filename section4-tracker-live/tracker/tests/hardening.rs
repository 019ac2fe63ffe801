//! Hardening: a 3-node cluster of trackers (the in-memory hub, paused time) where one
//! node dies without a goodbye. Its presences must leave every remaining replica
//! within the down period (reported as leaves through handle_diff, gone from `list`),
//! nothing may panic, and the survivors keep converging.
//!
//! The short version runs in `cargo test`; the long one (more presences, several
//! kill and restart cycles) with `HARDENING=long`:
//!
//! ```text
//! HARDENING=long cargo test -p tracker --release --test hardening -- --nocapture
//! ```
//!
//! What it saw (how soon the dead node's presences left, how soon the restarted node
//! caught up, each cycle) goes to `target/figures/hardening-tracker.json`, for the
//! results page (`cargo xtask bench`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use figures::section4::{KillCycle, KilledNodeHardening};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};
use tracker::hub::Hub;
use tracker::{Diff, Owner, Tracker, TrackerConfig};

type Meta = &'static str;

const PERIOD: Duration = Duration::from_millis(100);

fn long() -> bool {
    std::env::var("HARDENING").is_ok_and(|v| v == "long")
}

fn config() -> TrackerConfig {
    TrackerConfig {
        pool_size: 2,
        permdown_period: Duration::from_millis(1500),
        ..TrackerConfig::with_periods(PERIOD, 2)
    }
}

struct Node {
    tracker: Tracker<Meta>,
    /// Keys that left, per topic, as handle_diff reported them.
    leaves: mpsc::UnboundedReceiver<(String, String)>,
    owners: Vec<Owner>,
}

fn start(hub: &Hub<Meta>, name: &str) -> Node {
    let (tx, leaves) = mpsc::unbounded_channel();
    let handler = move |diff: &Diff<Meta>| {
        for (topic, d) in diff {
            for (key, _) in &d.leaves {
                let _ = tx.send((topic.to_string(), key.to_string()));
            }
        }
    };
    let tracker = Tracker::start("presence", hub.node(name), handler, config()).unwrap();
    Node {
        tracker,
        leaves,
        owners: Vec::new(),
    }
}

impl Node {
    async fn track_many(&mut self, prefix: &str, topics: usize, per_topic: usize) {
        for t in 0..topics {
            for k in 0..per_topic {
                let owner = self.tracker.owner();
                self.tracker
                    .track(
                        &owner,
                        &format!("room:{t}"),
                        &format!("{prefix}{k}"),
                        "online",
                    )
                    .await
                    .unwrap();
                self.owners.push(owner);
            }
        }
    }

    async fn keys(&self, topics: usize) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for t in 0..topics {
            let topic = format!("room:{t}");
            for (key, _) in self.tracker.list(&topic).await {
                out.insert((topic.clone(), key.to_string()));
            }
        }
        out
    }
}

fn expected(prefixes: &[&str], topics: usize, per_topic: usize) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for p in prefixes {
        for t in 0..topics {
            for k in 0..per_topic {
                out.insert((format!("room:{t}"), format!("{p}{k}")));
            }
        }
    }
    out
}

/// Counts panics anywhere in the process (tracker shards are spawned tasks whose
/// join handles the tracker keeps to itself: a panic there only shows in the hook).
fn count_panics() -> Arc<AtomicUsize> {
    let panics = Arc::new(AtomicUsize::new(0));
    let counter = panics.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counter.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    panics
}

#[tokio::test(start_paused = true)]
async fn a_killed_node_leaves_every_replica_within_the_down_period() {
    let panics = count_panics();
    let (topics, per_topic, cycles) = if long() { (20, 200, 10) } else { (4, 25, 2) };
    let hub = Hub::new();
    let mut a = start(&hub, "a");
    let mut b = start(&hub, "b");
    let mut c = start(&hub, "c");
    a.track_many("a", topics, per_topic).await;
    b.track_many("b", topics, per_topic).await;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut seen = KilledNodeHardening {
        topics,
        per_topic,
        period_ms: ms(PERIOD),
        down_period_ms: ms(config().down_period),
        cycles: Vec::new(),
    };

    for cycle in 0..cycles {
        let victim = format!("c{cycle}-");
        c.track_many(&victim, topics, per_topic).await;
        sleep(PERIOD * 5).await;
        let mut all = expected(&["a", "b", &victim], topics, per_topic);
        all.extend((0..cycle).map(|n| ("room:0".to_string(), format!("late{n}"))));
        assert_eq!(
            a.keys(topics).await,
            all,
            "cycle {cycle}: a did not converge"
        );
        assert_eq!(
            b.keys(topics).await,
            all,
            "cycle {cycle}: b did not converge"
        );
        while a.leaves.try_recv().is_ok() {}
        while b.leaves.try_recv().is_ok() {}

        // Kill c: its shards stop without a goodbye. Its owners are kept alive on
        // purpose, so nothing untracks them: only the silence tells the others.
        let owners = std::mem::take(&mut c.owners);
        drop(c);
        let killed = Instant::now();
        let bound = config().down_period + PERIOD * 2;
        let mut survivors = expected(&["a", "b"], topics, per_topic);
        survivors.extend((0..cycle).map(|n| ("room:0".to_string(), format!("late{n}"))));
        let victims: BTreeSet<_> = expected(&[&victim], topics, per_topic);
        loop {
            let (ka, kb) = (a.keys(topics).await, b.keys(topics).await);
            if ka == survivors && kb == survivors {
                break;
            }
            assert!(
                killed.elapsed() <= bound,
                "cycle {cycle}: {:?} after the kill, the dead node's presences are still \
                 listed (a: {} extra, b: {} extra); they must leave within the down period \
                 {:?}",
                killed.elapsed(),
                ka.difference(&survivors).count(),
                kb.difference(&survivors).count(),
                config().down_period
            );
            sleep(PERIOD / 4).await;
        }
        let gone_after = killed.elapsed();
        for (name, node) in [("a", &mut a), ("b", &mut b)] {
            let mut left = BTreeSet::new();
            while let Ok(leave) = node.leaves.try_recv() {
                left.insert(leave);
            }
            assert_eq!(
                left, victims,
                "cycle {cycle}: {name}'s handle_diff must report exactly the dead node's \
                 presences as leaves"
            );
        }
        drop(owners);

        // The survivors keep converging: a change on a reaches b within a few periods.
        let owner = a.tracker.owner();
        a.tracker
            .track(&owner, "room:0", &format!("late{cycle}"), "online")
            .await
            .unwrap();
        sleep(PERIOD * 3).await;
        assert!(
            b.keys(topics)
                .await
                .contains(&("room:0".to_string(), format!("late{cycle}"))),
            "cycle {cycle}: b no longer hears a after c died"
        );
        a.owners.push(owner);

        // Past permdown, a new c joins and catches up.
        sleep(config().permdown_period).await;
        c = start(&hub, "c");
        let mut want = expected(&["a", "b"], topics, per_topic);
        for n in 0..=cycle {
            want.insert(("room:0".to_string(), format!("late{n}")));
        }
        let restarted = Instant::now();
        while c.keys(topics).await != want {
            assert!(
                restarted.elapsed() <= PERIOD * 30,
                "cycle {cycle}: the restarted c did not catch up within 30 periods: missing \
                 {} presences",
                want.difference(&c.keys(topics).await).count()
            );
            sleep(PERIOD / 2).await;
        }
        let caught_up = restarted.elapsed();
        eprintln!(
            "cycle {cycle}: killed node's {} presences gone from both replicas {:?} after \
             the kill (paused clock, down period {:?}); restarted node caught up in {:?}",
            victims.len(),
            gone_after,
            config().down_period,
            caught_up
        );
        // Rewritten after every cycle, so a run that fails later keeps the cycles
        // it completed.
        seen.cycles.push(KillCycle {
            presences: victims.len(),
            gone_after_ms: ms(gone_after),
            caught_up_ms: ms(caught_up),
        });
        figures::write(&seen, None).expect("write what the test saw to its figures file");
    }
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "a task panicked during the test (see its message above)"
    );
}
