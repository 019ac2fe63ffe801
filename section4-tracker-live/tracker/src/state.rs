//! The replicated presence set: an add-wins observed-remove set (a delta-state CRDT).
//!
//! Pure data, no I/O and no clock: the shard task feeds it local operations and remote
//! deltas or snapshots and reports what it returns.
//!
//! The idea without the maths:
//! - every addition gets a **dot**: (replica, n), the n-th event of that replica. A presence
//!   is identified by its dot, so two additions are never confused;
//! - each replica keeps a **causal context**: which dots it has *seen*. It is a version
//!   vector (all dots of `r` up to `n`) plus a **cloud** of dots seen out of order;
//! - a remote presence is added when its dot is new to us; a local presence is removed by a
//!   remote when the remote has *seen* the dot (its context covers it) but no longer holds
//!   the value. That is an observed remove: you can only remove what you saw, so an add
//!   that the remover never saw survives (add wins);
//! - merging is a union of contexts plus those two rules, so the order and number of
//!   deliveries do not matter: replicas that saw the same changes hold the same set.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::clock::{self, Clock};
use super::replica::ReplicaRef;

/// A topic name (cheap to clone: presences of one topic share it).
pub type Topic = Arc<str>;
/// A presence key (a user id, a device id...).
pub type Key = Arc<str>;
/// A version vector over replicas.
pub type VClock = Clock<ReplicaRef>;
/// Dots seen out of order, per replica (always above that replica's context entry).
pub type Clouds = BTreeMap<ReplicaRef, BTreeSet<u64>>;

/// The local owner of presences (a channel, a connection): when it ends, its presences go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OwnerId(pub u64);

/// A dot: the `clock`-th event of `replica`. Identifies one addition for ever.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tag {
    /// The replica that made the change.
    pub replica: ReplicaRef,
    /// Its event number (from 1).
    pub clock: u64,
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}@{}", self.replica, self.clock)
    }
}

/// One presence: `key` is present in `topic`, tracked by `owner`, with `meta`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry<M> {
    /// The topic.
    pub topic: Topic,
    /// The tracking owner (meaningful on the replica that owns the presence).
    pub owner: OwnerId,
    /// The key.
    pub key: Key,
    /// Application metadata.
    pub meta: M,
}

/// `track` was called twice for the same owner, topic and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlreadyTracked;

/// Two deltas that do not touch or overlap cannot be merged without losing a gap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotContiguous;

/// What a merge or a replica status change made visible or hid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changes<M> {
    /// Presences that appeared.
    pub joins: Vec<Entry<M>>,
    /// Presences that disappeared.
    pub leaves: Vec<Entry<M>>,
}

impl<M> Default for Changes<M> {
    fn default() -> Self {
        Self {
            joins: Vec::new(),
            leaves: Vec::new(),
        }
    }
}

impl<M> Changes<M> {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.joins.is_empty() && self.leaves.is_empty()
    }
}

// ANCHOR: delta
/// The changes one replica made since its last broadcast (or several such, merged).
///
/// Its causal context is only its clouds: every dot it added *or removed* is in them, so a
/// receiver that finds a dot in the clouds but not in `values` knows it was removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(serialize = "M: Serialize", deserialize = "M: Deserialize<'de>"))]
pub struct Delta<M> {
    /// Values added (and still present) in this delta.
    #[serde(with = "pairs")]
    pub values: HashMap<Tag, Entry<M>>,
    /// Every dot this delta covers.
    #[serde(with = "pairs")]
    pub clouds: Clouds,
    /// Clock at the beginning of the range this delta covers.
    #[serde(with = "pairs")]
    pub start: VClock,
    /// Clock at the end of the range.
    #[serde(with = "pairs")]
    pub end: VClock,
}
// ANCHOR_END: delta

/// A full copy of a replica's set, as sent to a replica catching up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(serialize = "M: Serialize", deserialize = "M: Deserialize<'de>"))]
pub struct Snapshot<M> {
    /// Contiguous dots seen, per replica.
    #[serde(with = "pairs")]
    pub context: VClock,
    /// Dots seen out of order.
    #[serde(with = "pairs")]
    pub clouds: Clouds,
    /// Every value.
    #[serde(with = "pairs")]
    pub values: HashMap<Tag, Entry<M>>,
}

