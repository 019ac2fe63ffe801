//! The slow shared resource every exercise of section 1 talks to.
//!
//! Think of it as a database, a payment API or a printer: each use takes a while
//! (500 ms by default) and the resource itself never refuses anyone. That is the
//! point of the model: it *lets* you overload it, so the code in front of it has
//! to decide how many users it may have at once.
//!
//! The resource counts its users so the dashboard, `/stats` and the tests can see
//! what the code in front of it did: how many hold it right now (`current`), the
//! most that ever held it at once (`peak`) and how many uses finished (`total`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A shared resource that holds each caller for a fixed time.
///
/// Cloning is cheap and every clone shares the same counters, so a clone can be
/// moved into a spawned task. Tests create their own instance with
/// [`MockResource::with_hold`], so parallel tests never see each other's users.
#[derive(Clone, Debug)]
pub struct MockResource {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    hold: Duration,
    current: AtomicU64,
    peak: AtomicU64,
    total: AtomicU64,
}

/// A point-in-time reading of the resource's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// Users holding the resource right now.
    pub current: u64,
    /// The most users that held it at the same time since start (or the last reset).
    pub peak: u64,
    /// Uses that have finished.
    pub total: u64,
}

impl MockResource {
    /// How long one use holds the resource unless configured otherwise.
    pub const DEFAULT_HOLD: Duration = Duration::from_millis(500);

    /// A resource with the default 500 ms hold.
    pub fn new() -> Self {
        Self::with_hold(Self::DEFAULT_HOLD)
    }

    /// A resource whose every use takes `hold`; tests use short holds or paused time.
    pub fn with_hold(hold: Duration) -> Self {
        MockResource {
            inner: Arc::new(Inner {
                hold,
                current: AtomicU64::new(0),
                peak: AtomicU64::new(0),
                total: AtomicU64::new(0),
            }),
        }
    }

    /// How long each use takes.
    pub fn hold(&self) -> Duration {
        self.inner.hold
    }

    /// Uses the resource: counts the caller in, waits for the hold time, counts it out.
    ///
    /// The wait is a tokio timer, not a blocking sleep, so a waiting user costs a
    /// parked task and nothing else: the same reason an HTTP call or a database query
    /// does not tie up a thread in tokio.
    // ANCHOR: use_resource
    pub async fn use_resource(&self) {
        // The guard counts the user out even if the caller's future is dropped
        // half-way (a client that disconnects cancels its request's future).
        let _user = self.enter();
        tokio::time::sleep(self.inner.hold).await;
    }
    // ANCHOR_END: use_resource

    /// Users holding the resource right now.
    pub fn current(&self) -> u64 {
        self.inner.current.load(Ordering::Relaxed)
    }

    /// All counters at once.
    pub fn usage(&self) -> Usage {
        Usage {
            current: self.inner.current.load(Ordering::Relaxed),
            peak: self.inner.peak.load(Ordering::Relaxed),
            total: self.inner.total.load(Ordering::Relaxed),
        }
    }

    /// Forgets the peak, so a new load run reports its own.
    pub fn reset_peak(&self) {
        self.inner.peak.store(
            self.inner.current.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
    }

    fn enter(&self) -> UserGuard<'_> {
        let now = self.inner.current.fetch_add(1, Ordering::Relaxed) + 1;
        // fetch_max keeps the peak exact without a lock, whatever the interleaving.
        self.inner.peak.fetch_max(now, Ordering::Relaxed);
        UserGuard { inner: &self.inner }
    }
}

impl Default for MockResource {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts one user out when dropped, finished or cancelled.
struct UserGuard<'a> {
    inner: &'a Inner,
}

impl Drop for UserGuard<'_> {
    fn drop(&mut self) {
        self.inner.current.fetch_sub(1, Ordering::Relaxed);
        self.inner.total.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn counts_a_user_for_exactly_the_hold_time() {
        let resource = MockResource::new();
        let user = tokio::spawn({
            let resource = resource.clone();
            async move { resource.use_resource().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            resource.usage(),
            Usage {
                current: 1,
                peak: 1,
                total: 0
            }
        );
        tokio::time::sleep(Duration::from_millis(460)).await;
        user.await.unwrap();
        assert_eq!(
            resource.usage(),
            Usage {
                current: 0,
                peak: 1,
                total: 1
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_use_is_counted_out() {
        let resource = MockResource::with_hold(Duration::from_secs(10));
        let user = tokio::spawn({
            let resource = resource.clone();
            async move { resource.use_resource().await }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(resource.current(), 1);
        user.abort();
        let _ = user.await;
        assert_eq!(resource.current(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn instances_are_isolated() {
        let a = MockResource::new();
        let b = MockResource::new();
        let user = tokio::spawn({
            let a = a.clone();
            async move { a.use_resource().await }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(a.current(), 1);
        assert_eq!(b.usage(), Usage::default());
        user.await.unwrap();
    }
}
