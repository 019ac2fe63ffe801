//! Exercise tests for section 2, part 2: a rate limit in channel state (s2.e6), an
//! authenticated socket (s2.e8), a channel only its own user may join (s2.e9), and a
//! channel that pushes on a timer (s2.e10).
//!
//! Written once, instantiated for your code (`start`, run by `cargo xtask check`)
//! and the reference (`solution`). Timers run on tokio's paused clock, except in
//! s2.e6: its creates go to a real database, whose connection pool waits with a
//! timeout that a paused clock would skip, so s2.e6 runs on the real clock with a
//! 300 ms window and generous margins.

use std::time::Duration;

use activity::ActivityStore;
use activity::feed::RateLimitWindow;
use channels::client::{ChannelClient, ConnectError, reply_response, reply_status};
use channels::endpoint::Refused;
use channels::token::TokenSigner;
use channels::{Endpoint, Server};
use section2_channels::app::{self, App, Implementation};
use serde_json::json;
use testkit::exercise;

const USER: i64 = 7;
const DAY_MS: i64 = 86_400_000;

async fn app(implementation: Implementation) -> App {
    app::new(implementation, "app@127.0.0.1", store().await)
}

async fn store() -> ActivityStore {
    ActivityStore::open("sqlite::memory:")
        .await
        .expect("an in-memory store")
}

fn now_ms() -> i64 {
    channels::token::now_ms()
}

/// An endpoint with `implementation`'s part 2 channels behind the *reference*
/// `connect`, so s2.e9 and s2.e10 do not depend on your s2.e8.
fn channels_endpoint(
    implementation: Implementation,
    signer: &TokenSigner,
    store: &ActivityStore,
) -> Endpoint {
    Endpoint::builder(app::auth_channels(
        implementation,
        signer.clone(),
        store.clone(),
    ))
    .handler(app::auth_handler(Implementation::Solution, signer.clone()))
    .build()
}

fn connect_as(endpoint: &Endpoint, signer: &TokenSigner, user: i64) -> ChannelClient {
    let token = signer.sign(&user).unwrap();
    endpoint
        .connect_in_memory(&[("token", &token)])
        .expect("the reference connect accepts a fresh token")
}

fn refused(result: Result<ChannelClient, Refused>) -> String {
    match result {
        Err(Refused(reason)) => reason,
        Ok(_) => "accepted".into(),
    }
}

const WINDOW: Duration = Duration::from_millis(300);

/// An endpoint with `implementation`'s feed channels and a short rate-limit window.
async fn limited_feed(implementation: Implementation) -> (Endpoint, ActivityStore) {
    let store = ActivityStore::open("sqlite::memory:")
        .await
        .expect("an in-memory store");
    let router = app::channels(implementation, store.clone()).state(RateLimitWindow(WINDOW));
    (Endpoint::builder(router).build(), store)
}

fn activity(who: &str) -> serde_json::Value {
    json!({"who": who, "what": "opened a ticket", "type": "support_request", "customer_tier": "pro"})
}

#[exercise(section2_channels)]
mod e06_rate_limit {
    use super::*;

    #[tokio::test]
    async fn a_second_create_within_the_window_is_rate_limited() {
        let (endpoint, store) = limited_feed(IMPLEMENTATION).await;
        let mut tab = endpoint.connect_in_memory(&[]).unwrap();
        let mut dashboard = endpoint.connect_in_memory(&[]).unwrap();
        tab.join("feed:limited", json!({})).await;
        dashboard.join("feed", json!({})).await;
        let first = tab
            .call("feed:limited", "create_activity", activity("Ada L."))
            .await;
        assert_eq!(
            reply_status(&first),
            Some("ok"),
            "the first create is allowed, got {}. A phx_error in the transcript means your \
             handle_in panicked.\n{}",
            reply_response(&first),
            tab.transcript()
        );
        assert_eq!(
            dashboard.next_frame().await.event,
            "activity.created",
            "the create reached the feed"
        );
        let second = tab
            .call("feed:limited", "create_activity", activity("Ada L."))
            .await;
        assert_eq!(
            (reply_status(&second), reply_response(&second)),
            (Some("error"), &json!({"reason": "rate limit exceeded"})),
            "a second create right after the first must be refused with \
             {{\"reason\": \"rate limit exceeded\"}}"
        );
        assert_eq!(
            store.count().await.unwrap(),
            1,
            "the refused create must not reach the store"
        );
    }

