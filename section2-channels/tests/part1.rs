//! Exercise tests for section 2, part 1 (s2.e1 to s2.e5).
//!
//! Each exercise's tests are written once and instantiated twice: against your code
//! (`<exercise>::start::*`, ignored by a plain `cargo test`, run by
//! `cargo xtask check`) and against the reference (`<exercise>::solution::*`).
//! Connections run in memory on tokio's paused clock (paused once the database is
//! open): a 1 s report costs no real time, and "how long did the reply take" is exact.

use std::time::Duration;

use activity::reports::REPORT_TIME;
use activity::{ActivityStore, ManualClock, seed_store};
use channels::client::{ChannelClient, Received, reply_response, reply_status};
use channels::{Frame, payload};
use section2_channels::app::{self, App, Implementation};
use serde_json::{Value, json};
use testkit::exercise;
use tokio::time::Instant;

const NODE: &str = "app@127.0.0.1";

async fn store() -> ActivityStore {
    ActivityStore::open("sqlite::memory:")
        .await
        .expect("an in-memory SQLite store")
}

/// An app for the exercises that do not touch the database, on tokio's paused clock.
///
/// The store is opened first, on the real clock: its connection pool waits for a
/// database thread with a timeout, and a paused clock would jump straight past it.
async fn app(implementation: Implementation) -> App {
    let store = store().await;
    tokio::time::pause();
    app::new(implementation, NODE, store)
}

fn connect(app: &App) -> ChannelClient {
    app.endpoint
        .connect_in_memory(&[])
        .expect("the section's socket lets everyone in")
}

/// Joins `topic`; a failed join is a failed test with a useful message.
async fn join(client: &mut ChannelClient, topic: &str) {
    let reply = client.join(topic, json!({})).await;
    assert_eq!(
        reply_status(&reply),
        Some("ok"),
        "joining {topic} should succeed, got {reply:?}"
    );
}

/// The reply to `event`, or a message saying what came instead.
async fn call(client: &mut ChannelClient, topic: &str, event: &str, payload: Value) -> Frame {
    let msg_ref = client.push(topic, event, payload.clone()).await;
    loop {
        match client.next().await {
            Some(Received::Frame(frame))
                if frame.msg_ref.as_deref() == Some(msg_ref.as_str())
                    && frame.event == "phx_reply" =>
            {
                return frame;
            }
            Some(Received::Frame(frame)) if frame.event == "phx_error" => panic!(
                "the channel crashed while handling {event:?} {payload} (the client got \
                 phx_error). A `todo!()` left in your handle_in does that: replace it.\n\
                 transcript:\n{}",
                client.transcript()
            ),
            Some(Received::Frame(_)) => {}
            other => panic!(
                "no reply to {event:?} {payload}, got {other:?}. Every event of this exercise \
                 except `pong` must be answered.\ntranscript:\n{}",
                client.transcript()
            ),
        }
    }
}

#[track_caller]
fn assert_reply(frame: &Frame, status: &str, response: Value, what: &str) {
    assert_eq!(
        (reply_status(frame), reply_response(frame)),
        (Some(status), &response),
        "{what}: expected a reply {status} {response}, got {} {}",
        reply_status(frame).unwrap_or("?"),
        reply_response(frame)
    );
}

#[exercise(section2_channels)]
mod e01_ping {
    use super::*;

    #[tokio::test]
    async fn ping_replies_pong_or_the_ack_phrase() {
        let app = app(IMPLEMENTATION).await;
        let mut client = connect(&app);
        join(&mut client, "ping").await;
        let reply = call(&mut client, "ping", "ping", json!({})).await;
        assert_reply(
            &reply,
            "ok",
            json!({"ping": "pong"}),
            "`ping` with no ack_phrase",
        );
        let reply = call(&mut client, "ping", "ping", json!({"ack_phrase": "hello"})).await;
        assert_reply(
            &reply,
            "ok",
            json!({"ping": "hello"}),
            "`ping` with {\"ack_phrase\": \"hello\"} echoes the phrase",
        );
    }

    #[tokio::test]
    async fn bad_params_get_an_error_reply_and_the_channel_lives_on() {
        let app = app(IMPLEMENTATION).await;
        let mut client = connect(&app);
        join(&mut client, "ping").await;
        let reply = call(&mut client, "ping", "ping", json!({"ack_phrase": 42})).await;
        assert_reply(
            &reply,
            "error",
            json!({"reason": "ack_phrase must be a string"}),
            "`ping` with a number as ack_phrase",
        );
        let reply = call(&mut client, "ping", "param_ping", json!({"error": true})).await;
        assert_reply(
            &reply,
            "error",
            json!({"reason": "failed"}),
            "`param_ping` with error: true",
        );
        let reply = call(
            &mut client,
            "ping",
            "param_ping",
            json!({"error": false, "n": 1}),
        )
        .await;
        assert_reply(
            &reply,
            "ok",
            json!({"error": false, "n": 1}),
            "`param_ping` without error: true echoes its payload",
        );
        let reply = call(&mut client, "ping", "pang", json!({})).await;
        assert_reply(
            &reply,
            "error",
            json!({"reason": "unknown event: pang"}),
            "an unknown event",
        );
        // An error reply is an answer, not a crash: the channel still works.
        let reply = call(&mut client, "ping", "ping", json!({})).await;
        assert_reply(
            &reply,
            "ok",
            json!({"ping": "pong"}),
            "`ping` after the errors",
        );
    }

