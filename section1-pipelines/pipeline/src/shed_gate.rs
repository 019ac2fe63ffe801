//! The admission gate for the load-shedding exercise (s1.e4).

use std::sync::Arc;

use tokio::sync::Semaphore;

/// How many requests may hold the resource through `/part1/shed` before the
/// endpoint starts answering 503.
pub const SHED_AT: usize = 15;

/// A fixed number of admission permits shared by every request to `/part1/shed`.
///
/// A permit is held for as long as a request uses the resource; when none is left,
/// the server should refuse at once instead of queueing (that is load shedding).
#[derive(Clone, Debug)]
pub struct ShedGate {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl ShedGate {
    /// A gate admitting at most `limit` requests at a time.
    pub fn new(limit: usize) -> Self {
        ShedGate {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// The semaphore holding the permits.
    pub fn permits(&self) -> &Arc<Semaphore> {
        &self.permits
    }

    /// How many requests the gate admits at once.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl Default for ShedGate {
    fn default() -> Self {
        Self::new(SHED_AT)
    }
}