    #[tokio::test]
    async fn the_timer_clears_the_limit() {
        let (endpoint, store) = limited_feed(IMPLEMENTATION).await;
        let mut tab = endpoint.connect_in_memory(&[]).unwrap();
        tab.join("feed:limited", json!({})).await;
        let first = tab
            .call("feed:limited", "create_activity", activity("Ada L."))
            .await;
        assert_eq!(reply_status(&first), Some("ok"), "{}", tab.transcript());
        tokio::time::sleep(WINDOW + Duration::from_millis(400)).await;
        let again = tab
            .call("feed:limited", "create_activity", activity("Ada L."))
            .await;
        assert_eq!(
            reply_status(&again),
            Some("ok"),
            "after the window ({WINDOW:?}) a create must be allowed again, got {}. Send \
             yourself a message with ctx.send_after and clear the flag in handle_info.",
            reply_response(&again)
        );
        assert_eq!(store.count().await.unwrap(), 2);
    }

    #[tokio::test]
    async fn invalid_data_does_not_count_and_each_tab_has_its_own_limit() {
        let (endpoint, _store) = limited_feed(IMPLEMENTATION).await;
        let mut tab = endpoint.connect_in_memory(&[]).unwrap();
        let mut other_tab = endpoint.connect_in_memory(&[]).unwrap();
        tab.join("feed:limited", json!({})).await;
        other_tab.join("feed:limited", json!({})).await;
        let invalid = tab
            .call("feed:limited", "create_activity", json!({"who": ""}))
            .await;
        assert_eq!(
            reply_response(&invalid)["reason"],
            "invalid activity data",
            "{}",
            tab.transcript()
        );
        let valid = tab
            .call("feed:limited", "create_activity", activity("Ada L."))
            .await;
        assert_eq!(
            reply_status(&valid),
            Some("ok"),
            "a rejected (invalid) create must not start the limit, got {}",
            reply_response(&valid)
        );
        // The limit lives in the channel: another tab (connection) is not limited.
        let other = other_tab
            .call("feed:limited", "create_activity", activity("Ada L."))
            .await;
        assert_eq!(
            reply_status(&other),
            Some("ok"),
            "the limit is per channel, so another connection may still create, got {}",
            reply_response(&other)
        );
    }
}

/// The authenticated socket's channels with a short window, and a signer.
async fn per_user_feed(implementation: Implementation) -> (Endpoint, TokenSigner, ActivityStore) {
    let app = app(implementation).await;
    let store = store().await;
    let router = app::auth_channels(implementation, app.signer.clone(), store.clone())
        .state(RateLimitWindow(WINDOW));
    let endpoint = Endpoint::builder(router)
        .handler(app::auth_handler(
            Implementation::Solution,
            app.signer.clone(),
        ))
        .build();
    (endpoint, app.signer, store)
}

async fn create_as(client: &mut ChannelClient, who: &str) -> serde_json::Value {
    let reply = client
        .call("feed:limited", "create_activity", activity(who))
        .await;
    if reply_status(&reply).is_none() {
        panic!("no reply status: {reply:?}\n{}", client.transcript());
    }
    json!({"status": reply_status(&reply), "response": reply_response(&reply)})
}

#[exercise(section2_channels)]
mod e07_user_rate_limit {
    use super::*;

    #[tokio::test]
    async fn one_limit_per_user_across_tabs_and_reconnects() {
        let (endpoint, signer, store) = per_user_feed(IMPLEMENTATION).await;
        let mut tab = connect_as(&endpoint, &signer, USER);
        let mut other_tab = connect_as(&endpoint, &signer, USER);
        tab.join("feed:limited", json!({})).await;
        other_tab.join("feed:limited", json!({})).await;
        let first = create_as(&mut tab, "Ada L.").await;
        assert_eq!(
            first["status"],
            "ok",
            "the user's first create is allowed: {first}\n{}",
            tab.transcript()
        );
        let limited = json!({"status": "error", "response": {"reason": "rate limit exceeded"}});
        assert_eq!(
            create_as(&mut other_tab, "Ada L.").await,
            limited,
            "the same user in another tab is limited too: the limit belongs to the user, \
             not to the channel"
        );
        // A reconnect is a new socket and a new channel, same user: still limited.
        tab.close().await;
        let mut reconnected = connect_as(&endpoint, &signer, USER);
        reconnected.join("feed:limited", json!({})).await;
        assert_eq!(
            create_as(&mut reconnected, "Ada L.").await,
            limited,
            "reconnecting must not reset the user's limit"
        );
        tokio::time::sleep(WINDOW + Duration::from_millis(400)).await;
        let later = create_as(&mut reconnected, "Ada L.").await;
        assert_eq!(
            later["status"], "ok",
            "after the window the user may create again: {later}"
        );
        assert_eq!(store.count().await.unwrap(), 2);
    }

