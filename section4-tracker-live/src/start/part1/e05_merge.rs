//! Exercise s4.e5 (hard mode): the merge of the add-wins observed-remove set, written by you.
//!
//! - slide: slides/src/section4/part1/e05_merge.md
//! - tests: `mod e05_merge` in section4-tracker-live/tests/merge.rs,
//!   run by `cargo xtask check s4.e5`
//! - stuck? `cargo xtask hint s4.e5` (each hint gives away a little more)
//!
//! The tracker keeps using its own merge (`State::merge_snapshot`, `merge_delta`), so the
//! rest of the section works whatever state this file is in. Your merge works on a
//! [`Lattice`]: what one replica has seen (`context` + `clouds`) and what it holds
//! (`values`, by dot). A delta is a lattice too: an empty context, the dots it covers in
//! `clouds`, and the values still present.

use tracker::state::{Lattice, MergeReport, Tag};

/// Merges `theirs` into `mine` and reports which dots joined and which left.
///
/// The two rules, both judged against what each side had seen **before** the merge:
/// - a dot `theirs` holds and `mine` has never seen is an add;
/// - a dot `mine` holds that `theirs` has seen but no longer holds is a remove.
///
/// Then `mine` has seen everything either side had seen (`Lattice::compact` tidies it).
// TODO(s4.e5): the two rules and the union; see slides/src/section4/part1/e05_merge.md
pub fn merge<M: Clone>(mine: &mut Lattice<M>, theirs: &Lattice<M>) -> MergeReport {
    todo!("s4.e5: adds, observed removes, then the union of what both have seen")
}