    #[tokio::test]
    async fn pong_gets_no_reply() {
        let app = app(IMPLEMENTATION).await;
        let mut client = connect(&app);
        join(&mut client, "ping").await;
        client.push("ping", "pong", json!({})).await;
        // The next frame must be the reply to this ping, not one to `pong`.
        let reply = call(&mut client, "ping", "ping", json!({})).await;
        assert_reply(&reply, "ok", json!({"ping": "pong"}), "`ping` after `pong`");
        let transcript = client.transcript();
        assert_eq!(
            transcript.matches("phx_reply").count(),
            2,
            "`pong` must not be answered (return no reply); the transcript has more replies \
             than the join and the ping:\n{transcript}"
        );
    }

    #[tokio::test]
    async fn ding_replies_then_closes_the_channel() {
        let app = app(IMPLEMENTATION).await;
        let mut client = connect(&app);
        join(&mut client, "ping").await;
        let reply = call(&mut client, "ping", "ding", json!({})).await;
        assert_reply(&reply, "ok", json!({"msg": "shutting down"}), "`ding`");
        let closed = client.next_frame().await;
        assert_eq!(
            (closed.event.as_str(), closed.join_ref.as_deref()),
            ("phx_close", client.join_ref("ping")),
            "after answering `ding` the channel must stop (phx_close), got {closed:?}"
        );
    }
}

fn at(unix_seconds: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix_seconds).expect("a valid time")
}

/// A feed app on a store whose clock the test sets, with `seeded` activities.
async fn feed_app(
    implementation: Implementation,
    seeded: usize,
) -> (App, ActivityStore, ManualClock) {
    let clock = ManualClock::new(at(1_795_428_000));
    let store = store().await.with_clock(clock.clone());
    for _ in 0..seeded {
        clock.advance(time::Duration::seconds(1));
        seed_store(&store, 1, 7).await.expect("seed");
    }
    (app::new(implementation, NODE, store.clone()), store, clock)
}

fn ids(activities: &Value) -> Vec<i64> {
    activities
        .as_array()
        .unwrap_or_else(|| panic!("expected a list of activities, got {activities}"))
        .iter()
        .map(|a| a["id"].as_i64().expect("each activity has an id"))
        .collect()
}

#[exercise(section2_channels)]
mod e02_feed {
    use super::*;

    #[tokio::test]
    async fn fetch_replies_with_the_newest_activities() {
        let (app, store, _clock) = feed_app(IMPLEMENTATION, 5).await;
        let mut client = connect(&app);
        join(&mut client, "feed").await;
        let reply = call(&mut client, "feed", "fetch", json!({"limit": 3})).await;
        assert_eq!(
            reply_status(&reply),
            Some("ok"),
            "`fetch` should reply ok, got {}",
            reply_response(&reply)
        );
        let newest: Vec<i64> = store
            .list_newest(3)
            .await
            .unwrap()
            .iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(
            ids(&reply_response(&reply)["activities"]),
            newest,
            "`fetch` with limit 3 replies {{\"activities\": [...]}} with the 3 newest, newest \
             first (ask the store: list_newest)"
        );
        let all = call(&mut client, "feed", "fetch", json!({})).await;
        assert_eq!(
            ids(&reply_response(&all)["activities"]).len(),
            5,
            "no limit means the default (20): all 5"
        );
    }

    #[tokio::test]
    async fn a_bad_limit_is_an_error_naming_the_field() {
        let (app, _store, _clock) = feed_app(IMPLEMENTATION, 1).await;
        let mut client = connect(&app);
        join(&mut client, "feed").await;
        let reply = call(&mut client, "feed", "fetch", json!({"limit": "lots"})).await;
        assert_eq!(
            reply_status(&reply),
            Some("error"),
            "a limit of \"lots\" is an error, got {reply:?}"
        );
        assert!(
            reply_response(&reply)["errors"]["limit"].is_array(),
            "the error names the field: {{\"errors\": {{\"limit\": [...]}}}}, got {}",
            reply_response(&reply)
        );
    }