    #[tokio::test]
    async fn each_user_has_their_own_limit_and_failed_creates_do_not_count() {
        let (endpoint, signer, _store) = per_user_feed(IMPLEMENTATION).await;
        let mut ada = connect_as(&endpoint, &signer, USER);
        let mut bob = connect_as(&endpoint, &signer, USER + 1);
        ada.join("feed:limited", json!({})).await;
        bob.join("feed:limited", json!({})).await;
        let invalid = ada
            .call("feed:limited", "create_activity", json!({"who": ""}))
            .await;
        assert_eq!(
            reply_response(&invalid)["reason"],
            "invalid activity data",
            "{}",
            ada.transcript()
        );
        let ada_first = create_as(&mut ada, "Ada L.").await;
        assert_eq!(
            ada_first["status"], "ok",
            "an invalid create must not use up the user's window: {ada_first}"
        );
        let bob_first = create_as(&mut bob, "Bob K.").await;
        assert_eq!(
            bob_first["status"], "ok",
            "another user is not limited by this one: {bob_first}"
        );
    }

    #[test]
    fn the_limiter_checks_and_sets_in_one_step() {
        // 8 threads call `try_acquire` for the same user at the same instant, in
        // ROUNDS rounds, each on a fresh limiter, started together by a barrier. A
        // check and a record under two separate locks leave a gap of nanoseconds
        // between them: one round rarely hits it, thousands of rounds do (such a
        // limiter let two pass in 24 to 47 of 5,000 rounds over ten runs here).
        const ROUNDS: usize = 5_000;
        const TABS: usize = 8;
        macro_rules! race {
            ($limiter:ty) => {{
                let acquire =
                    |limiter: &$limiter| limiter.try_acquire(USER, Duration::from_secs(60)).is_ok();
                // One call first: an unfinished `try_acquire` panics once, not 40,000 times.
                match std::panic::catch_unwind(|| acquire(&<$limiter>::new())) {
                    Err(payload) => {
                        vec![vec![Err(testkit::panics::message(&*payload).to_string())]]
                    }
                    Ok(_) => {
                        let limiters: Vec<$limiter> =
                            (0..ROUNDS).map(|_| <$limiter>::new()).collect();
                        race_in_rounds(&limiters, TABS, acquire)
                    }
                }
            }};
        }
        let calls = match IMPLEMENTATION {
            Implementation::Start => {
                race!(section2_channels::start::part2::e07_user_rate_limit::UserRateLimiter)
            }
            Implementation::Solution => {
                race!(section2_channels::solution::part2::e07_user_rate_limit::UserRateLimiter)
            }
        };
        if let Some(Err(message)) = calls.iter().flatten().find(|call| call.is_err()) {
            panic!(
                "UserRateLimiter::try_acquire panicked instead of answering: {message}\n    \
                 Expected: for {TABS} simultaneous calls for the same user, exactly one \
                 Ok(()) and {} Err(Limited). Change try_acquire in \
                 section2-channels/src/start/part2/e07_user_rate_limit.rs: under one lock, \
                 look up the user's last create and either refuse or record now.",
                TABS - 1
            );
        }
        let allowed: Vec<usize> = (0..ROUNDS)
            .map(|round| calls.iter().filter(|tab| tab[round] == Ok(true)).count())
            .collect();
        let wrong: Vec<(usize, usize)> = allowed
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, n)| n != 1)
            .collect();
        assert!(
            wrong.is_empty(),
            "{TABS} tabs creating at the same instant, {ROUNDS} times: exactly one may pass \
             each time, but in {} round(s) a different number did (round, passed: {:?}). \
             Two passing means two calls both saw no create before either recorded one: \
             check and record under one lock (hold the `MutexGuard` from the lookup to \
             the insert).",
            wrong.len(),
            &wrong[..wrong.len().min(5)]
        );
    }
}

