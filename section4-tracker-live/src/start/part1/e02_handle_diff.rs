//! Exercise s4.e2: describe what `handle_diff` reports, one line per join or leave.
//!
//! - slide: slides/src/section4/part1/e02_handle_diff.md
//! - tests: `mod e02_handle_diff` in section4-tracker-live/tests/part1.rs,
//!   run by `cargo xtask check s4.e2`
//! - stuck? `cargo xtask hint s4.e2` (each hint gives away a little more)
//!
//! Slide: slides/src/section4/part1/e02_handle_diff.md

use tracker::Diff;
use tracker::presence::UserMeta;

/// One line per change, in the diff's order (topics sorted; in each topic the joins,
/// then the leaves): `"app@127.0.0.1 room:lobby join user:1 (Alice)"`.
pub fn describe_diff(node: &str, diff: &Diff<UserMeta>) -> Vec<String> {
    // TODO(s4.e2): for each (topic, changes) of the diff, one line per join then one per
    // leave: "{node} {topic} join {key} ({name})" / "{node} {topic} leave {key} ({name})".
    todo!("s4.e2: describe the diff")
}