    #[tokio::test]
    async fn create_stores_stamps_replies_and_broadcasts() {
        let (app, store, clock) = feed_app(IMPLEMENTATION, 0).await;
        let mut creator = connect(&app);
        let mut watcher = connect(&app);
        join(&mut creator, "feed").await;
        join(&mut watcher, "feed").await;
        clock.set(at(1_795_437_000));
        let reply = call(
            &mut creator,
            "feed",
            "create_activity",
            json!({
                "who": "Grace H.", "what": "bought 1 standing desk", "type": "purchase",
                "customer_tier": "business", "occurred_at": "1999-01-01T00:00:00Z",
            }),
        )
        .await;
        assert_eq!(
            reply_status(&reply),
            Some("ok"),
            "a valid create_activity replies ok with the stored activity, got {}",
            reply_response(&reply)
        );
        let created = reply_response(&reply).clone();
        assert_eq!(
            created["occurred_at"], "2026-11-23T12:30:00Z",
            "the server stamps occurred_at (the store does it); the client's value is ignored"
        );
        assert!(
            created["id"].is_i64(),
            "the reply is the stored activity, with its id: {created}"
        );
        assert_eq!(
            store.count().await.unwrap(),
            1,
            "the activity is in the store"
        );

        let heard = watcher.next_frame().await;
        assert_eq!(
            (heard.topic.as_str(), heard.event.as_str()),
            ("feed", "activity.created"),
            "every client on `feed` hears about the new activity through a broadcast, got {heard:?}"
        );
        assert_eq!(
            heard.payload, created,
            "the broadcast carries the stored activity"
        );
        assert_eq!(heard.join_ref, None, "a broadcast, not a push: no join ref");
    }

    #[tokio::test]
    async fn invalid_data_is_an_error_naming_the_fields_and_nothing_is_stored() {
        let (app, store, _clock) = feed_app(IMPLEMENTATION, 0).await;
        let mut creator = connect(&app);
        let mut watcher = connect(&app);
        join(&mut creator, "feed").await;
        join(&mut watcher, "feed").await;
        let reply = call(
            &mut creator,
            "feed",
            "create_activity",
            json!({"who": "", "what": "hello", "type": "teleport"}),
        )
        .await;
        assert_eq!(
            reply_status(&reply),
            Some("error"),
            "invalid data is an error reply, got {reply:?}"
        );
        let response = reply_response(&reply);
        assert_eq!(response["reason"], "invalid activity data", "{response}");
        let fields: Vec<&str> = response["errors"]
            .as_object()
            .map(|errors| errors.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            ["customer_tier", "type", "who"],
            "the error names every bad field: {response}"
        );
        assert_eq!(store.count().await.unwrap(), 0, "nothing is stored");
        watcher.set_timeout(Duration::from_millis(300));
        assert!(
            watcher.next().await.is_none(),
            "nothing is broadcast for invalid data"
        );
    }
}

#[exercise(section2_channels)]
mod e03_intercept {
    use super::*;

    #[tokio::test]
    async fn request_ping_reaches_each_client_as_send_ping_with_the_node() {
        let app = app(IMPLEMENTATION).await;
        let mut clients = [connect(&app), connect(&app)];
        for client in &mut clients {
            join(client, "ops").await;
        }
        app.endpoint
            .broadcast("ops", "request_ping", payload(json!({"from": "console"})));
        for client in &mut clients {
            let frame = client.next_frame().await;
            assert_ne!(
                frame.event, "request_ping",
                "the client received the broadcast `request_ping` unchanged: nothing \
                 intercepted it. List it in OpsChannel::INTERCEPTS so handle_out sees it."
            );
            assert_eq!(
                frame.event, "send_ping",
                "expected a send_ping push, got {frame:?}"
            );
            assert_eq!(
                frame.join_ref.as_deref(),
                client.join_ref("ops"),
                "send_ping is a push to one client: it carries that channel's join ref"
            );
            assert_eq!(
                frame.payload,
                json!({"from": "console", "from_node": NODE}),
                "send_ping carries the broadcast's payload plus from_node, the pubsub's \
                 node name"
            );
        }
    }

    #[tokio::test]
    async fn other_broadcasts_are_not_intercepted() {
        let app = app(IMPLEMENTATION).await;
        let mut client = connect(&app);
        join(&mut client, "ops").await;
        app.endpoint
            .broadcast("ops", "deploy", payload(json!({"version": "1.2"})));
        app.endpoint
            .broadcast("ops", "request_ping", payload(json!({})));
        let deploy = client.next_frame().await;
        assert_eq!(
            deploy.encode(),
            r#"[null,null,"ops","deploy",{"version":"1.2"}]"#,
            "only request_ping is intercepted: other broadcasts keep the shared fast path"
        );
        let ping = client.next_frame().await;
        assert_eq!(ping.event, "send_ping", "expected send_ping, got {ping:?}");
    }
}