/// `tabs` threads call `acquire` on each limiter in turn, all at the same instant
/// (a barrier starts each round). Returns each thread's results, one per round: a
/// call's panic is caught and kept as its message, so no thread is left waiting at
/// the barrier.
fn race_in_rounds<L: Sync>(
    limiters: &[L],
    tabs: usize,
    acquire: impl Fn(&L) -> bool + Sync,
) -> Vec<Vec<Result<bool, String>>> {
    let barrier = std::sync::Barrier::new(tabs);
    let tab = || -> Vec<Result<bool, String>> {
        limiters
            .iter()
            .map(|limiter| {
                barrier.wait();
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| acquire(limiter)))
                    .map_err(|payload| testkit::panics::message(&*payload).to_string())
            })
            .collect()
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..tabs).map(|_| scope.spawn(tab)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Why `token` got `got` over HTTP instead of a 403, found by asking the same
/// `connect` in memory, where a panic comes back as a payload. Over HTTP a panic in
/// `connect` runs on one of the server's tasks: the server just drops the connection
/// mid-handshake, and the client only sees "Handshake not finished".
fn why_not_403(app: &App, token: &str, got: &str) -> String {
    let asked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        app.auth_endpoint.connect_in_memory(&[("token", token)])
    }));
    match asked {
        Err(payload) => {
            let message = testkit::panics::message(&*payload);
            let change = if message.starts_with("not yet implemented") {
                "That is the todo!() in `connect` (section2-channels/src/start/part2/\
                 e08_auth_socket.rs), still in place: replace it with your code."
            } else {
                "Fix the panic in `connect` (section2-channels/src/start/part2/\
                 e08_auth_socket.rs): a bad token is an answer, not a crash."
            };
            format!(
                "token {token:?}: the server closed the connection during the WebSocket \
                 handshake ({got}) instead of answering 403, because `connect` panicked: \
                 {message}\n    Expected: a missing or invalid token is refused with \
                 Err(Refused(..)), which the endpoint answers with 403. {change}"
            )
        }
        Ok(Ok(_)) => format!(
            "token {token:?}: expected 403, got {got}. `connect` accepts this token: a missing \
             or invalid one must be refused with Err(Refused(\"token missing\" | \
             \"token invalid\"))."
        ),
        Ok(Err(Refused(reason))) => format!(
            "token {token:?}: expected 403, got {got}, although `connect` refuses this token \
             ({reason:?}). The refusal should reach HTTP as 403: if you only changed \
             `connect`, this is a course bug; please report it."
        ),
    }
}

#[exercise(section2_channels)]
mod e08_auth_socket {
    use super::*;

    #[tokio::test]
    async fn a_valid_token_connects_as_auth_socket_user() {
        let app = app(IMPLEMENTATION).await;
        let token = app.signer.sign(&USER).unwrap();
        let mut client = app
            .auth_endpoint
            .connect_in_memory(&[("token", &token)])
            .unwrap_or_else(|e| panic!("a fresh token for user {USER} must connect, got {e}"));
        assert_eq!(reply_status(&client.heartbeat().await), Some("ok"));
        // The socket id names the user: disconnecting it closes this connection.
        app.auth_endpoint.disconnect(&format!("auth_socket:{USER}"));
        let closed = client.closed().await;
        assert_eq!(
            closed.code, 1001,
            "disconnect(\"auth_socket:{USER}\") should close the socket: its id must be \
             auth_socket:<user id>, got {closed:?}"
        );
    }

