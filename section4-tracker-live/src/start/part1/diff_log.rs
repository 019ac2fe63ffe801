//! s4.e2: describe what `handle_diff` reports, one line per join or leave.
//!
//! Slide: slides/src/section4/part1/handle_diff.md

use tracker::Diff;
use tracker::presence::UserMeta;

/// One line per change, in the diff's order (topics sorted; in each topic the joins,
/// then the leaves): `"app@127.0.0.1 room:lobby join user:1 (Alice)"`.
pub fn describe_diff(node: &str, diff: &Diff<UserMeta>) -> Vec<String> {
    // TODO(s4.e2): for each (topic, changes) of the diff, one line per join then one per
    // leave: "{node} {topic} join {key} ({name})" / "{node} {topic} leave {key} ({name})".
    todo!("s4.e2: describe the diff")
}
