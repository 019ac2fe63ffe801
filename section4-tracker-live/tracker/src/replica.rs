//! Replica identity and liveness, with the current time passed in (no clock reads, no I/O).
//!
//! A replica is one start of one node's tracker shard. Its identity is the node name plus a
//! version number chosen at start, so a node that restarts is a *new* replica: its old
//! presences (whose owners died with the old process) are dropped everywhere instead of
//! being mistaken for the new process's.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

// ANCHOR: replica_ref
/// One replica: the node's name plus a version unique to this start.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReplicaRef {
    /// The node name (stable across restarts).
    pub name: Arc<str>,
    /// Chosen at start: microseconds since the epoch, bumped to stay unique in-process.
    pub vsn: u64,
}

impl ReplicaRef {
    /// A fresh identity for `name`: never equal to any earlier one from this process, and
    /// (through the wall clock) very unlikely to equal one from an earlier process.
    pub fn new(name: &str) -> Self {
        static LAST: AtomicU64 = AtomicU64::new(0);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let prev = LAST
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(now.max(last + 1))
            })
            .expect("the closure always returns Some");
        Self {
            name: name.into(),
            vsn: now.max(prev + 1),
        }
    }
}
// ANCHOR_END: replica_ref

impl fmt::Debug for ReplicaRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.name, self.vsn)
    }
}

/// What we believe about a remote replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Heard from within the down period: its presences are listed.
    Up,
    /// Silent for longer than the down period: its presences are kept but hidden.
    Down,
    /// Silent for longer than the permdown period: its presences are discarded.
    Permdown,
}

/// A remote replica and when we last heard from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica {
    /// Its identity.
    pub replica: ReplicaRef,
    /// Our current belief.
    pub status: Status,
    /// When its last heartbeat arrived.
    pub last_heartbeat_at: Instant,
}

/// A change of belief, for the shard to apply to the CRDT and report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaEvent {
    /// New or back: show its presences.
    Up(ReplicaRef),
    /// Silent: hide its presences.
    Down(ReplicaRef),
    /// Gone for good: drop its presences.
    Permdown(ReplicaRef),
}

/// Remote replicas by node name (one current replica per name).
#[derive(Clone, Debug, Default)]
pub struct Replicas {
    by_name: HashMap<Arc<str>, Replica>,
}

impl Replicas {
    /// No replicas known.
    pub fn new() -> Self {
        Self::default()
    }

    /// The replica currently known under `name`.
    pub fn get(&self, name: &str) -> Option<&Replica> {
        self.by_name.get(name)
    }

    /// Every known replica.
    pub fn iter(&self) -> impl Iterator<Item = &Replica> {
        self.by_name.values()
    }

    /// Number of known replicas.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True when no replica is known.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    // ANCHOR: put_heartbeat
    /// Records a heartbeat from `from` at `now` and returns what changed.
    ///
    /// A newer version under a known name means that node restarted: the old replica is
    /// taken down and permanently down (its owners are dead), the new one comes up. An
    /// older version is a message from a previous start still in flight: ignored.
    pub fn put_heartbeat(&mut self, from: &ReplicaRef, now: Instant) -> Vec<ReplicaEvent> {
        let fresh = Replica {
            replica: from.clone(),
            status: Status::Up,
            last_heartbeat_at: now,
        };
        let Some(known) = self.by_name.get_mut(&from.name) else {
            self.by_name.insert(from.name.clone(), fresh);
            return vec![ReplicaEvent::Up(from.clone())];
        };
        if from.vsn < known.replica.vsn {
            // A late message from an earlier start of that node: it is already replaced.
            return Vec::new();
        }
        if known.replica.vsn == from.vsn {
            known.last_heartbeat_at = now;
            return match std::mem::replace(&mut known.status, Status::Up) {
                Status::Up => Vec::new(),
                Status::Down | Status::Permdown => vec![ReplicaEvent::Up(from.clone())],
            };
        }
        let old = std::mem::replace(known, fresh);
        let mut events = Vec::with_capacity(3);
        if old.status == Status::Up {
            events.push(ReplicaEvent::Down(old.replica.clone()));
        }
        events.push(ReplicaEvent::Permdown(old.replica));
        events.push(ReplicaEvent::Up(from.clone()));
        events
    }
    // ANCHOR_END: put_heartbeat

    // ANCHOR: detect_down
    /// Marks replicas silent for longer than `down_period` down, and drops those silent
    /// for longer than `permdown_period` (reporting down first if they were still up).
    pub fn detect_down(
        &mut self,
        now: Instant,
        down_period: Duration,
        permdown_period: Duration,
    ) -> Vec<ReplicaEvent> {
        let mut events = Vec::new();
        self.by_name.retain(|_, r| {
            let silent = now.saturating_duration_since(r.last_heartbeat_at);
            if silent > permdown_period {
                if r.status == Status::Up {
                    events.push(ReplicaEvent::Down(r.replica.clone()));
                }
                events.push(ReplicaEvent::Permdown(r.replica.clone()));
                false
            } else {
                if silent > down_period && r.status == Status::Up {
                    r.status = Status::Down;
                    events.push(ReplicaEvent::Down(r.replica.clone()));
                }
                true
            }
        });
        events
    }
    // ANCHOR_END: detect_down

    /// Forgets `name` at once (a graceful permdown announced by that node); returns the
    /// events to apply, as if it had timed out.
    pub fn remove(&mut self, replica: &ReplicaRef) -> Vec<ReplicaEvent> {
        match self.by_name.get(&replica.name) {
            Some(r) if r.replica == *replica => {
                let r = self.by_name.remove(&replica.name).expect("just looked up");
                let mut events = Vec::new();
                if r.status == Status::Up {
                    events.push(ReplicaEvent::Down(r.replica.clone()));
                }
                events.push(ReplicaEvent::Permdown(r.replica));
                events
            }
            _ => Vec::new(),
        }
    }
}