/// The replicated content of a state, for comparing replicas in tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lattice<M> {
    /// Causal context (zero entries dropped).
    pub context: VClock,
    /// Out-of-order dots.
    pub clouds: Clouds,
    /// Live values by dot: (topic, key, meta).
    pub values: BTreeMap<Tag, (Topic, Key, M)>,
}

/// What a merge of two [`Lattice`]s changed in the receiving one (exercise s4.e5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Dots whose values were added.
    pub joins: BTreeSet<Tag>,
    /// Dots whose values were removed.
    pub leaves: BTreeSet<Tag>,
}

impl MergeReport {
    /// True when the merge added and removed nothing.
    pub fn is_empty(&self) -> bool {
        self.joins.is_empty() && self.leaves.is_empty()
    }
}

impl<M> Lattice<M> {
    /// An empty lattice: nothing seen, nothing held.
    pub fn new() -> Self {
        Self {
            context: VClock::new(),
            clouds: Clouds::new(),
            values: BTreeMap::new(),
        }
    }

    // ANCHOR: has_seen
    /// True when this side has seen `tag`: its context reaches it, or its clouds hold it.
    pub fn has_seen(&self, tag: &Tag) -> bool {
        covers(&self.context, &self.clouds, tag)
    }
    // ANCHOR_END: has_seen

    /// Folds cloud dots that continue a replica's context into it, and drops what carries
    /// no information (empty clouds, zero context entries), so two lattices that saw the
    /// same dots compare equal.
    pub fn compact(&mut self) {
        let context = &mut self.context;
        self.clouds.retain(|replica, dots| {
            let n = context.entry(replica.clone()).or_insert(0);
            while let Some(&first) = dots.first() {
                if first <= *n + 1 {
                    *n = (*n).max(first);
                    dots.pop_first();
                } else {
                    break;
                }
            }
            !dots.is_empty()
        });
        self.context.retain(|_, n| *n > 0);
    }
}

impl<M> Default for Lattice<M> {
    fn default() -> Self {
        Self::new()
    }
}

/// Maps keyed by structs (replicas, dots) as lists of pairs: JSON object keys must be
/// strings, and a list keeps every encoding of the gossip simple.
pub mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes the map as a sequence of `[key, value]` pairs.
    pub fn serialize<'a, S, T, K, V>(map: &'a T, serializer: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        &'a T: IntoIterator<Item = (&'a K, &'a V)>,
        K: Serialize + 'a,
        V: Serialize + 'a,
    {
        serializer.collect_seq(map)
    }

    /// Reads a sequence of `[key, value]` pairs into any map.
    pub fn deserialize<'de, D, T, K, V>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: FromIterator<(K, V)>,
        K: Deserialize<'de>,
        V: Deserialize<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

fn covers(context: &VClock, clouds: &Clouds, tag: &Tag) -> bool {
    context.get(&tag.replica).is_some_and(|&n| tag.clock <= n)
        || clouds
            .get(&tag.replica)
            .is_some_and(|dots| dots.contains(&tag.clock))
}

fn cloud_size(clouds: &Clouds) -> usize {
    clouds.values().map(BTreeSet::len).sum()
}

impl<M: Clone> Delta<M> {
    /// An empty delta starting at `clock` of `replica`.
    pub fn new(replica: &ReplicaRef, clock: u64) -> Self {
        let range = VClock::from([(replica.clone(), clock)]);
        Self {
            values: HashMap::new(),
            clouds: Clouds::new(),
            start: range.clone(),
            end: range,
        }
    }

    /// True when the delta covers no dot.
    pub fn is_empty(&self) -> bool {
        self.clouds.values().all(BTreeSet::is_empty)
    }

    /// Values plus dots: what a generation limit counts.
    pub fn size(&self) -> usize {
        self.values.len() + cloud_size(&self.clouds)
    }

