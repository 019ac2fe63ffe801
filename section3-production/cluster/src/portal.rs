//! The Portal cache of section 1 (s1.e10) on one node, as the pieces the
//! cluster-wide version (exercise s3.e12) builds on: a single-flight cache that
//! keeps each page for a while, the page as JSON for the trip between nodes, and
//! the member that serves the `portal` group from that cache.
//!
//! Section 1's exercise made one fetch per id **per process**. Here each node keeps
//! such a cache, and s3.e12 routes every request for an id to the one node that
//! owns it, so there is one fetch per id **across the cluster**. The upstream is
//! section 1's (`pipeline::portal::Upstream`): slow, and counting its fetches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::time::Instant;

pub use pipeline::portal::{CACHE_TTL, FetchError, Page, Upstream};

use crate::groups::Member;

/// The group every node serving the Portal joins.
pub const PORTAL_GROUP: &str = "portal";

/// Requests one node's member serves at once; beyond it the member stops taking
/// from its mailbox, the mailbox fills, and callers are refused (`Busy`).
pub const SERVING_AT_ONCE: usize = 4096;

/// The mailbox of a node's Portal member.
pub const MAILBOX: usize = 4096;

/// A fetch in progress, awaitable by any number of requests at once.
type Fetch = Shared<BoxFuture<'static, Result<Arc<Page>, FetchError>>>;

#[derive(Clone)]
enum Entry {
    Fetching(Fetch),
    Ready { page: Arc<Page>, at: Instant },
}

/// One node's Portal cache: one fetch per id in flight, each page kept for the
/// TTL. (Section 1's reference spreads ids over shards; one map is enough here,
/// where the hop through Redis dwarfs the lock.)
pub struct LocalPortal {
    upstream: Upstream,
    ttl: Duration,
    entries: Mutex<HashMap<u64, Entry>>,
}

impl LocalPortal {
    /// A cache over `upstream` keeping pages for `ttl`.
    pub fn new(upstream: Upstream, ttl: Duration) -> Self {
        LocalPortal {
            upstream,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Page `id`: cached while fresh, else the fetch in flight, else a new fetch.
    /// A failure goes to every waiter and is not cached.
    pub async fn get(&self, id: u64) -> Result<Arc<Page>, FetchError> {
        let fetch = {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            match entries.get(&id) {
                Some(Entry::Ready { page, at }) if at.elapsed() < self.ttl => {
                    return Ok(page.clone());
                }
                Some(Entry::Fetching(fetch)) => fetch.clone(),
                _ => {
                    // Spawned: the fetch completes even if every waiter gives up.
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
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Only this fetch's entry: a newer one may have taken its place.
        if let Some(Entry::Fetching(current)) = entries.get(&id)
            && current.ptr_eq(&fetch)
        {
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
                Err(_) => {
                    entries.remove(&id);
                }
            }
        }
        result
    }
}

/// What a node answers for a page: the page, or the upstream's failure.
pub fn page_to_json(result: &Result<Arc<Page>, FetchError>) -> Value {
    match result {
        Ok(page) => json!({
            "id": page.id,
            "body": page.body,
            "fetch_number": page.fetch_number,
        }),
        Err(error) => json!({ "id": error.id, "error": error.reason }),
    }
}

/// Reads what [`page_to_json`] wrote; a malformed answer is a `FetchError` too.
pub fn page_from_json(id: u64, value: &Value) -> Result<Arc<Page>, FetchError> {
    if let Some(reason) = value.get("error").and_then(Value::as_str) {
        return Err(FetchError {
            id,
            reason: reason.to_owned(),
        });
    }
    let page = (|| {
        Some(Page {
            id: value.get("id")?.as_u64()?,
            body: value.get("body")?.as_str()?.to_owned(),
            fetch_number: value.get("fetch_number")?.as_u64()?,
        })
    })();
    page.map(Arc::new).ok_or_else(|| FetchError {
        id,
        reason: format!("the owner answered something that is not a page: {value}"),
    })
}

/// The request a node sends the owner of `id`.
pub fn page_request(id: u64) -> Value {
    json!({ "id": id })
}

/// Serves the `portal` group on this node: each request (`{"id": n}`) is answered
/// from `cache`, many at once (a slow fetch must not hold up the hits behind it),
/// at most [`SERVING_AT_ONCE`]. Runs until the member's node is gone.
pub async fn serve(member: Member, cache: Arc<LocalPortal>) {
    serve_at_most(member, cache, SERVING_AT_ONCE).await;
}

/// [`serve`], with at most `at_once` requests served at once.
///
/// A request stops being served at its deadline ([`Request::deadline`](crate::groups::Request::deadline)): its
/// caller has given up, so waiting on for a slow fetch would only hold a place
/// that a live request needs. The fetch itself goes on (the cache spawned it), and
/// the next request for that id finds it.
pub async fn serve_at_most(mut member: Member, cache: Arc<LocalPortal>, at_once: usize) {
    let serving = Arc::new(Semaphore::new(at_once));
    while let Some(request) = member.recv().await {
        let deadline = request.deadline();
        let Ok(acquired) = tokio::time::timeout_at(deadline, serving.clone().acquire_owned()).await
        else {
            // Expired while every place was taken: dropping it tells the caller why.
            continue;
        };
        let Ok(permit) = acquired else {
            return;
        };
        let Some(id) = request.body.get("id").and_then(Value::as_u64) else {
            request.reply(json!({ "id": 0, "error": "a page request needs a numeric id" }));
            continue;
        };
        let cache = cache.clone();
        tokio::spawn(async move {
            if let Ok(result) = tokio::time::timeout_at(deadline, cache.get(id)).await {
                request.reply(page_to_json(&result));
            }
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn concurrent_gets_share_one_fetch_and_the_page_travels_as_json() {
        let upstream = Upstream::new(Duration::from_millis(200));
        let cache = Arc::new(LocalPortal::new(upstream.clone(), CACHE_TTL));
        let gets: Vec<_> = (0..100)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.get(7).await })
            })
            .collect();
        for get in gets {
            let page = get.await.unwrap().unwrap();
            assert_eq!(
                page_from_json(7, &page_to_json(&Ok(page.clone()))),
                Ok(page)
            );
        }
        assert_eq!(upstream.fetches(), 1);
        tokio::time::advance(CACHE_TTL).await;
        cache.get(7).await.unwrap();
        assert_eq!(
            upstream.fetches(),
            2,
            "a page older than the TTL is fetched again"
        );
    }
}
