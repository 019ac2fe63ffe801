//! s4.e2: describe what `handle_diff` reports, one line per join or leave.

use tracker::Diff;
use tracker::presence::UserMeta;

// ANCHOR: describe_diff
/// One line per change, in the diff's order (topics sorted; in each topic the joins,
/// then the leaves): `"app@127.0.0.1 room:lobby join user:1 (Alice)"`.
pub fn describe_diff(node: &str, diff: &Diff<UserMeta>) -> Vec<String> {
    let mut lines = Vec::new();
    for (topic, changes) in diff {
        let joins = changes.joins.iter().map(|change| ("join", change));
        let leaves = changes.leaves.iter().map(|change| ("leave", change));
        for (kind, (key, tracked)) in joins.chain(leaves) {
            let name = &tracked.meta.name;
            lines.push(format!("{node} {topic} {kind} {key} ({name})"));
        }
    }
    lines
}
// ANCHOR_END: describe_diff
