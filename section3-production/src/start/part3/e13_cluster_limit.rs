//! Exercise s3.e13 (hard mode): one rate limit per user across the cluster, in Redis.
//!
//! - slide: slides/src/section3/part3/e13_cluster_limit.md
//! - tests: `mod e13_cluster_limit` in section3-production/tests/cluster_limit.rs,
//!   run by `cargo xtask check s3.e13`
//! - stuck? `cargo xtask hint s3.e13` (each hint gives away a little more)
//!
//! s2.e7 kept each user's limit in one process. Behind a load balancer a user's tabs
//! land on several nodes, and each node counts on its own: three nodes, three limits.
//! Here each user's recent creates live in Redis, as a sorted set of their times,
//! and one Lua script trims it, counts it and records the new create in a single
//! step, so every node shares one limit and no two nodes can both take the last slot.
//!
//! Redis is one more thing that can be away. [`FailMode`] says what a create does
//! then: `Open` lets it through uncounted (the limit guards against floods, and an
//! outage of the limiter should not become an outage of the feature), `Closed`
//! refuses it with a clear error (for limits that protect money or a partner's API).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokio::sync::Mutex;

/// At most `max` creates per user in any sliding `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Creates allowed in one window.
    pub max: u32,
    /// The window, sliding: a create counts until `window` after it.
    pub window: Duration,
}

/// What a create does when Redis does not answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// Let it through, uncounted ([`Verdict::Unchecked`]), and say so in the log.
    Open,
    /// Refuse it with [`Unavailable`].
    Closed,
}

/// The limiter's answer to one create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Counted against the user's limit: go ahead.
    Allowed,
    /// Over the limit; the oldest create in the window leaves it after `retry_after`.
    Limited {
        /// How long until one more create would be allowed.
        retry_after: Duration,
    },
    /// Redis did not answer and the limiter fails open: go ahead, uncounted.
    Unchecked,
}

/// Redis did not answer and the limiter fails closed: the reason, for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the rate limiter is unavailable: {}", self.0)
    }
}

impl std::error::Error for Unavailable {}

// ANCHOR: script
/// The check and the record, in one step on the Redis server.
///
/// `KEYS[1]`: the user's log, a sorted set of create times (ms). `ARGV[1]`: the
/// window in ms; `ARGV[2]`: the limit; `ARGV[3]`: a member name unique to this
/// create. Returns `{1, 0}` when allowed, `{0, ms until a slot frees}` when not.
pub const SCRIPT: &str = r#"
-- TODO(s3.e13): one step, on the Redis server:
--   1. now, in ms, from Redis's own clock (redis.call('TIME') gives seconds and
--      microseconds);
--   2. drop the creates older than the window from the sorted set KEYS[1];
--   3. if fewer than ARGV[2] remain: record this one (score now, member ARGV[3]),
--      let the key expire after the window, and return {1, 0};
--   4. otherwise return {0, ms until the oldest create leaves the window}.
return redis.error_reply('TODO(s3.e13): the script is not written yet')
"#;
// ANCHOR_END: script

/// One node's handle on the cluster-wide limit. Cheap to share (`Arc`); every node
/// builds its own on the same Redis and `prefix`.
pub struct ClusterRateLimiter {
    client: redis::Client,
    /// One multiplexed connection, made again after an error (a Redis restart).
    connection: Mutex<Option<MultiplexedConnection>>,
    script: redis::Script,
    prefix: String,
    node: String,
    next_member: AtomicU64,
    limit: Limit,
    fail: FailMode,
    /// How long a create waits for Redis before the fail mode decides.
    deadline: Duration,
}

/// How long a create waits for Redis by default: a create is a user's click, and a
/// healthy Redis on the same network answers in well under a millisecond.
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(250);

impl ClusterRateLimiter {
    /// Connects to the Redis at `url` for the limits under the key prefix `prefix`
    /// (`rts:limit:create`); `node` names this node in the members it records. Fails
    /// if Redis cannot be reached now: a node should not start with a limiter it
    /// cannot use. Later outages are what [`FailMode`] is for.
    pub async fn connect(
        url: &str,
        prefix: &str,
        node: &str,
        limit: Limit,
        fail: FailMode,
    ) -> anyhow::Result<ClusterRateLimiter> {
        let limiter = ClusterRateLimiter {
            client: redis::Client::open(url)?,
            connection: Mutex::new(None),
            script: redis::Script::new(SCRIPT),
            prefix: prefix.to_owned(),
            node: node.to_owned(),
            next_member: AtomicU64::new(0),
            limit,
            fail,
            deadline: DEFAULT_DEADLINE,
        };
        tokio::time::timeout(limiter.deadline * 8, limiter.connection())
            .await
            .map_err(|_| anyhow::anyhow!("Redis at {url} did not answer within 2 s"))??;
        Ok(limiter)
    }

    /// The same limiter waiting at most `deadline` for Redis.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The limit every node enforces.
    pub fn limit(&self) -> Limit {
        self.limit
    }

    /// The Redis key holding `user`'s recent creates.
    pub fn key(&self, user: i64) -> String {
        format!("{}:{user}", self.prefix)
    }

    // ANCHOR: try_acquire
    /// Takes one of `user`'s creates in the current window, on every node at once.
    pub async fn try_acquire(&self, user: i64) -> Result<Verdict, Unavailable> {
        // TODO(s3.e13): run `self.script` on `self.key(user)` with the window in ms,
        // `self.limit.max` and `self.member()`, on `self.connection()`, all within
        // `self.deadline` (tokio::time::timeout). A reply `(1, _)` is
        // Verdict::Allowed, `(0, ms)` is Verdict::Limited { retry_after }. An error or
        // no answer in time: `self.forget_connection()`, then `self.unavailable(why)`
        // decides by the fail mode.
        todo!("s3.e13: check and record the create in Redis, in one script")
    }
    // ANCHOR_END: try_acquire

    /// What a create gets when Redis is away, by the fail mode.
    fn unavailable(&self, why: String) -> Result<Verdict, Unavailable> {
        metrics::counter!("rts.limit.unavailable").increment(1);
        match self.fail {
            FailMode::Open => {
                tracing::warn!(why, "rate limiter unavailable: letting the create through");
                Ok(Verdict::Unchecked)
            }
            FailMode::Closed => {
                tracing::warn!(why, "rate limiter unavailable: refusing the create");
                Err(Unavailable(why))
            }
        }
    }

    /// A member name no other create has: this node's name and a counter (two
    /// creates in the same millisecond must both count).
    pub fn member(&self) -> String {
        let n = self.next_member.fetch_add(1, Ordering::Relaxed);
        format!("{}#{n}", self.node)
    }

    /// The connection, made if there is none. A `MultiplexedConnection` is a handle:
    /// clones share one socket, so concurrent creates pipeline on it.
    pub async fn connection(&self) -> redis::RedisResult<MultiplexedConnection> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        // No timeouts of the client's own (it has 1 s to connect and 500 ms per reply
        // by default): `try_acquire`'s deadline is the one bound on a create's wait.
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(None)
            .set_response_timeout(None);
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Drops the connection after an error, so the next create connects again.
    pub async fn forget_connection(&self) {
        *self.connection.lock().await = None;
    }
}
