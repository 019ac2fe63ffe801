//! s4.e5 (hard mode): the merge of the add-wins observed-remove set, written by you.
//!
//! The tracker keeps using its own merge (`State::merge_snapshot`, `merge_delta`), so the
//! rest of the section works whatever state this file is in. Your merge works on a
//! [`Lattice`]: what one replica has seen (`context` + `clouds`) and what it holds
//! (`values`, by dot). A delta is a lattice too: an empty context, the dots it covers in
//! `clouds`, and the values still present.

use tracker::state::{Lattice, MergeReport, Tag};

// ANCHOR: merge
/// Merges `theirs` into `mine` and reports which dots joined and which left.
///
/// The two rules, both judged against what each side had seen **before** the merge:
/// - a dot `theirs` holds and `mine` has never seen is an add;
/// - a dot `mine` holds that `theirs` has seen but no longer holds is a remove.
///
/// Then `mine` has seen everything either side had seen (`Lattice::compact` tidies it).
pub fn merge<M: Clone>(mine: &mut Lattice<M>, theirs: &Lattice<M>) -> MergeReport {
    let mut report = MergeReport::default();
    // Rule 1: new to us. A dot we have seen but do not hold was removed here: it must not
    // come back (that is what makes a duplicated or late delta harmless).
    for (tag, value) in &theirs.values {
        if !mine.has_seen(tag) {
            mine.values.insert(tag.clone(), value.clone());
            report.joins.insert(tag.clone());
        }
    }
    // Rule 2: observed removes. They saw it and dropped it. A dot they never saw is
    // kept: they could not have removed it (add wins).
    let removed: Vec<Tag> = mine
        .values
        .keys()
        .filter(|tag| theirs.has_seen(tag) && !theirs.values.contains_key(*tag))
        .cloned()
        .collect();
    for tag in removed {
        mine.values.remove(&tag);
        report.leaves.insert(tag);
    }
    // The union of what both have seen; only now, since both rules needed the old view.
    for (replica, &n) in &theirs.context {
        let seen = mine.context.entry(replica.clone()).or_insert(0);
        *seen = (*seen).max(n);
    }
    for (replica, dots) in &theirs.clouds {
        mine.clouds
            .entry(replica.clone())
            .or_default()
            .extend(dots.iter().copied());
    }
    mine.compact();
    report
}
// ANCHOR_END: merge
