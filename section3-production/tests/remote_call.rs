//! s3.e11: a call to a member of a named group on another node, through a real
//! `redis-server` (started on a free loopback port by the test kit). Two nodes live
//! in this process, each with its own Redis connections, as two machines would.

use std::sync::Arc;
use std::time::Duration;

use cluster::groups::{Groups, Member, Outcome, Refusal};
use cluster::queries::Membership;
use serde_json::{Value, json};
use testkit::exercise;
use testkit::redis::RedisServer;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Heartbeats every 100 ms, forgotten after 1 s of silence (ten missed
/// heartbeats: a loaded machine must not make a live node look dead).
const FAST: Membership = Membership {
    heartbeat: Duration::from_millis(100),
    expiry: Duration::from_secs(1),
};

async fn node(redis: &RedisServer, name: &str, membership: Membership) -> Arc<Groups> {
    let groups = Groups::connect(&redis.url(), name, membership)
        .await
        .expect("connect to our redis-server");
    tokio::time::timeout(Duration::from_secs(5), groups.ready())
        .await
        .expect("a node hears its own heartbeat within 5 s");
    Arc::new(groups)
}

/// A member that answers every request with its node's name and the request.
fn answering(mut member: Member, node: &'static str) {
    tokio::spawn(async move {
        while let Some(request) = member.recv().await {
            let body = request.body.clone();
            request.reply(json!({ "node": node, "asked": body }));
        }
    });
}

/// A member that takes requests and never answers (a stuck process): it keeps
/// each one, and says on `taken` that it has it.
fn stuck(mut member: Member, taken: mpsc::Sender<()>) {
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Some(request) = member.recv().await {
            held.push(request);
            let _ = taken.try_send(());
        }
    });
}

/// Two nodes on `redis`: `app`, and `backend` hosting a stuck `pricing` member that
/// `app` already knows of; the receiver hears of each request the member takes.
async fn app_and_stuck_backend(
    redis: &RedisServer,
    membership: Membership,
) -> (Arc<Groups>, Arc<Groups>, mpsc::Receiver<()>) {
    let app = node(redis, "app@127.0.0.1", membership).await;
    let backend = node(redis, "backend@127.0.0.1", membership).await;
    let (taken, took) = mpsc::channel(8);
    stuck(backend.join("pricing", 16), taken);
    until("app to learn that backend hosts pricing", || {
        app.members_of("pricing").contains("backend@127.0.0.1")
    })
    .await;
    (app, backend, took)
}

/// Waits up to 5 s for `condition`, then fails naming `what`.
async fn until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "waited 5 s for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the stuck member holds the call made by `pending`; a call that ended
/// first (or panicked) is reported as such.
async fn taken_by_member<T: std::fmt::Debug>(
    took: &mut mpsc::Receiver<()>,
    pending: &mut tokio::task::JoinHandle<T>,
) {
    tokio::select! {
        _ = took.recv() => {}
        ended = &mut *pending => match ended {
            Err(crash) if crash.is_panic() => std::panic::resume_unwind(crash.into_panic()),
            ended => panic!(
                "the call ended with {ended:?} before backend's member received it: \
                 backend hosts a member of pricing, send the call there"
            ),
        },
        () = tokio::time::sleep(Duration::from_secs(5)) => {
            panic!("backend's member did not receive the call within 5 s")
        }
    }
}

/// The member's next request, within 5 s.
async fn receive(member: &mut Member) -> cluster::groups::Request {
    tokio::time::timeout(Duration::from_secs(5), member.recv())
        .await
        .expect("the member received nothing within 5 s")
        .expect("the node's groups are alive")
}

/// The transport, not the exercise: the deadline travels with a call, and a member
/// never sees a request whose caller stopped waiting while it sat in the mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_request_is_never_run() {
    let Some(redis) = RedisServer::start("groups: expired requests") else {
        return;
    };
    let app = node(&redis, "app@127.0.0.1", FAST).await;
    let backend = node(&redis, "backend@127.0.0.1", FAST).await;
    let mut member = backend.join("pricing", 16);
    until("app to learn that backend hosts pricing", || {
        app.members_of("pricing").contains("backend@127.0.0.1")
    })
    .await;
    // Through Redis, the budget arrives as a deadline on the backend's clock.
    let asked = Instant::now();
    let first = app.request(
        "backend@127.0.0.1",
        "pricing",
        json!(1),
        asked + Duration::from_secs(10),
    );
    let busy = receive(&mut member).await;
    let left = busy.deadline().saturating_duration_since(asked);
    assert!(
        (Duration::from_secs(9)..=Duration::from_millis(10_500)).contains(&left),
        "app called with 10 s to go; the member's deadline is {left:?} after the call: \
         the call must carry its remaining time and the node add it to its own clock"
    );

    // While the member is busy, two more wait in its mailbox (a call to its own node
    // is queued at once): one whose caller waits 200 ms, one with time to spare.
    let short = backend.request(
        "backend@127.0.0.1",
        "pricing",
        json!(2),
        Instant::now() + Duration::from_millis(200),
    );
    let patient = backend.request(
        "backend@127.0.0.1",
        "pricing",
        json!(3),
        Instant::now() + Duration::from_secs(10),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    busy.reply(json!("one"));
    assert_eq!(first.await, Outcome::Answer(json!("one")));

    let next = receive(&mut member).await;
    assert_eq!(
        next.body,
        json!(3),
        "request 2's caller gave up after 200 ms, while the member was busy for 1 s: \
         `Member::recv` must skip it and hand over request 3"
    );
    next.reply(json!("three"));
    assert_eq!(patient.await, Outcome::Answer(json!("three")));
    assert_eq!(
        short.await,
        Outcome::Refused(Refusal::Expired),
        "a skipped request tells its caller why (had it still listened)"
    );
    assert_eq!(app.calls_in_flight() + backend.calls_in_flight(), 0);
}

