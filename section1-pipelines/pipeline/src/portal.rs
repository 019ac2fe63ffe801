//! The upstream of the "Portal" case study (exercise s1.e10): a slow service that
//! renders a page per id, and the rule that picks which shard owns an id.
//!
//! The story: many users ask for the same page at the same moment, so a plain cache
//! misses for all of them at once and the upstream gets N identical requests (a
//! thundering herd). The fix is to cache for a while *and* coalesce: one fetch per
//! id in flight, every concurrent request waits for that one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// How long a fetched page is served from the cache.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// How many shards the ids are spread over.
pub const SHARDS: usize = 16;

/// A rendered page, as the upstream returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Which page.
    pub id: u64,
    /// The upstream's answer.
    pub body: String,
    /// Which fetch produced it (1 for the upstream's first fetch, and so on).
    pub fetch_number: u64,
}

/// Why a fetch failed. Cloneable, because every waiter of a coalesced fetch gets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError {
    /// The page that could not be fetched.
    pub id: u64,
    /// The upstream's reason.
    pub reason: String,
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fetching page {} failed: {}", self.id, self.reason)
    }
}

impl std::error::Error for FetchError {}

/// A slow upstream that counts its fetches and can be told to fail.
#[derive(Clone, Debug)]
pub struct Upstream {
    inner: Arc<UpstreamInner>,
}

#[derive(Debug)]
struct UpstreamInner {
    delay: Duration,
    fetches: AtomicU64,
    failing: AtomicBool,
}

impl Upstream {
    /// How long a fetch takes unless configured otherwise.
    pub const DEFAULT_DELAY: Duration = Duration::from_millis(200);

    /// An upstream whose every fetch takes `delay`.
    pub fn new(delay: Duration) -> Self {
        Upstream {
            inner: Arc::new(UpstreamInner {
                delay,
                fetches: AtomicU64::new(0),
                failing: AtomicBool::new(false),
            }),
        }
    }

    /// Fetches page `id`: waits the delay, then answers (or fails, when failing).
    pub async fn fetch(&self, id: u64) -> Result<Arc<Page>, FetchError> {
        let fetch_number = self.inner.fetches.fetch_add(1, Ordering::Relaxed) + 1;
        tokio::time::sleep(self.inner.delay).await;
        if self.inner.failing.load(Ordering::Relaxed) {
            return Err(FetchError {
                id,
                reason: "upstream answered 502 Bad Gateway".to_string(),
            });
        }
        Ok(Arc::new(Page {
            id,
            body: format!("page {id}, rendered at {:?}", Instant::now()),
            fetch_number,
        }))
    }

    /// Fetches started so far.
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// Makes every later fetch fail (or succeed again).
    pub fn set_failing(&self, failing: bool) {
        self.inner.failing.store(failing, Ordering::Relaxed);
    }
}

impl Default for Upstream {
    fn default() -> Self {
        Upstream::new(Self::DEFAULT_DELAY)
    }
}

/// The shard that owns `id`, out of `shards`.
///
/// A fixed hash (FNV-1a), not `HashMap`'s random one: every process, on every
/// machine, must agree on the owner, as the Portal's nodes had to agree on which node
/// runs an id's process.
pub fn shard_for(id: u64, shards: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.to_le_bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % shards.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(shard_for(42, SHARDS), shard_for(42, SHARDS));
        let mut counts = [0usize; SHARDS];
        for id in 0..16_000 {
            counts[shard_for(id, SHARDS)] += 1;
        }
        assert!(counts.iter().all(|&n| n > 700 && n < 1300), "{counts:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn counts_fetches_and_fails_on_demand() {
        let upstream = Upstream::new(Duration::from_millis(10));
        assert_eq!(upstream.fetch(7).await.unwrap().fetch_number, 1);
        upstream.set_failing(true);
        assert_eq!(upstream.fetch(7).await.unwrap_err().id, 7);
        assert_eq!(upstream.fetches(), 2);
    }
}
