//! Where `occurred_at` comes from: the server's clock, replaceable in tests.
//!
//! Tokio's paused time only moves `tokio::time::Instant`, never the wall clock, so tests
//! that need equal or chosen timestamps swap in a [`ManualClock`] instead.

use std::fmt;
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime, UtcOffset};

/// A source of wall-clock time for stamping activities.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
}

/// The real clock (`OffsetDateTime::now_utc`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that moves only when told; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    /// Moves the clock to `at` (backwards too: tests use that to insert out of order).
    pub fn set(&self, at: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    /// Moves the clock forwards by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `at` in UTC, cut to whole microseconds: the precision both databases keep, so the
/// activity `create` returns is equal to the one a later `list_newest` reads back.
pub(super) fn stamp(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(UtcOffset::UTC);
    let micros = at.microsecond();
    at.replace_nanosecond(micros * 1_000)
        .expect("whole microseconds are a valid nanosecond value")
}
