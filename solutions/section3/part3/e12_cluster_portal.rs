//! s3.e12 (hard mode): one owner per id across the cluster. Section 1's Portal
//! cache made one fetch per id per process; here every node routes the requests
//! for an id to the one live node that owns it, so a crowd asking every node at
//! once still makes one upstream fetch, cluster-wide.
//!
//! The owner is chosen by rendezvous (highest-random-weight) hashing over the
//! nodes serving the Portal, as the group registry of s3.e11 knows them: every
//! node computes the same owner from the same membership, with no coordination,
//! and when a node goes, only the ids it owned move. A request to an owner that
//! dies is asked again of the new owner; the new owner fetches once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use cluster::groups::{Groups, Outcome};
pub use cluster::portal::{CACHE_TTL, FetchError, Page, Upstream};
use cluster::portal::{LocalPortal, MAILBOX, PORTAL_GROUP, page_from_json, page_request, serve};

/// How long one request may take in all, retries on a new owner included.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// Why a page did not come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortalError {
    /// No live node serves the Portal (not even this one: it is stopping).
    NoNode,
    /// The owner's fetch failed (the upstream's reason).
    Fetch(FetchError),
    /// The owner refused, or did not answer by the deadline.
    Unavailable { owner: String, reason: String },
}

impl std::fmt::Display for PortalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortalError::NoNode => write!(f, "no node serves the portal"),
            PortalError::Fetch(error) => write!(f, "{error}"),
            PortalError::Unavailable { owner, reason } => {
                write!(f, "the owner {owner} is unavailable: {reason}")
            }
        }
    }
}

impl std::error::Error for PortalError {}

/// How much `node` wants `id`: a fixed hash of both (FNV-1a, then a 64-bit
/// finalizer so that close names and ids give unrelated weights). Fixed, never
/// `HashMap`'s randomly seeded hasher: every node, in every process, must compute
/// the same weight.
pub fn weight(node: &str, id: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in node.bytes().chain([0xff]).chain(id.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // splitmix64's finalizer.
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

/// The owner of `id` among `nodes`: the node with the highest [`weight`] for it
/// (ties, astronomically rare, go to the greater name). `None` without nodes.
// ANCHOR: owner
pub fn owner(id: u64, nodes: &BTreeSet<String>) -> Option<String> {
    // Every node ranks the same candidates the same way, so they agree without
    // talking. Removing a node only moves the ids it won; adding one only takes
    // the ids it now wins. `hash(id) % nodes.len()` would move almost every id.
    nodes
        .iter()
        .max_by_key(|node| (weight(node, id), *node))
        .cloned()
}
// ANCHOR_END: owner

/// The Portal on one node of the cluster: this node's cache, served to the other
/// nodes as a member of the `portal` group, and the routing of each request to
/// the id's owner.
pub struct ClusterPortal {
    groups: Arc<Groups>,
    cache: Arc<LocalPortal>,
    server: JoinHandle<()>,
}

impl ClusterPortal {
    /// Joins the `portal` group on `groups`' node, serving pages fetched from
    /// `upstream` and kept for `ttl`.
    pub fn start(groups: Arc<Groups>, upstream: Upstream, ttl: Duration) -> Self {
        let cache = Arc::new(LocalPortal::new(upstream, ttl));
        let member = groups.join(PORTAL_GROUP, MAILBOX);
        let server = tokio::spawn(serve(member, cache.clone()));
        ClusterPortal {
            groups,
            cache,
            server,
        }
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        self.groups.node()
    }

    /// The owner of `id` as this node sees the cluster now.
    pub fn owner_of(&self, id: u64) -> Option<String> {
        owner(id, &self.groups.members_of(PORTAL_GROUP))
    }

    /// Page `id`, from its owner: this node's cache when this node owns it,
    /// otherwise a call to the owner. An owner that leaves the cluster while asked
    /// is replaced (the request goes to the new owner); everything ends by
    /// [`DEADLINE`].
    // ANCHOR: get
    pub async fn get(&self, id: u64) -> Result<Arc<Page>, PortalError> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let Some(owner) = self.owner_of(id) else {
                return Err(PortalError::NoNode);
            };
            if owner == self.node() {
                return self.cache.get(id).await.map_err(PortalError::Fetch);
            }
            let pending = self
                .groups
                .request(&owner, PORTAL_GROUP, page_request(id), deadline);
            tokio::select! {
                outcome = pending => {
                    return match outcome {
                        Outcome::Answer(page) => page_from_json(id, &page).map_err(PortalError::Fetch),
                        Outcome::Refused(reason) => Err(PortalError::Unavailable {
                            owner,
                            reason: format!("refused: {reason:?}"),
                        }),
                    };
                }
                // The owner is gone: it is no longer among the members, so the next
                // turn of the loop computes the new owner, which fetches once.
                () = self.groups.gone(&owner) => continue,
                () = sleep_until(deadline) => {
                    return Err(PortalError::Unavailable {
                        owner,
                        reason: format!("no answer within {DEADLINE:?}"),
                    });
                }
            }
        }
    }
    // ANCHOR_END: get
}

impl Drop for ClusterPortal {
    fn drop(&mut self) {
        // Stops serving: the member goes with the task, and the others learn it.
        self.server.abort();
    }
}
