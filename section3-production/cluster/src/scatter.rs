//! The types of a scatter-gather across the cluster (exercise s3.e8 writes
//! `gather`): one node's answer, and what came back by the deadline.

use std::collections::{BTreeMap, BTreeSet};

/// One node's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    /// The node that answered.
    pub node: String,
    /// What it answered.
    pub value: T,
}

/// What came back by the deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct Gathered<T> {
    /// Each node that answered, with its (first) answer.
    pub answered: BTreeMap<String, T>,
    /// The nodes that were asked and did not answer in time.
    pub missing: BTreeSet<String>,
}