#[exercise(section3_production)]
mod e11_remote_call {
    use super::*;
    use imp::part3::e11_remote_call::{CallError, call};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_reaches_a_member_on_the_other_node() {
        let Some(redis) = RedisServer::start("s3.e11 remote call") else {
            return;
        };
        let app = node(&redis, "app@127.0.0.1", FAST).await;
        let backend = node(&redis, "backend@127.0.0.1", FAST).await;
        answering(backend.join("pricing", 16), "backend");
        until("app to learn that backend hosts pricing", || {
            app.members_of("pricing").contains("backend@127.0.0.1")
        })
        .await;

        let answer = call(
            &app,
            "pricing",
            json!({"sku": 42}),
            Duration::from_secs(5),
            0,
        )
        .await;
        assert_eq!(
            answer,
            Ok(json!({"node": "backend", "asked": {"sku": 42}})),
            "app called group pricing, whose only member is on backend: expected that \
             member's answer. Choose a node from `groups.members_of(group)`, send with \
             `groups.request(&node, group, body, deadline)` and await the outcome"
        );

        // A member on the caller's own node is preferred: no hop through Redis.
        answering(app.join("pricing", 16), "app");
        let answer = call(
            &app,
            "pricing",
            json!({"sku": 7}),
            Duration::from_secs(5),
            1,
        )
        .await;
        assert_eq!(
            answer,
            Ok(json!({"node": "app", "asked": {"sku": 7}})),
            "app hosts a member of pricing too: `choose` must prefer this node \
             (`groups.node()`) when `members_of` contains it"
        );
        assert_eq!(
            app.calls_in_flight(),
            0,
            "a finished call left its entry behind"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_with_no_member_fails_fast_by_name() {
        let Some(redis) = RedisServer::start("s3.e11 no member") else {
            return;
        };
        let app = node(&redis, "app@127.0.0.1", FAST).await;
        let _backend = node(&redis, "backend@127.0.0.1", FAST).await;
        let started = Instant::now();
        let result = call(&app, "invoices", json!({}), Duration::from_secs(5), 0).await;
        assert_eq!(
            result,
            Err(CallError::NoMember {
                group: "invoices".into()
            }),
            "nobody joined group invoices: the call must fail with NoMember naming the \
             group, without sending anything"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a call to a group without members took {:?}: with nobody to ask there is \
             nothing to wait for, return NoMember at once (not at the 5 s deadline)",
            started.elapsed()
        );
        assert_eq!(app.calls_in_flight(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stuck_member_fails_the_call_by_its_deadline() {
        let Some(redis) = RedisServer::start("s3.e11 stuck member") else {
            return;
        };
        let (app, _backend, mut took) = app_and_stuck_backend(&redis, FAST).await;

        let limit = Duration::from_millis(300);
        let started = Instant::now();
        let result = tokio::time::timeout(
            Duration::from_secs(10),
            call(&app, "pricing", json!({"sku": 1}), limit, 0),
        )
        .await
        .expect(
            "a call with a 300 ms deadline to a member that never answers was still \
             waiting after 10 s: the outcome may never come, so race it against \
             `sleep_until(deadline)` (tokio::select!)",
        );
        let elapsed = started.elapsed();
        assert_eq!(
            result,
            Err(CallError::Timeout {
                node: "backend@127.0.0.1".into(),
                after: limit
            }),
            "backend is alive but its member never answers: expected Timeout naming \
             backend and the limit"
        );
        assert!(
            elapsed >= limit,
            "the call gave up after {elapsed:?}, before its 300 ms deadline"
        );
        assert!(
            took.try_recv().is_ok(),
            "the stuck member never received the request"
        );
        assert_eq!(
            app.calls_in_flight(),
            0,
            "the timed-out call is still in app's table: drop the pending call when \
             giving up (returning from the function does)"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_crashed_node_fails_the_call_before_its_deadline() {
        let Some(redis) = RedisServer::start("s3.e11 crashed node") else {
            return;
        };
        let (app, backend, mut took) = app_and_stuck_backend(&redis, FAST).await;

        let caller = app.clone();
        let started = Instant::now();
        let mut pending = tokio::spawn(async move {
            call(
                &caller,
                "pricing",
                json!({"sku": 1}),
                Duration::from_secs(10),
                0,
            )
            .await
        });
        taken_by_member(&mut took, &mut pending).await;
        // backend crashes: no goodbye, its heartbeat stops; app notices at expiry.
        drop(backend);
        let result = tokio::time::timeout(Duration::from_secs(8), &mut pending)
            .await
            .expect(
                "backend crashed 8 s ago (its heartbeat expires after 1 s) and the call \
                 is still waiting for its 10 s deadline: race `groups.gone(&node)` too, \
                 so a dead node ends the wait at once",
            )
            .expect("the call task panicked");
        assert_eq!(
            result,
            Err(CallError::NodeDown {
                node: "backend@127.0.0.1".into()
            }),
            "backend crashed while holding the request: expected NodeDown naming it"
        );
        assert!(started.elapsed() < Duration::from_secs(8));
        assert_eq!(
            app.calls_in_flight(),
            0,
            "the failed call left its entry behind"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn membership_follows_a_node_leaving() {
        let Some(redis) = RedisServer::start("s3.e11 node leaving") else {
            return;
        };
        // A long expiry: only the goodbye can make app forget backend in time.
        let slow_expiry = Membership {
            heartbeat: Duration::from_millis(100),
            expiry: Duration::from_secs(30),
        };
        let (app, backend, mut took) = app_and_stuck_backend(&redis, slow_expiry).await;

        let caller = app.clone();
        let mut pending = tokio::spawn(async move {
            call(
                &caller,
                "pricing",
                json!({"sku": 1}),
                Duration::from_secs(20),
                0,
            )
            .await
        });
        taken_by_member(&mut took, &mut pending).await;
        backend.leave().await;
        let result = tokio::time::timeout(Duration::from_secs(5), &mut pending)
            .await
            .expect(
                "backend said goodbye 5 s ago and the call still waits for its 20 s \
                 deadline: `groups.gone(&node)` completes on a goodbye, race it",
            )
            .expect("the call task panicked");
        assert_eq!(
            result,
            Err(CallError::NodeDown {
                node: "backend@127.0.0.1".into()
            }),
            "backend left the cluster with the request unanswered: expected NodeDown"
        );
        assert!(
            app.members_of("pricing").is_empty(),
            "after backend's goodbye app still lists {:?} in pricing",
            app.members_of("pricing")
        );
        let result: Result<Value, CallError> =
            call(&app, "pricing", json!({}), Duration::from_secs(5), 0).await;
        assert_eq!(
            result,
            Err(CallError::NoMember {
                group: "pricing".into()
            }),
            "backend left, pricing has no member left: expected NoMember"
        );
        assert_eq!(app.calls_in_flight(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_frozen_redis_times_out_and_leaks_nothing() {
        let Some(redis) = RedisServer::start("s3.e11 frozen redis") else {
            return;
        };
        // Expiry well beyond the freeze: both nodes stay members, so what the call
        // meets is silence, not a node that is gone.
        let patient = Membership {
            heartbeat: Duration::from_millis(100),
            expiry: Duration::from_secs(30),
        };
        let app = node(&redis, "app@127.0.0.1", patient).await;
        let backend = node(&redis, "backend@127.0.0.1", patient).await;
        answering(backend.join("pricing", 16), "backend");
        until("app to learn that backend hosts pricing", || {
            app.members_of("pricing").contains("backend@127.0.0.1")
        })
        .await;

        redis.freeze();
        let limit = Duration::from_millis(300);
        let result = tokio::time::timeout(
            Duration::from_secs(10),
            call(&app, "pricing", json!({"sku": 3}), limit, 0),
        )
        .await;
        redis.thaw();
        let result = result.expect(
            "with Redis frozen, a call with a 300 ms deadline still waited after 10 s: \
             bound the wait with the deadline whatever the transport does",
        );
        assert_eq!(
            result,
            Err(CallError::Timeout {
                node: "backend@127.0.0.1".into(),
                after: limit
            }),
            "Redis froze: nothing comes back, the node is still a member: expected Timeout"
        );
        assert_eq!(
            app.calls_in_flight(),
            0,
            "the timed-out call leaked its entry"
        );

        // The late reply to the first call finds nobody waiting; the next call works.
        let answer = call(
            &app,
            "pricing",
            json!({"sku": 4}),
            Duration::from_secs(5),
            0,
        )
        .await;
        assert_eq!(answer, Ok(json!({"node": "backend", "asked": {"sku": 4}})));
        assert_eq!(app.calls_in_flight(), 0);
    }
}
