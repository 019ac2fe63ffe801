//! Live heap by allocation size: where an idle connection's bytes go, without a
//! profiler.
//!
//! The binary's global allocator is [`Counting`], a wrapper that passes every call
//! to the real allocator and, only once [`enable`] was called, also counts the live
//! bytes, the live allocations and the live allocations of each exact size. Only the
//! hidden `heap-serve` command enables it (the server the walkthrough's experiment
//! profiles); every other command pays one relaxed load and a branch per call, and
//! their figures are the real allocator's.
//!
//! The experiment reads a [`Snapshot`] before and after opening N idle connections:
//! the difference divided by N is what one connection keeps on the heap, and the
//! sizes say which objects: a task is one allocation the size of its future (plus
//! tokio's header, padded to 128 bytes), a buffer one of its capacity. valgrind's
//! DHAT names the allocation sites too, at many times the run time.

use std::alloc::{GlobalAlloc, Layout};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};

use serde::{Deserialize, Serialize};

/// Sizes counted one by one; larger allocations share one counter.
pub const EXACT_SIZES: usize = 4096;

static ENABLED: AtomicBool = AtomicBool::new(false);
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static LIVE_ALLOCS: AtomicI64 = AtomicI64::new(0);
static BY_SIZE: [AtomicI64; EXACT_SIZES + 1] = [const { AtomicI64::new(0) }; EXACT_SIZES + 1];
static LARGER: AtomicI64 = AtomicI64::new(0);
static LARGER_BYTES: AtomicI64 = AtomicI64::new(0);

/// A global allocator that counts what `A` holds, once [`enable`]d.
pub struct Counting<A>(pub A);

/// Starts counting (for the rest of the process's life). What was allocated before
/// and freed after shows as negative counts; only differences of two snapshots
/// taken after this call mean anything.
pub fn enable() {
    ENABLED.store(true, Relaxed);
}

fn count(size: usize, sign: i64) {
    LIVE_BYTES.fetch_add(sign * size as i64, Relaxed);
    LIVE_ALLOCS.fetch_add(sign, Relaxed);
    if size <= EXACT_SIZES {
        BY_SIZE[size].fetch_add(sign, Relaxed);
    } else {
        LARGER.fetch_add(sign, Relaxed);
        LARGER_BYTES.fetch_add(sign * size as i64, Relaxed);
    }
}

// SAFETY: every call goes to `A` unchanged; the counting touches only atomics and
// never allocates.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let ptr = unsafe { self.0.alloc(layout) };
        if !ptr.is_null() && ENABLED.load(Relaxed) {
            count(layout.size(), 1);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let ptr = unsafe { self.0.alloc_zeroed(layout) };
        if !ptr.is_null() && ENABLED.load(Relaxed) {
            count(layout.size(), 1);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.0.dealloc(ptr, layout) };
        if ENABLED.load(Relaxed) {
            count(layout.size(), -1);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let new = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !new.is_null() && ENABLED.load(Relaxed) {
            count(layout.size(), -1);
            count(new_size, 1);
        }
        new
    }
}

/// The counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Bytes allocated and not freed (as requested, without the allocator's own
    /// headers and rounding).
    pub live_bytes: i64,
    /// Allocations not freed.
    pub live_allocs: i64,
    /// Live allocations of each size up to [`EXACT_SIZES`] (sizes with none left out).
    pub by_size: BTreeMap<usize, i64>,
    /// Live allocations larger than [`EXACT_SIZES`], and their bytes.
    pub larger: (i64, i64),
}

/// Reads the counters (not atomically as a whole: take it while the process is idle).
pub fn snapshot() -> Snapshot {
    let by_size = BY_SIZE
        .iter()
        .enumerate()
        .map(|(size, n)| (size, n.load(Relaxed)))
        .filter(|&(_, n)| n != 0)
        .collect();
    Snapshot {
        live_bytes: LIVE_BYTES.load(Relaxed),
        live_allocs: LIVE_ALLOCS.load(Relaxed),
        by_size,
        larger: (LARGER.load(Relaxed), LARGER_BYTES.load(Relaxed)),
    }
}

/// What one of `n` connections keeps: `after - before`, divided by `n`.
#[derive(Debug, Clone, PartialEq)]
pub struct PerConnection {
    /// Live heap bytes per connection.
    pub bytes: f64,
    /// Live allocations per connection.
    pub allocs: f64,
    /// `(size, allocations of that size per connection)`, largest share of bytes
    /// first; sizes whose count did not grow by at least half an allocation per
    /// connection are left out (they are in `bytes`).
    pub by_size: Vec<(usize, f64)>,
    /// Bytes per connection in allocations larger than [`EXACT_SIZES`].
    pub larger_bytes: f64,
}

/// The heap one of `n` connections opened between `before` and `after` keeps.
pub fn per_connection(before: &Snapshot, after: &Snapshot, n: usize) -> PerConnection {
    let n = n.max(1) as f64;
    let mut by_size: Vec<(usize, f64)> = after
        .by_size
        .iter()
        .map(|(&size, &count)| {
            let grew = count - before.by_size.get(&size).copied().unwrap_or(0);
            (size, grew as f64 / n)
        })
        .filter(|&(_, per)| per >= 0.5)
        .collect();
    by_size.sort_by(|a, b| (b.0 as f64 * b.1).total_cmp(&(a.0 as f64 * a.1)));
    PerConnection {
        bytes: (after.live_bytes - before.live_bytes) as f64 / n,
        allocs: (after.live_allocs - before.live_allocs) as f64 / n,
        by_size,
        larger_bytes: (after.larger.1 - before.larger.1) as f64 / n,
    }
}

/// Answers each line read from stdin with `heap <Snapshot as JSON>` on stdout,
/// until stdin ends (the `heap-serve` child's side of the experiment).
pub async fn answer_on_stdin() {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(_)) = lines.next_line().await {
        let snapshot = snapshot();
        match serde_json::to_string(&snapshot) {
            Ok(json) => println!("heap {json}"),
            Err(e) => println!("heap error {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_connection_divides_the_growth_and_orders_by_bytes() {
        let before = Snapshot {
            live_bytes: 1000,
            live_allocs: 10,
            by_size: BTreeMap::from([(24, 4), (1024, 1)]),
            larger: (0, 0),
        };
        let after = Snapshot {
            live_bytes: 1000 + 10 * (1024 + 2 * 24 + 512) + 10 * 8192,
            live_allocs: 10 + 10 * 5,
            by_size: BTreeMap::from([(24, 24), (512, 10), (1024, 11), (7, 2)]),
            larger: (10, 10 * 8192),
        };
        let per = per_connection(&before, &after, 10);
        assert_eq!(per.by_size, vec![(1024, 1.0), (512, 1.0), (24, 2.0)]);
        assert_eq!(per.allocs, 5.0);
        assert_eq!(per.larger_bytes, 8192.0);
        assert_eq!(per.bytes, 1024.0 + 48.0 + 512.0 + 8192.0);
    }
}
