//! Hardening: Redis killed and restarted on the same port while a node publishes
//! steadily (a message every 2 ms) to another node through a real `redis-server`.
//!
//! `tests/part2.rs` checks one restart with a handful of broadcasts; this one keeps
//! the load on through the outage and checks the accounting of every message:
//!
//! - the publisher's link accounts for each message it was given: published + lost
//!   (counted: queue full, Redis down, PUBLISH failed or timed out) == sent;
//! - the subscriber receives at most what was published (at-most-once: a message
//!   published while it was not subscribed is gone, and only the gap shows it),
//!   in order, never twice;
//! - delivery resumes: once both links are back, every later message arrives.
//!
//! The short version runs in `cargo test`; the long one (longer load, five
//! restarts) with `HARDENING=long`:
//!
//! ```text
//! HARDENING=long cargo test -p section3-production --release --test hardening -- --nocapture
//! ```
//!
//! What it saw (every message's fate, the publisher's counts after each restart)
//! goes to `target/figures/hardening-redis-restart.json`, for the results page
//! (`cargo xtask bench`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cluster::RedisLink;
use figures::section3::{RedisRestartHardening, RestartCycle};
use testkit::redis::RedisServer;
use tokio::time::{Instant, sleep};

fn long() -> bool {
    std::env::var("HARDENING").is_ok_and(|v| v == "long")
}

const EVERY: Duration = Duration::from_millis(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_under_load_resumes_and_counts_every_loss() {
    let Some(mut redis) = RedisServer::start("hardening: Redis restarted under load") else {
        return;
    };
    let restarts = if long() { 5 } else { 1 };
    let received: Arc<Mutex<Vec<u64>>> = Arc::default();
    let sink = received.clone();
    let subscriber = RedisLink::connect(&redis.url(), "rts:hardening", move |bytes| {
        let n = std::str::from_utf8(bytes).unwrap().parse().unwrap();
        sink.lock().unwrap().push(n);
    })
    .await
    .unwrap();
    let publisher = RedisLink::connect(&redis.url(), "rts:hardening", |_| {})
        .await
        .unwrap();

    let mut sent = 0u64;
    let mut cycles = Vec::new();
    for cycle in 0..restarts {
        // Load before the outage.
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until {
            publisher.publish(sent.to_string().into_bytes());
            sent += 1;
            sleep(EVERY).await;
        }
        // Kill Redis (no goodbye) and keep publishing through the outage.
        redis.stop();
        let until = Instant::now() + Duration::from_millis(700);
        while Instant::now() < until {
            publisher.publish(sent.to_string().into_bytes());
            sent += 1;
            sleep(EVERY).await;
        }
        redis.restart();
        // Keep publishing until both links are back; at most 15 s.
        let deadline = Instant::now() + Duration::from_secs(15);
        while !(subscriber.is_subscribed() && publisher.is_subscribed()) {
            assert!(
                Instant::now() < deadline,
                "cycle {cycle}: the links did not resubscribe within 15 s of Redis restarting"
            );
            publisher.publish(sent.to_string().into_bytes());
            sent += 1;
            sleep(EVERY).await;
        }
        let s = publisher.stats();
        eprintln!("cycle {cycle}: Redis back, {sent} sent so far, {s:?}");
        cycles.push(RestartCycle {
            sent,
            published: s.published,
            lost: s.lost,
            resubscribed: s.resubscribed,
        });
    }
    // Load after the last restart: this tail must be delivered in full.
    let tail_from = {
        // The first messages after resubscribing may meet a publish connection that
        // has not noticed the restart yet: give it a moment under load.
        let until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < until {
            publisher.publish(sent.to_string().into_bytes());
            sent += 1;
            sleep(EVERY).await;
        }
        sent
    };
    for _ in 0..500 {
        publisher.publish(sent.to_string().into_bytes());
        sent += 1;
        sleep(EVERY).await;
    }

    // Every message the publisher was given is published or counted as lost.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = publisher.stats();
        if s.published + s.lost == sent {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the publisher was given {sent} messages but accounts for {} published + {} \
             lost: a message vanished without a count ({s:?})",
            s.published,
            s.lost
        );
        sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap().last() != Some(&(sent - 1)) && Instant::now() < deadline {
        sleep(Duration::from_millis(20)).await;
    }
    let stats = publisher.stats();
    let got = received.lock().unwrap().clone();
    eprintln!(
        "{restarts} restart(s): sent {sent}, published {}, lost (counted) {}, received {}, \
         lost unseen by the publisher (published while the subscriber was away) {}",
        stats.published,
        stats.lost,
        got.len(),
        stats.published - got.len() as u64
    );
    // Written before the checks, so a failing run still shows what it saw.
    let seen = RedisRestartHardening {
        sent,
        published: stats.published,
        lost: stats.lost,
        received: got.len() as u64,
        tail: sent - tail_from,
        restarts: cycles,
    };
    figures::write(&seen, None).expect("write what the test saw to its figures file");
    assert!(
        stats.lost > 0,
        "messages sent while Redis was down must be counted as lost"
    );
    assert!(
        got.len() as u64 <= stats.published,
        "received {} but only {} were published",
        got.len(),
        stats.published
    );
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "messages arrived out of order or twice"
    );
    let tail: Vec<u64> = got.iter().copied().filter(|n| *n >= tail_from).collect();
    assert_eq!(
        tail,
        (tail_from..sent).collect::<Vec<_>>(),
        "after Redis came back every message must be delivered again ({} of {} arrived)",
        tail.len(),
        sent - tail_from
    );
}