    #[tokio::test]
    async fn missing_invalid_and_expired_tokens_are_refused_distinctly() {
        let app = app(IMPLEMENTATION).await;
        let endpoint = &app.auth_endpoint;
        let expired = app
            .signer
            .sign_at(&USER, now_ms() - 2 * DAY_MS, 86_400)
            .unwrap();
        let other_key = TokenSigner::new("another secret key base, 20+ bytes", "user socket")
            .unwrap()
            .sign(&USER)
            .unwrap();
        let cases = [
            ("no token param", vec![], "token missing"),
            (
                "a garbage token",
                vec![("token", "not-a-token")],
                "token invalid",
            ),
            (
                "a token signed with another key",
                vec![("token", other_key.as_str())],
                "token invalid",
            ),
            (
                "a token signed two days ago",
                vec![("token", expired.as_str())],
                "token expired",
            ),
        ];
        for (case, params, expected) in cases {
            let reason = refused(endpoint.connect_in_memory(&params));
            assert_eq!(
                reason, expected,
                "{case}: connect must refuse with Refused({expected:?}), got {reason:?}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refused_connections_get_403_over_http() {
        let app = app(IMPLEMENTATION).await;
        let server = Server::bind(0, app.router()).await.unwrap();
        let url = |token: &str| server.socket_url("/auth_socket", &[("token", token)]);
        for token in ["", "garbage"] {
            match ChannelClient::connect(&url(token)).await {
                Err(ConnectError::Status(403)) => {}
                Err(e) => panic!("{}", why_not_403(&app, token, &e.to_string())),
                Ok(_) => panic!(
                    "token {token:?}: expected 403, the socket was accepted. `connect` must \
                     refuse a missing or invalid token with Err(Refused(..)), which the \
                     endpoint answers with 403."
                ),
            }
        }
        let token = app.signer.sign(&USER).unwrap();
        let mut client = ChannelClient::connect(&url(&token))
            .await
            .expect("a valid token connects");
        assert_eq!(reply_status(&client.heartbeat().await), Some("ok"));
        server.stop().await;
    }
}

#[exercise(section2_channels)]
mod e09_user_channel {
    use super::*;

    #[tokio::test]
    async fn only_the_sockets_own_user_joins_its_channel() {
        let app = app(IMPLEMENTATION).await;
        let store = store().await;
        let endpoint = channels_endpoint(IMPLEMENTATION, &app.signer, &store);
        let mut client = connect_as(&endpoint, &app.signer, USER);
        let reply = client.join(&format!("user:{USER}"), json!({})).await;
        assert_eq!(
            reply_status(&reply),
            Some("ok"),
            "user {USER} joining user:{USER} must succeed, got {}",
            reply_response(&reply)
        );
        for topic in ["user:8", "user:70"] {
            let reply = client.join(topic, json!({})).await;
            assert_eq!(
                (reply_status(&reply), reply_response(&reply)),
                (Some("error"), &json!({"reason": "unauthorized"})),
                "user {USER} joining {topic} must get an error reply {{\"reason\": \"unauthorized\"}}"
            );
        }
        // One topic per user: `parse` reads all of these as 7 (or as nothing), and each
        // would be one more alias of user 7's channel.
        let invalid = imp::part2::e09_user_channel::INVALID_TOPIC;
        for topic in ["user:07", "user:007", "user:+7", "user:abc", "user:"] {
            let reply = client.join(topic, json!({})).await;
            assert_eq!(
                (reply_status(&reply), reply_response(&reply)),
                (Some("error"), &json!({ "reason": invalid })),
                "user {USER} joining {topic} must get an error reply {{\"reason\": INVALID_TOPIC}}: \
                 only the canonical decimal form user:{USER} names user {USER}'s channel"
            );
        }
        let whoami = client
            .call(&format!("user:{USER}"), "whoami", json!({}))
            .await;
        assert_eq!(reply_response(&whoami), &json!({"user_id": USER}));
    }
}

#[exercise(section2_channels)]
mod e10_recurring {
    use super::*;

    #[tokio::test]
    async fn pushes_a_fresh_token_for_the_user_every_five_seconds() {
        let app = app(IMPLEMENTATION).await;
        let store = store().await;
        let endpoint = channels_endpoint(IMPLEMENTATION, &app.signer, &store);
        tokio::time::pause();
        let mut client = connect_as(&endpoint, &app.signer, USER);
        client.set_timeout(Duration::from_secs(60));
        let reply = client.join("recurring", json!({})).await;
        assert_eq!(
            reply_status(&reply),
            Some("ok"),
            "joining recurring: {reply:?}"
        );
        let joined = tokio::time::Instant::now();
        for n in 1..=3u32 {
            let frame = client.next_frame().await;
            assert_eq!(
                frame.event, "new_token",
                "the recurring channel pushes \"new_token\"; got {frame:?}. A phx_error means \
                 your handle_info panicked (is the todo!() still there?)"
            );
            let expected = Duration::from_secs(5) * n;
            let elapsed = joined.elapsed();
            assert!(
                elapsed >= expected && elapsed < expected + Duration::from_millis(100),
                "push #{n} should come {} s after the join (every 5 s), it came after {elapsed:?}",
                5 * n
            );
            let token = frame.payload["token"]
                .as_str()
                .expect("{\"token\": \"...\"}");
            assert_eq!(
                app.signer.verify::<i64>(Some(token)),
                Ok(USER),
                "each pushed token must verify for the socket's user"
            );
        }
        // Leaving stops the timer: nothing more arrives.
        client.leave("recurring").await;
        client.next_frame().await; // phx_close
        client.set_timeout(Duration::from_secs(20));
        assert!(
            client.next().await.is_none(),
            "no token after the channel left"
        );
    }
}
