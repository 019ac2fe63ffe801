//! s3.e11 (hard mode): call a process on another node. Choose a member of a named
//! group, send it a request with a deadline, and tell apart the ways it can fail.
//!
//! The transport is provided (`cluster::groups`): it knows which nodes host a
//! member of each group, and it carries a request to one node and its outcome
//! back. It never waits for you: a call whose node died, or whose message Redis
//! lost, would wait forever. This is the half that makes a remote call safe: one
//! deadline, a watch on the node, and an error that says which thing went wrong.

use std::time::Duration;

use serde_json::Value;
use tokio::time::{Instant, sleep_until};

pub use cluster::groups::{Groups, Outcome, Refusal};

/// Why a call did not bring an answer back. Each one asks for a different
/// reaction, so they are never folded into one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No live node hosts a member of the group: nothing was sent (or the member
    /// left before the call arrived). Fail fast, start one, or degrade.
    NoMember { group: String },
    /// The node called left the cluster (goodbye, or heartbeat expired) before it
    /// answered: the request may or may not have run there.
    NodeDown { node: String },
    /// No answer by the deadline from a node still alive: slow, stuck, or the
    /// message was lost on the way. The request may or may not have run.
    Timeout { node: String, after: Duration },
    /// The node refused it (every queue full) or its member dropped it unanswered.
    Refused { node: String, reason: Refusal },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::NoMember { group } => write!(f, "no live member of group {group}"),
            CallError::NodeDown { node } => write!(f, "{node} left the cluster before answering"),
            CallError::Timeout { node, after } => {
                write!(f, "{node} did not answer within {after:?}")
            }
            CallError::Refused { node, reason } => write!(f, "{node} refused the call: {reason:?}"),
        }
    }
}

impl std::error::Error for CallError {}

/// Which node to call for `group`: this node when it hosts a member (no hop
/// through Redis), otherwise one of the others, spread by `turn` (a counter the
/// caller increments). `None` when no live node hosts one.
// ANCHOR: choose
pub fn choose(groups: &Groups, group: &str, turn: usize) -> Option<String> {
    let nodes = groups.members_of(group);
    if nodes.contains(groups.node()) {
        return Some(groups.node().to_owned());
    }
    // `members_of` is sorted: the same turn picks the same node everywhere, and
    // successive turns go round the members.
    nodes.iter().nth(turn % nodes.len().max(1)).cloned()
}
// ANCHOR_END: choose

/// Calls a member of `group` with `body` and returns its answer, or the reason it
/// did not come within `limit` of the call. Never waits longer than `limit`, and
/// leaves nothing behind on any path (the pending call is dropped on return).
// ANCHOR: call
pub async fn call(
    groups: &Groups,
    group: &str,
    body: Value,
    limit: Duration,
    turn: usize,
) -> Result<Value, CallError> {
    let Some(node) = choose(groups, group, turn) else {
        return Err(CallError::NoMember {
            group: group.to_owned(),
        });
    };
    // One deadline, fixed before anything is sent.
    let deadline = Instant::now() + limit;
    // The deadline goes with the call: the node drops it if nobody waits any more.
    let pending = groups.request(&node, group, body, deadline);
    tokio::select! {
        outcome = pending => match outcome {
            Outcome::Answer(answer) => Ok(answer),
            Outcome::Refused(Refusal::NoMember) => Err(CallError::NoMember {
                group: group.to_owned(),
            }),
            // The node saw the deadline pass before a member took the call.
            Outcome::Refused(Refusal::Expired) => Err(CallError::Timeout { node, after: limit }),
            Outcome::Refused(reason) => Err(CallError::Refused { node, reason }),
        },
        // A monitor on the node, Erlang style: its death ends the wait now, not at
        // the deadline, and says so.
        () = groups.gone(&node) => Err(CallError::NodeDown { node }),
        () = sleep_until(deadline) => Err(CallError::Timeout { node, after: limit }),
    }
}
// ANCHOR_END: call