    // ANCHOR: merge_deltas
    /// Folds `other` into `self` when their ranges touch or overlap.
    ///
    /// A value survives unless the other side's clouds hold its dot without the value
    /// (the other side saw it removed).
    pub fn merge(&mut self, other: &Delta<M>) -> Result<(), NotContiguous> {
        let contiguous = clock::dominates_or_equal(&other.end, &self.start)
            && clock::dominates_or_equal(&self.end, &other.start);
        if !contiguous {
            return Err(NotContiguous);
        }
        let removed_by = |clouds: &Clouds, values: &HashMap<Tag, Entry<M>>, tag: &Tag| {
            !values.contains_key(tag) && covers(&VClock::new(), clouds, tag)
        };
        self.values
            .retain(|tag, _| !removed_by(&other.clouds, &other.values, tag));
        for (tag, entry) in &other.values {
            if !removed_by(&self.clouds, &self.values, tag) {
                self.values.insert(tag.clone(), entry.clone());
            }
        }
        for (replica, dots) in &other.clouds {
            self.clouds
                .entry(replica.clone())
                .or_default()
                .extend(dots.iter().copied());
        }
        self.start = clock::lowerbound(&self.start, &other.start);
        self.end = clock::upperbound(&self.end, &other.end);
        Ok(())
    }
    // ANCHOR_END: merge_deltas

    /// The part of this delta a remote can use: nothing of its own, nothing about
    /// replicas it does not know.
    pub fn extract(&self, remote: &ReplicaRef, remote_context: &VClock) -> Delta<M> {
        let known = |r: &ReplicaRef| remote_context.contains_key(r);
        Delta {
            values: self
                .values
                .iter()
                .filter(|(t, _)| t.replica != *remote && known(&t.replica))
                .map(|(t, e)| (t.clone(), e.clone()))
                .collect(),
            clouds: self
                .clouds
                .iter()
                .filter(|(r, _)| known(r))
                .map(|(r, d)| (r.clone(), d.clone()))
                .collect(),
            start: clock::filter_replicas(&self.start, remote_context.keys()),
            end: clock::filter_replicas(&self.end, remote_context.keys()),
        }
    }

    /// Forgets everything about `replica` (it is permanently down).
    pub fn remove_replica(&mut self, replica: &ReplicaRef) {
        self.values.retain(|t, _| t.replica != *replica);
        self.clouds.remove(replica);
        self.start.remove(replica);
        self.end.remove(replica);
    }
}

// ANCHOR: state
/// One replica's view of every presence it knows, plus its pending delta.
#[derive(Clone, Debug)]
pub struct State<M> {
    replica: ReplicaRef,
    context: VClock,
    clouds: Clouds,
    /// Values grouped by topic, so `list(topic)` touches only that topic.
    topics: HashMap<Topic, HashMap<Tag, Entry<M>>>,
    /// Dot index per replica: finds a value by dot, and all values a context covers.
    dots: HashMap<ReplicaRef, BTreeMap<u64, Topic>>,
    /// This replica's own presences, to enforce one (owner, topic, key) and find them.
    local: BTreeMap<(OwnerId, Topic, Key), u64>,
    /// Known replicas currently believed down: their values are kept but hidden.
    down: HashSet<ReplicaRef>,
    delta: Delta<M>,
}
// ANCHOR_END: state

impl<M: Clone> State<M> {
    /// An empty set owned by `replica`.
    pub fn new(replica: ReplicaRef) -> Self {
        Self {
            context: VClock::from([(replica.clone(), 0)]),
            clouds: Clouds::new(),
            topics: HashMap::new(),
            dots: HashMap::new(),
            local: BTreeMap::new(),
            down: HashSet::new(),
            delta: Delta::new(&replica, 0),
            replica,
        }
    }

    /// This replica's identity.
    pub fn replica(&self) -> &ReplicaRef {
        &self.replica
    }

    /// The full causal context (including down replicas).
    pub fn context(&self) -> &VClock {
        &self.context
    }

