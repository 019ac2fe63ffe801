//! Exercise s3.e11 (hard mode): call a process on another node.
//!
//! Choose a member of a named group, send it a request with a deadline, and tell
//! apart the ways it can fail.
//!
//! - slide: slides/src/section3/part3/e11_remote_call.md
//! - tests: `mod e11_remote_call` in section3-production/tests/remote_call.rs,
//!   run by `cargo xtask check s3.e11`
//! - stuck? `cargo xtask hint s3.e11` (each hint gives away a little more)
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
pub fn choose(groups: &Groups, group: &str, turn: usize) -> Option<String> {
    // TODO(s3.e11): slides/src/section3/part3/e11_remote_call.md
    todo!("this node if it hosts a member, else one of `groups.members_of(group)` by `turn`")
}

/// Calls a member of `group` with `body` and returns its answer, or the reason it
/// did not come within `limit` of the call. Never waits longer than `limit`, and
/// leaves nothing behind on any path (the pending call is dropped on return).
pub async fn call(
    groups: &Groups,
    group: &str,
    body: Value,
    limit: Duration,
    turn: usize,
) -> Result<Value, CallError> {
    // TODO(s3.e11): slides/src/section3/part3/e11_remote_call.md
    todo!("choose a node, request, then race the outcome, `groups.gone(&node)` and the deadline")
}
