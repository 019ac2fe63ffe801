//! Recent deltas kept in a few generations of growing size, so a replica that missed a
//! little can catch up with a small delta instead of the whole set.
//!
//! Generation `i` accumulates contiguous deltas until it would exceed `sizes[i]`; then it
//! restarts from the (smaller) generation below it. A catching-up replica gets the first
//! generation that starts no later than its clock and brings something new.

use serde::{Deserialize, Serialize};

use super::clock;
use super::replica::ReplicaRef;
use super::state::{Delta, State, VClock};

/// What a transfer request is answered with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(serialize = "M: Serialize", deserialize = "M: Deserialize<'de>"))]
pub enum Transfer<M> {
    /// A delta generation that covers what the requester lacks.
    Delta(Delta<M>),
    /// The whole set (no generation fits).
    Snapshot(super::state::Snapshot<M>),
}

/// The generations, smallest first.
#[derive(Clone, Debug)]
pub struct DeltaGenerations<M> {
    sizes: Vec<usize>,
    generations: Vec<Delta<M>>,
}

impl<M: Clone> DeltaGenerations<M> {
    /// Empty generations with these size limits (ascending, e.g. `[100, 1000, 10_000]`).
    pub fn new(sizes: Vec<usize>) -> Self {
        Self {
            sizes,
            generations: Vec::new(),
        }
    }

    /// The generations, smallest first (empty until the first push).
    pub fn generations(&self) -> &[Delta<M>] {
        &self.generations
    }

    /// Forgets every generation (after a full transfer, they describe an older past).
    pub fn clear(&mut self) {
        self.generations.clear();
    }

    // ANCHOR: push
    /// Adds a delta (local or received) to every generation it continues.
    pub fn push(&mut self, delta: &Delta<M>) {
        if self.sizes.iter().all(|&limit| delta.size() > limit) {
            // No generation may hold it, and every generation would now have a gap after
            // it: a replica that missed this delta needs the whole set anyway.
            self.generations.clear();
            return;
        }
        if self.generations.is_empty() {
            self.generations = vec![delta.clone(); self.sizes.len()];
            return;
        }
        // `prev` is what the generation below became: a generation that would grow past its
        // limit restarts from it.
        let mut prev = delta.clone();
        for (generation, &limit) in self.generations.iter_mut().zip(&self.sizes) {
            let mut merged = generation.clone();
            match merged.merge(delta) {
                Ok(()) if merged.size() <= limit => {
                    *generation = merged.clone();
                    prev = merged;
                }
                Ok(()) => *generation = std::mem::replace(&mut prev, merged),
                // A gap: this generation cannot describe a contiguous range any more with
                // this delta; it stays as it was (and may still serve older clocks).
                Err(_) => prev = generation.clone(),
            }
        }
    }
    // ANCHOR_END: push

    /// Drops a permanently down replica from every generation.
    pub fn remove_replica(&mut self, replica: &ReplicaRef) {
        for generation in &mut self.generations {
            generation.remove_replica(replica);
        }
    }

    // ANCHOR: extract
    /// What to send `remote`, whose context is `remote_context`: the first generation
    /// that starts at or before its clock and ends beyond it, else the whole set.
    pub fn extract(
        &self,
        state: &State<M>,
        remote: &ReplicaRef,
        remote_context: &VClock,
    ) -> Transfer<M> {
        let fits = |delta: &Delta<M>| {
            let start = clock::filter_replicas(&delta.start, remote_context.keys());
            let end = clock::filter_replicas(&delta.end, remote_context.keys());
            // Non-empty on what the remote knows, no gap before it, and news after it.
            start != end
                && start
                    .iter()
                    .all(|(r, &n)| remote_context.get(r).is_some_and(|&m| m >= n))
                && !clock::dominates(remote_context, &end)
        };
        match self.generations.iter().find(|d| fits(d)) {
            Some(delta) => Transfer::Delta(delta.extract(remote, remote_context)),
            None => Transfer::Snapshot(state.extract(remote, remote_context)),
        }
    }
    // ANCHOR_END: extract
}