    /// Dots seen out of order.
    pub fn clouds(&self) -> &Clouds {
        &self.clouds
    }

    /// The context restricted to replicas that are up: what we advertise in heartbeats.
    /// Down replicas are left out so peers do not keep offering us their data.
    pub fn clocks(&self) -> VClock {
        self.context
            .iter()
            .filter(|(r, _)| !self.down.contains(*r))
            .map(|(r, &n)| (r.clone(), n))
            .collect()
    }

    /// True when the replica is known (in the context) and not down.
    pub fn is_up(&self, replica: &ReplicaRef) -> bool {
        self.context.contains_key(replica) && !self.down.contains(replica)
    }

    fn visible(&self, tag: &Tag) -> bool {
        !self.down.contains(&tag.replica)
    }

    // ANCHOR: list
    /// `(key, meta)` of every presence in `topic` whose replica is up.
    pub fn list(&self, topic: &str) -> Vec<(Key, M)> {
        let Some(values) = self.topics.get(topic) else {
            return Vec::new();
        };
        let pick = |e: &Entry<M>| (e.key.clone(), e.meta.clone());
        if self.down.is_empty() {
            // The common case: nothing to filter, one pass of clones.
            values.values().map(pick).collect()
        } else {
            values
                .iter()
                .filter(|(tag, _)| self.visible(tag))
                .map(|(_, e)| pick(e))
                .collect()
        }
    }
    // ANCHOR_END: list

    /// How many presences [`State::list`] would return, without cloning any: a topic
    /// nobody listens on costs one hash lookup.
    pub fn count(&self, topic: &str) -> usize {
        let Some(values) = self.topics.get(topic) else {
            return 0;
        };
        if self.down.is_empty() {
            values.len()
        } else {
            values.keys().filter(|tag| self.visible(tag)).count()
        }
    }

    /// Like [`State::list`] but including presences of down replicas.
    pub fn dirty_list(&self, topic: &str) -> Vec<(Key, M)> {
        self.topics.get(topic).map_or_else(Vec::new, |values| {
            values
                .values()
                .map(|e| (e.key.clone(), e.meta.clone()))
                .collect()
        })
    }

    /// `(owner, meta)` of every visible presence of `key` in `topic`.
    pub fn get_by_key(&self, topic: &str, key: &str) -> Vec<(OwnerId, M)> {
        self.topics.get(topic).map_or_else(Vec::new, |values| {
            values
                .iter()
                .filter(|(tag, e)| &*e.key == key && self.visible(tag))
                .map(|(_, e)| (e.owner, e.meta.clone()))
                .collect()
        })
    }

    /// Every visible presence of the topic with its dot and owner.
    pub fn get_by_topic(&self, topic: &str) -> Vec<(Tag, Entry<M>)> {
        self.topics.get(topic).map_or_else(Vec::new, |values| {
            values
                .iter()
                .filter(|(tag, _)| self.visible(tag))
                .map(|(t, e)| (t.clone(), e.clone()))
                .collect()
        })
    }

    /// This replica's presences tracked by `owner`.
    pub fn get_by_owner(&self, owner: OwnerId) -> Vec<Entry<M>> {
        self.local_keys(owner)
            .into_iter()
            .filter_map(|(_, topic, key)| self.local_entry(&topic, owner, &key).cloned())
            .collect()
    }

    /// The local presence of (owner, topic, key), if tracked.
    pub fn local_entry(&self, topic: &Topic, owner: OwnerId, key: &Key) -> Option<&Entry<M>> {
        let &clock = self.local.get(&(owner, topic.clone(), key.clone()))?;
        self.topics.get(topic)?.get(&Tag {
            replica: self.replica.clone(),
            clock,
        })
    }

