//! Exercise s1.e10 (hard mode): the Portal cache. Slide: slides/src/section1/part2/e10_portal.md
//!
//! A per-id cache kept for 30 s, where concurrent requests for the same id share one
//! upstream fetch (request coalescing). Ids are spread over a fixed set of shards by
//! a stable hash, so one hot id never locks out the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::time::Instant;

use pipeline::portal::{FetchError, Page, SHARDS, Upstream, shard_for};

/// A fetch in progress, awaitable by any number of requests at once.
type Fetch = Shared<BoxFuture<'static, Result<Arc<Page>, FetchError>>>;

/// What a shard knows about one id.
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
    // ANCHOR: get
    pub async fn get(&self, id: u64) -> Result<Arc<Page>, FetchError> {
        let shard = &self.shards[shard_for(id, self.shards.len())];
        let fetch = {
            // A std Mutex is right here: it is held for a map lookup, never across
            // an `.await`.
            let mut entries = shard.lock().unwrap_or_else(|p| p.into_inner());
            match entries.get(&id) {
                Some(Entry::Ready { page, at }) if at.elapsed() < self.ttl => {
                    return Ok(page.clone());
                }
                Some(Entry::Fetching(fetch)) => fetch.clone(),
                _ => {
                    // Spawned, so the fetch finishes even if every waiter gives up;
                    // `Shared` lets all waiters await the one result.
                    let upstream = self.upstream.clone();
                    let task = tokio::spawn(async move { upstream.fetch(id).await });
                    let fetch = async move {
                        task.await.unwrap_or_else(|crash| {
                            Err(FetchError {
                                id,
                                reason: format!("the fetch task crashed: {crash}"),
                            })
                        })
                    }
                    .boxed()
                    .shared();
                    entries.insert(id, Entry::Fetching(fetch.clone()));
                    fetch
                }
            }
        };
        let result = fetch.clone().await;
        // The first waiter back records the outcome; the others find it done. Only
        // replace *this* fetch: a newer one may already have taken its place.
        let mut entries = shard.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(Entry::Fetching(current)) = entries.get(&id) {
            if current.ptr_eq(&fetch) {
                match &result {
                    Ok(page) => {
                        entries.insert(
                            id,
                            Entry::Ready {
                                page: page.clone(),
                                at: Instant::now(),
                            },
                        );
                    }
                    // Not cached: the next request tries the upstream again.
                    Err(_) => {
                        entries.remove(&id);
                    }
                }
            }
        }
        result
    }
    // ANCHOR_END: get

    /// Ids with an entry (fresh, stale or fetching) in each shard: shows the spread.
    pub fn entries_per_shard(&self) -> Vec<usize> {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .collect()
    }
}
