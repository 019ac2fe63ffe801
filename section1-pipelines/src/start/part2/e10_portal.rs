//! Exercise s1.e10 (hard mode): the Portal cache.
//!
//! - slide: slides/src/section1/part2/e10_portal.md
//! - tests: `mod e10_portal` in section1-pipelines/tests/part2.rs,
//!   run by `cargo xtask check s1.e10`
//! - stuck? `cargo xtask hint s1.e10` (each hint gives away a little more)
//!
//! A per-id cache kept for 30 s, where concurrent requests for the same id share one
//! upstream fetch (request coalescing). Ids are spread over a fixed set of shards by
//! a stable hash, so one hot id never locks out the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[allow(unused_imports)]
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::time::Instant;

#[allow(unused_imports)]
use pipeline::portal::{FetchError, Page, SHARDS, Upstream, shard_for};

/// A fetch in progress, awaitable by any number of requests at once.
type Fetch = Shared<BoxFuture<'static, Result<Arc<Page>, FetchError>>>;

/// What a shard knows about one id. (A suggestion: change it if you like.)
#[allow(dead_code)]
#[derive(Clone)]
enum Entry {
    /// A fetch is running: join it.
    Fetching(Fetch),
    /// A page fetched at `at`: fresh for the TTL.
    Ready { page: Arc<Page>, at: Instant },
}

/// A coalescing, expiring cache in front of an [`Upstream`].
pub struct PortalCache {
    upstream: Upstream,
    ttl: Duration,
    shards: Vec<Mutex<HashMap<u64, Entry>>>,
}

impl PortalCache {
    /// A cache over `upstream` keeping pages for `ttl`, with [`SHARDS`] shards.
    pub fn new(upstream: Upstream, ttl: Duration) -> Self {
        PortalCache {
            upstream,
            ttl,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Page `id`: from the cache while fresh; otherwise from the fetch already in
    /// progress for it, or from a new one. A failed fetch is returned to every
    /// request that waited for it, and is not cached.
    pub async fn get(&self, id: u64) -> Result<Arc<Page>, FetchError> {
        // TODO(s1.e10): pick the shard with `shard_for`; under its lock, return a fresh
        // page, or join the fetch in progress, or start one (`tokio::spawn` the
        // upstream call, make it `.boxed().shared()`, and store it). Await it without
        // the lock held, then record the outcome: cache a page, forget a failure.
        todo!("s1.e10: a sharded, coalescing cache with a TTL")
    }

    /// Ids with an entry (fresh, stale or fetching) in each shard: shows the spread.
    pub fn entries_per_shard(&self) -> Vec<usize> {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .collect()
    }
}