    fn local_keys(&self, owner: OwnerId) -> Vec<(OwnerId, Topic, Key)> {
        let from = (owner, Topic::from(""), Key::from(""));
        self.local
            .range(from..)
            .take_while(|((o, _, _), _)| *o == owner)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Number of values held (visible or not).
    pub fn len(&self) -> usize {
        self.dots.values().map(BTreeMap::len).sum()
    }

    /// True when no value is held.
    pub fn is_empty(&self) -> bool {
        self.dots.is_empty()
    }

    fn insert_value(&mut self, tag: Tag, entry: Entry<M>) {
        self.dots
            .entry(tag.replica.clone())
            .or_default()
            .insert(tag.clock, entry.topic.clone());
        self.topics
            .entry(entry.topic.clone())
            .or_default()
            .insert(tag, entry);
    }

    fn remove_value(&mut self, tag: &Tag) -> Option<Entry<M>> {
        let by_clock = self.dots.get_mut(&tag.replica)?;
        let topic = by_clock.remove(&tag.clock)?;
        if by_clock.is_empty() {
            self.dots.remove(&tag.replica);
        }
        let values = self.topics.get_mut(&topic)?;
        let entry = values.remove(tag);
        if values.is_empty() {
            self.topics.remove(&topic);
        }
        entry
    }

    fn entries_of(&self, replica: &ReplicaRef) -> Vec<Entry<M>> {
        let Some(by_clock) = self.dots.get(replica) else {
            return Vec::new();
        };
        by_clock
            .iter()
            .filter_map(|(&clock, topic)| {
                let tag = Tag {
                    replica: replica.clone(),
                    clock,
                };
                self.topics.get(topic)?.get(&tag).cloned()
            })
            .collect()
    }

    // ANCHOR: bump
    /// Consumes the next dot of this replica; it joins the context and the delta.
    fn bump(&mut self) -> Tag {
        let n = self.context.entry(self.replica.clone()).or_insert(0);
        *n += 1;
        let tag = Tag {
            replica: self.replica.clone(),
            clock: *n,
        };
        self.delta
            .clouds
            .entry(self.replica.clone())
            .or_default()
            .insert(tag.clock);
        self.delta.end.insert(self.replica.clone(), tag.clock);
        tag
    }
    // ANCHOR_END: bump

    // ANCHOR: join
    /// Adds a local presence. One (owner, topic, key) at a time.
    pub fn join(
        &mut self,
        owner: OwnerId,
        topic: Topic,
        key: Key,
        meta: M,
    ) -> Result<Tag, AlreadyTracked> {
        let local_key = (owner, topic.clone(), key.clone());
        if self.local.contains_key(&local_key) {
            return Err(AlreadyTracked);
        }
        let tag = self.bump();
        self.local.insert(local_key, tag.clock);
        let entry = Entry {
            topic,
            owner,
            key,
            meta,
        };
        self.delta.values.insert(tag.clone(), entry.clone());
        self.insert_value(tag.clone(), entry);
        Ok(tag)
    }
    // ANCHOR_END: join

    // ANCHOR: leave
    /// Removes a local presence; returns it, or `None` when it was not tracked.
    ///
    /// The removed dot stays in the delta's clouds without a value: that tombstone is how
    /// peers observe the remove. The remove also consumes a dot of its own, so the clock
    /// moves and peers can tell they missed something.
    pub fn leave(&mut self, owner: OwnerId, topic: &Topic, key: &Key) -> Option<Entry<M>> {
        let clock = self.local.remove(&(owner, topic.clone(), key.clone()))?;
        let tag = Tag {
            replica: self.replica.clone(),
            clock,
        };
        let entry = self.remove_value(&tag);
        self.delta.values.remove(&tag);
        self.delta
            .clouds
            .entry(self.replica.clone())
            .or_default()
            .insert(clock);
        self.bump();
        entry
    }
    // ANCHOR_END: leave

    /// Replaces the meta of a local presence (a remove and an add in one delta); returns the
    /// previous entry and the new dot, or `None` when it was not tracked.
    pub fn leave_join(
        &mut self,
        owner: OwnerId,
        topic: &Topic,
        key: &Key,
        meta: M,
    ) -> Option<(Entry<M>, Tag)> {
        let old = self.leave(owner, topic, key)?;
        let tag = self
            .join(owner, topic.clone(), key.clone(), meta)
            .expect("just removed, so not tracked");
        Some((old, tag))
    }

    /// Removes every presence of `owner` (its task ended).
    pub fn leave_owner(&mut self, owner: OwnerId) -> Vec<Entry<M>> {
        self.local_keys(owner)
            .into_iter()
            .filter_map(|(o, topic, key)| self.leave(o, &topic, &key))
            .collect()
    }

    // ANCHOR: merge
    fn merge_parts(
        &mut self,
        context: &VClock,
        clouds: &Clouds,
        values: &HashMap<Tag, Entry<M>>,
    ) -> Changes<M> {
        let mut changes = Changes::default();
        // ANCHOR: merge_joins
        // Joins first, judged against what we had seen *before* this merge: a dot we have
        // never seen, from a replica we know, is an add.
        for (tag, entry) in values {
            if tag.replica != self.replica
                && self.context.contains_key(&tag.replica)
                && !covers(&self.context, &self.clouds, tag)
            {
                if self.visible(tag) {
                    changes.joins.push(entry.clone());
                }
                self.insert_value(tag.clone(), entry.clone());
            }
        }
        // ANCHOR_END: merge_joins
        // ANCHOR: observed_removes
        // Observed removes: a remote value the remote has seen (its context covers the dot)
        // but no longer holds. Our own values are only ever removed by us.
        let mut removed = Vec::new();
        for (replica, by_clock) in &self.dots {
            if *replica == self.replica {
                continue;
            }
            let seen_upto = context.get(replica).copied().unwrap_or(0);
            let candidates = by_clock.range(..=seen_upto).map(|(&c, _)| c).chain(
                clouds
                    .get(replica)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|&c| c > seen_upto && by_clock.contains_key(&c)),
            );
            for clock in candidates {
                let tag = Tag {
                    replica: replica.clone(),
                    clock,
                };
                if !values.contains_key(&tag) {
                    removed.push(tag);
                }
            }
        }
        // ANCHOR_END: observed_removes
        for tag in removed {
            let visible = self.visible(&tag);
            match self.remove_value(&tag) {
                Some(entry) if visible => changes.leaves.push(entry),
                _ => {}
            }
        }
        // What the remote has seen, we have now seen too (for replicas we know).
        for (replica, dots) in clouds {
            let Some(seen) = self.context.get_mut(replica) else {
                continue; // unknown replica: ignored until it is up
            };
            let cloud = self.clouds.entry(replica.clone()).or_default();
            // Dots arrive sorted: while they continue the context and nothing waits in
            // our cloud, advance the context directly (the common, in-order case).
            for &dot in dots {
                if dot <= *seen {
                    continue;
                }
                if dot == *seen + 1 && cloud.is_empty() {
                    *seen = dot;
                } else {
                    cloud.insert(dot);
                }
            }
        }
        for (replica, &n) in context {
            if let Some(mine) = self.context.get_mut(replica) {
                *mine = (*mine).max(n);
            }
        }
        self.compact();
        changes
    }
    // ANCHOR_END: merge

