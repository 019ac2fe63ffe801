//! s3.e13: one rate limit per user shared by every node, through a real
//! `redis-server` (started on a free loopback port by the test kit).

use std::sync::Arc;
use std::time::{Duration, Instant};

use testkit::exercise;
use testkit::redis::RedisServer;

#[exercise(section3_production)]
mod e13_cluster_limit {
    use super::*;
    use imp::part3::e13_cluster_limit::{ClusterRateLimiter, FailMode, Limit, Verdict};

    const NODES: [&str; 3] = ["app@127.0.0.1", "backend@127.0.0.1", "worker@127.0.0.1"];

    /// One limiter per node, each with its own connection, on `redis` under a key
    /// prefix of this test's own.
    async fn nodes(redis: &RedisServer, test: &str, limit: Limit) -> Vec<Arc<ClusterRateLimiter>> {
        let mut nodes = Vec::new();
        for node in NODES {
            let limiter = ClusterRateLimiter::connect(
                &redis.url(),
                &format!("test:{test}"),
                node,
                limit,
                FailMode::Closed,
            )
            .await
            .expect("connect to our redis-server");
            nodes.push(Arc::new(limiter));
        }
        nodes
    }

    /// `try_acquire`, with a message that names the Redis error (the start code's
    /// script answers `TODO(s3.e13)`).
    async fn acquire(limiter: &ClusterRateLimiter, user: i64) -> Verdict {
        limiter.try_acquire(user).await.unwrap_or_else(|e| {
            panic!(
                "try_acquire({user}) with Redis up answered Err({e}): Redis refused the \
                 call. Is SCRIPT written, and does it return {{1, 0}} or {{0, ms}}?"
            )
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn three_nodes_share_one_limit_per_user() {
        let Some(redis) = RedisServer::start("s3.e13 three nodes") else {
            return;
        };
        let limit = Limit {
            max: 5,
            window: Duration::from_secs(60),
        };
        let nodes = nodes(&redis, "share", limit).await;
        let mut verdicts = Vec::new();
        for attempt in 0..12 {
            verdicts.push(acquire(&nodes[attempt % 3], 7).await);
        }
        let allowed = verdicts.iter().filter(|v| **v == Verdict::Allowed).count();
        assert_eq!(
            allowed, 5,
            "12 creates by user 7, taken in turn on three nodes, with a limit of 5 per \
             60 s: {allowed} were allowed ({verdicts:?}). The limit is one for the \
             whole cluster: every node must count in the same Redis key"
        );
        assert!(
            verdicts[..5].iter().all(|v| *v == Verdict::Allowed),
            "the first five must be the allowed ones: {verdicts:?}"
        );
        for verdict in &verdicts[5..] {
            let Verdict::Limited { retry_after } = verdict else {
                panic!("after the limit, every create is Limited: {verdicts:?}");
            };
            assert!(
                *retry_after > Duration::ZERO && *retry_after <= limit.window,
                "retry_after is the time until the oldest create leaves the 60 s \
                 window: got {retry_after:?}"
            );
        }
        assert_eq!(
            acquire(&nodes[1], 8).await,
            Verdict::Allowed,
            "another user has a limit of their own"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_creates_on_every_node_never_pass_the_limit() {
        let Some(redis) = RedisServer::start("s3.e13 concurrent") else {
            return;
        };
        let limit = Limit {
            max: 10,
            window: Duration::from_secs(60),
        };
        let nodes = nodes(&redis, "race", limit).await;
        // Many creates in flight at once on each node's connection: a check and a
        // record made in two round trips let several nodes take the last slot.
        let mut attempts = tokio::task::JoinSet::new();
        for attempt in 0..300 {
            let node = nodes[attempt % 3].clone();
            attempts.spawn(async move { node.try_acquire(42).await });
        }
        let mut allowed = 0;
        while let Some(verdict) = attempts.join_next().await {
            let verdict = verdict.unwrap_or_else(|e| {
                let text = testkit::panics::message(&*e.into_panic());
                panic!("a create panicked inside try_acquire: {text}")
            });
            let verdict = verdict.unwrap_or_else(|e| {
                panic!("with Redis up, a create answered Err({e}): is SCRIPT written?")
            });
            if verdict == Verdict::Allowed {
                allowed += 1;
            }
        }
        assert_eq!(
            allowed, 10,
            "300 creates by one user at once, 100 on each of three nodes, limit 10: \
             {allowed} were allowed. The check and the record must be one step on the \
             Redis server (one script), or two nodes can both see 9 and both record"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_window_slides_and_the_key_expires() {
        let Some(redis) = RedisServer::start("s3.e13 window") else {
            return;
        };
        // Real time: Redis keeps the clock. The window is long enough that a loaded
        // machine cannot let it pass between two creates.
        let limit = Limit {
            max: 2,
            window: Duration::from_secs(3),
        };
        let nodes = nodes(&redis, "window", limit).await;
        let first = Instant::now();
        assert_eq!(acquire(&nodes[0], 1).await, Verdict::Allowed);
        assert_eq!(acquire(&nodes[1], 1).await, Verdict::Allowed);
        let Verdict::Limited { retry_after } = acquire(&nodes[2], 1).await else {
            panic!(
                "a third create within {:?} of the first must be Limited (limit 2 per 3 s)",
                first.elapsed()
            );
        };
        // The key must not outlive the window: a user who stops costs Redis nothing.
        let mut direct = redis::Client::open(redis.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let ttl: i64 = redis::cmd("PTTL")
            .arg(nodes[0].key(1))
            .query_async(&mut direct)
            .await
            .unwrap();
        assert!(
            ttl > 0 && ttl <= 3000,
            "the user's key must expire with the window (PEXPIRE): PTTL is {ttl} ms \
             (-1: no expiry, -2: no key)"
        );
        // Once the oldest create has left the window, one more is allowed.
        tokio::time::sleep(retry_after + Duration::from_millis(100)).await;
        assert_eq!(
            acquire(&nodes[2], 1).await,
            Verdict::Allowed,
            "retry_after ({retry_after:?}) has passed: the first create left the window, \
             so a slot is free again"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_away_fails_open_or_closed_by_the_deadline_then_recovers() {
        let Some(mut redis) = RedisServer::start("s3.e13 redis away") else {
            return;
        };
        let limit = Limit {
            max: 100,
            window: Duration::from_secs(60),
        };
        let deadline = Duration::from_millis(200);
        let connect = |fail| {
            let url = redis.url();
            async move {
                ClusterRateLimiter::connect(&url, "test:away", "app@127.0.0.1", limit, fail)
                    .await
                    .unwrap()
                    .with_deadline(deadline)
            }
        };
        let open = connect(FailMode::Open).await;
        let closed = connect(FailMode::Closed).await;
        assert_eq!(acquire(&open, 1).await, Verdict::Allowed);

        // A frozen Redis answers nothing: the create must not wait for it.
        redis.freeze();
        let asked = Instant::now();
        let verdict = tokio::time::timeout(Duration::from_secs(5), open.try_acquire(1))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "Redis frozen: the create still waits after 5 s; bound the call \
                     with tokio::time::timeout(self.deadline, ...)"
                )
            });
        let waited = asked.elapsed();
        assert_eq!(
            verdict,
            Ok(Verdict::Unchecked),
            "Redis frozen, FailMode::Open: the create goes through uncounted"
        );
        assert!(
            waited < Duration::from_secs(2),
            "Redis frozen: the create waited {waited:?}; it must give up at its \
             deadline ({deadline:?}) with tokio::time::timeout"
        );
        let refused = tokio::time::timeout(Duration::from_secs(5), closed.try_acquire(1)).await;
        match refused.expect("Redis frozen: a create must give up at its deadline") {
            Err(unavailable) => assert!(
                !unavailable.0.is_empty(),
                "Unavailable must say why, for the client and the log"
            ),
            Ok(verdict) => panic!(
                "Redis frozen, FailMode::Closed: the create must be refused with \
                 Err(Unavailable(why)), got Ok({verdict:?})"
            ),
        }
        redis.thaw();

        // A crashed and restarted Redis: the old connection is broken; the limiter
        // must connect again by itself.
        redis.stop();
        assert_eq!(open.try_acquire(1).await, Ok(Verdict::Unchecked));
        redis.restart();
        let mut verdict = open.try_acquire(1).await;
        for _ in 0..20 {
            if verdict == Ok(Verdict::Allowed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            verdict = open.try_acquire(1).await;
        }
        assert_eq!(
            verdict,
            Ok(Verdict::Allowed),
            "Redis is back: creates must be counted again (drop the broken connection \
             after an error, so the next create connects anew)"
        );
    }
}
