//! Helpers shared by integration tests.

/// The same `redis-server` helper as section 3's tests, one file for both.
#[path = "../../../section3-production/tests/support/redis.rs"]
pub mod redis;