    /// Merges a remote delta; returns the visible joins and leaves.
    pub fn merge_delta(&mut self, delta: &Delta<M>) -> Changes<M> {
        self.merge_parts(&VClock::new(), &delta.clouds, &delta.values)
    }

    /// Merges a remote snapshot; returns the visible joins and leaves.
    pub fn merge_snapshot(&mut self, snapshot: &Snapshot<M>) -> Changes<M> {
        self.merge_parts(&snapshot.context, &snapshot.clouds, &snapshot.values)
    }

    // ANCHOR: compact
    /// Folds cloud dots that continue a replica's context into it.
    pub fn compact(&mut self) {
        let context = &mut self.context;
        self.clouds.retain(|replica, dots| {
            let n = context.entry(replica.clone()).or_insert(0);
            while let Some(&first) = dots.first() {
                if first <= *n {
                    dots.pop_first();
                } else if first == *n + 1 {
                    *n = first;
                    dots.pop_first();
                } else {
                    break;
                }
            }
            !dots.is_empty()
        });
    }
    // ANCHOR_END: compact

    /// Marks a known replica up; returns the joins of its retained values (it came back)
    /// or nothing (it is new: it enters the context at 0, and a transfer fills it in).
    pub fn replica_up(&mut self, replica: &ReplicaRef) -> Vec<Entry<M>> {
        if !self.context.contains_key(replica) {
            self.context.insert(replica.clone(), 0);
            Vec::new()
        } else if self.down.remove(replica) {
            self.entries_of(replica)
        } else {
            Vec::new()
        }
    }