/// Sends `count` requests for `event` at once and returns when each reply came.
async fn reply_times(
    client: &mut ChannelClient,
    topic: &str,
    event: &str,
    count: usize,
) -> Vec<Duration> {
    let started = Instant::now();
    let mut refs = Vec::new();
    for i in 0..count {
        refs.push(
            client
                .push(topic, event, json!({"name": format!("region-{i}")}))
                .await,
        );
    }
    client.set_timeout(Duration::from_secs(60));
    let mut times = Vec::new();
    for (i, msg_ref) in refs.iter().enumerate() {
        let reply = client.reply_to(msg_ref).await;
        assert_reply(
            &reply,
            "ok",
            json!({"report": format!("region-{i}"), "status": "ready"}),
            &format!("the reply to {event} #{i}"),
        );
        times.push(started.elapsed());
    }
    times
}

fn seconds(times: &[Duration]) -> Vec<f64> {
    times
        .iter()
        .map(|t| (t.as_secs_f64() * 10.0).round() / 10.0)
        .collect()
}

#[exercise(section2_channels)]
mod e04_reports {
    use super::*;

    #[tokio::test]
    async fn slow_reports_queue_up_but_parallel_reports_reply_together() {
        let app = app(IMPLEMENTATION).await;
        let mut client = connect(&app);
        join(&mut client, "reports").await;
        // The provided `slow_report` shows the problem: one report at a time.
        let times = reply_times(&mut client, "reports", "slow_report", 5).await;
        assert_eq!(seconds(&times), [1.0, 2.0, 3.0, 4.0, 5.0]);

        let times = reply_times(&mut client, "reports", "parallel_report", 5).await;
        assert!(
            times.iter().all(|t| *t < REPORT_TIME * 2),
            "5 parallel reports replied after {:?} s; each takes {:?}, so built side by side \
             all five should reply after about one. Spawn the work and reply through \
             ctx.socket_ref() instead of awaiting it in handle_in.",
            seconds(&times),
            REPORT_TIME
        );
        assert!(
            times.iter().all(|t| *t >= REPORT_TIME),
            "a report replied after {:?} s, before it could have been built",
            seconds(&times)
        );
    }

    #[tokio::test]
    async fn the_channel_stays_free_while_reports_build() {
        let app = app(IMPLEMENTATION).await;
        let mut client = connect(&app);
        join(&mut client, "reports").await;
        let started = Instant::now();
        let report = client
            .push("reports", "parallel_report", json!({"name": "q3"}))
            .await;
        let status = call(&mut client, "reports", "status", json!({})).await;
        assert_reply(&status, "ok", json!({"open": true}), "`status`");
        assert!(
            started.elapsed() < REPORT_TIME,
            "`status` waited {:?} behind a parallel report: handle_in must return at once",
            started.elapsed()
        );
        client.reply_to(&report).await;
    }
}

#[exercise(section2_channels)]
mod e05_bounded_reports {
    use super::*;

    #[tokio::test]
    async fn at_most_two_reports_build_at_once() {
        use section2_channels::solution::part1::e05_bounded_reports::MAX_IN_FLIGHT;
        assert_eq!(
            MAX_IN_FLIGHT, 2,
            "this test expects the provided bound of 2"
        );
        let app = app(IMPLEMENTATION).await;
        let mut client = connect(&app);
        join(&mut client, "reports:bounded").await;
        let times = reply_times(&mut client, "reports:bounded", "parallel_report", 5).await;
        assert_eq!(
            seconds(&times),
            [1.0, 1.0, 2.0, 2.0, 3.0],
            "with at most 2 reports in flight, 5 requests reply in waves of two: after 1, 1, \
             2, 2 and 3 s. All at 1 s means nothing bounds them; 1 to 5 s means they run \
             one by one."
        );
    }

    #[tokio::test]
    async fn each_channel_has_its_own_bound() {
        let app = app(IMPLEMENTATION).await;
        let mut clients = [connect(&app), connect(&app), connect(&app)];
        for client in &mut clients {
            join(client, "reports:bounded").await;
        }
        let started = Instant::now();
        let mut pending = Vec::new();
        for client in &mut clients {
            for i in 0..2 {
                pending.push(
                    client
                        .push(
                            "reports:bounded",
                            "parallel_report",
                            json!({"name": format!("r{i}")}),
                        )
                        .await,
                );
            }
        }
        for (n, client) in clients.iter_mut().enumerate() {
            for msg_ref in &pending[n * 2..n * 2 + 2] {
                client.reply_to(msg_ref).await;
            }
        }
        assert!(
            started.elapsed() < REPORT_TIME * 2,
            "3 channels with 2 reports each took {:?}: the bound is per channel, so all six \
             should build at once (keep the semaphore in the channel, not in a global)",
            started.elapsed()
        );
    }
}