    /// Marks a known replica down; returns the leaves of its values (hidden, not deleted).
    pub fn replica_down(&mut self, replica: &ReplicaRef) -> Vec<Entry<M>> {
        if *replica != self.replica
            && self.context.contains_key(replica)
            && self.down.insert(replica.clone())
        {
            self.entries_of(replica)
        } else {
            Vec::new()
        }
    }

    /// Purges a replica for good: its values, context, clouds and its part of the delta.
    /// Later merges ignore it as an unknown replica, so nothing of it comes back.
    pub fn remove_down_replica(&mut self, replica: &ReplicaRef) {
        if *replica == self.replica {
            return;
        }
        if let Some(by_clock) = self.dots.remove(replica) {
            for (clock, topic) in by_clock {
                if let Some(values) = self.topics.get_mut(&topic) {
                    values.remove(&Tag {
                        replica: replica.clone(),
                        clock,
                    });
                    if values.is_empty() {
                        self.topics.remove(&topic);
                    }
                }
            }
        }
        self.context.remove(replica);
        self.clouds.remove(replica);
        self.down.remove(replica);
        self.delta.remove_replica(replica);
    }

    /// True when local changes wait to be broadcast.
    pub fn has_delta(&self) -> bool {
        !self.delta.is_empty()
    }

    /// The pending delta.
    pub fn delta(&self) -> &Delta<M> {
        &self.delta
    }

    /// Takes the pending delta and starts a new one at the current clock.
    pub fn take_delta(&mut self) -> Delta<M> {
        let now = self.context.get(&self.replica).copied().unwrap_or(0);
        std::mem::replace(&mut self.delta, Delta::new(&self.replica, now))
    }

    /// Everything, unfiltered.
    pub fn snapshot(&self) -> Snapshot<M> {
        Snapshot {
            context: self.context.clone(),
            clouds: self.clouds.clone(),
            values: self.all_values(|_| true),
        }
    }

    fn all_values(&self, keep: impl Fn(&ReplicaRef) -> bool) -> HashMap<Tag, Entry<M>> {
        self.topics
            .values()
            .flat_map(|values| values.iter())
            .filter(|(tag, _)| keep(&tag.replica))
            .map(|(t, e)| (t.clone(), e.clone()))
            .collect()
    }

    // ANCHOR: extract
    /// A snapshot for `remote`: without its own values (it knows them better) and without
    /// anything about replicas it does not know (it would ignore them).
    pub fn extract(&self, remote: &ReplicaRef, remote_context: &VClock) -> Snapshot<M> {
        let known = |r: &ReplicaRef| remote_context.contains_key(r);
        Snapshot {
            context: clock::filter_replicas(&self.context, remote_context.keys()),
            clouds: self
                .clouds
                .iter()
                .filter(|(r, _)| known(r))
                .map(|(r, d)| (r.clone(), d.clone()))
                .collect(),
            values: self.all_values(|r| r != remote && known(r)),
        }
    }
    // ANCHOR_END: extract

    /// The replicated content (context, clouds, live values) for comparisons.
    pub fn lattice(&self) -> Lattice<M> {
        Lattice {
            context: self
                .context
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(r, &n)| (r.clone(), n))
                .collect(),
            clouds: self.clouds.clone(),
            values: self
                .topics
                .values()
                .flat_map(|values| values.iter())
                .map(|(t, e)| (t.clone(), (e.topic.clone(), e.key.clone(), e.meta.clone())))
                .collect(),
        }
    }
}
