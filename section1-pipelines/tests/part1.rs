//! Exercise tests for section 1, part 1 (s1.e1 to s1.e4).
//!
//! Each exercise's tests are written once and instantiated twice: against your code
//! (`<exercise>::start::*`, ignored by a plain `cargo test`, run by
//! `cargo xtask check`) and against the reference (`<exercise>::solution::*`).
//! Time is tokio's paused clock: the 500 ms resource costs no real time, and
//! "how long did the client wait" is exact.

mod support;

use std::time::Duration;

use pipeline::mock_resource::{MockResource, Usage};
use pipeline::shed_gate::SHED_AT;
use support::{TestApp, ms, probe, settle};
use testkit::exercise;

#[exercise(section1_pipelines)]
mod e01_welcome {
    use super::*;

    #[tokio::test]
    async fn resource_hold_is_the_mock_resource_default() {
        let hold = imp::part1::e01_welcome::resource_hold();
        assert_eq!(
            hold,
            MockResource::DEFAULT_HOLD,
            "resource_hold() returned {hold:?}, but one use of the mock resource holds it for \
             {:?} by default. Find the constant in section1-pipelines/src/mock_resource.rs and \
             return it (by name, not as a number you typed).",
            MockResource::DEFAULT_HOLD
        );
    }
}

#[exercise(section1_pipelines)]
mod e02_serial {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn answers_ok_only_after_the_resource_is_done() {
        let app = TestApp::new(IMPLEMENTATION);
        let request = app.spawn_get("/part1/serial");
        settle().await;
        let users = app.resource.current();
        if request.is_finished() && users == 0 {
            let reply = request.reply().await;
            panic!(
                "the serial endpoint answered in {} ms without using the resource (it has 0 \
                 users). It must call `use_resource()`, wait for it ({} ms), then answer.",
                ms(reply.elapsed),
                ms(app.hold())
            );
        }
        assert_eq!(
            users, 1,
            "10 ms into a serial request the resource should have exactly 1 user (the \
             request), but it has {users}."
        );

        let reply = request.reply().await;
        assert!(
            reply.elapsed >= app.hold(),
            "the serial endpoint answered in {} ms; it must wait for the resource ({} ms) \
             before answering. Did you `.await` `use_resource()`?",
            ms(reply.elapsed),
            ms(app.hold())
        );
        assert_eq!(reply.status, 200, "expected 200 OK, got {}", reply.status);
        assert_eq!(
            reply.body, "OK",
            "expected the body `OK`, got {:?}",
            reply.body
        );
        assert_eq!(
            app.resource.usage(),
            Usage {
                current: 0,
                peak: 1,
                total: 1
            },
            "after one serial request the resource should have been used exactly once"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn fifty_clients_wait_side_by_side() {
        probe(IMPLEMENTATION, "/part1/serial").await;
        let app = TestApp::new(IMPLEMENTATION);
        let requests: Vec<_> = (0..50).map(|_| app.spawn_get("/part1/serial")).collect();
        for request in requests {
            let reply = request.reply().await;
            assert_eq!(reply.status, 200, "expected 200 OK, got {}", reply.status);
            // Every request waits its own 500 ms, at the same time as the others: tokio
            // parks a waiting task, it does not block a thread.
            assert!(
                reply.elapsed >= app.hold() && reply.elapsed < app.hold() * 2,
                "with 50 concurrent clients each serial request should take one hold ({} ms), \
                 but one took {} ms",
                ms(app.hold()),
                ms(reply.elapsed)
            );
        }
        assert_eq!(
            app.resource.usage(),
            Usage {
                current: 0,
                peak: 50,
                total: 50
            },
            "50 concurrent serial requests should hold the resource 50 at a time, once each"
        );

        // What /stats reports after the run; its shape is what the load generator and
        // the dashboard read, so it is pinned by a snapshot.
        let stats = app.get("/stats").await;
        let stats: serde_json::Value =
            serde_json::from_str(&stats.body).expect("/stats answers JSON");
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!("s1_e2_stats_after_fifty_serial_requests", stats, {
                ".implementation" => "[start or solution]",
                ".process.rss_bytes" => "[bytes]",
                ".process.live_tasks" => "[count]",
            });
        });
    }
}

#[exercise(section1_pipelines)]
mod e03_fire_and_forget {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn answers_at_once_and_the_work_goes_on() {
        let app = TestApp::new(IMPLEMENTATION);
        let reply = app.get("/part1/async").await;
        assert_eq!(reply.status, 200, "expected 200 OK, got {}", reply.status);
        assert_eq!(
            reply.body, "OK",
            "expected the body `OK`, got {:?}",
            reply.body
        );
        assert!(
            reply.elapsed < app.hold(),
            "the async endpoint answered in {} ms, after the resource was done: it waited for \
             the work. Fire-and-forget answers at once and lets a spawned task do the work.",
            ms(reply.elapsed)
        );

        settle().await;
        assert_eq!(
            app.resource.current(),
            1,
            "the endpoint answered, but 10 ms later nobody is using the resource. The work \
             must still happen after the answer: spawn a task that calls `use_resource()`.{}",
            app.task_panics()
        );
        tokio::time::sleep(app.hold()).await;
        assert_eq!(
            app.resource.usage(),
            Usage {
                current: 0,
                peak: 1,
                total: 1
            },
            "the spawned work should have finished one use of the resource by now{}",
            app.task_panics()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_bounds_the_work_in_flight() {
        probe(IMPLEMENTATION, "/part1/async").await;
        let app = TestApp::new(IMPLEMENTATION);
        let requests: Vec<_> = (0..200).map(|_| app.spawn_get("/part1/async")).collect();
        for request in requests {
            let reply = request.reply().await;
            assert!(
                reply.elapsed < app.hold(),
                "a fire-and-forget request took {} ms; it should answer before the work is done",
                ms(reply.elapsed)
            );
        }
        settle().await;
        // The clients are all gone, yet 200 users hold the resource and 200 tasks are alive:
        // this is the "forget" part, and section 1 part 2 puts a bound on it.
        let stats: pipeline::stats::Stats =
            serde_json::from_str(&app.get("/stats").await.body).expect("/stats answers JSON");
        assert_eq!(
            stats.resource.current, 200,
            "200 answered requests should leave 200 spawned users of the resource, found {}",
            stats.resource.current
        );
        assert!(
            stats.process.live_tasks >= 200,
            "/stats should count the 200 spawned tasks still alive, it reports {}",
            stats.process.live_tasks
        );
        tokio::time::sleep(app.hold()).await;
        assert_eq!(
            app.resource.usage(),
            Usage {
                current: 0,
                peak: 200,
                total: 200
            }
        );
    }
}

#[exercise(section1_pipelines)]
mod e04_load_shedding {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn refuses_at_once_beyond_the_limit() {
        probe(IMPLEMENTATION, "/part1/shed").await;
        let app = TestApp::new(IMPLEMENTATION);
        let extra = 5;
        let requests: Vec<_> = (0..SHED_AT + extra)
            .map(|_| app.spawn_get("/part1/shed"))
            .collect();
        settle().await;
        assert_eq!(
            app.resource.current(),
            SHED_AT as u64,
            "{} requests arrived together; {SHED_AT} should hold the resource and the rest be \
             refused, but the resource has {} users",
            SHED_AT + extra,
            app.resource.current()
        );

        let mut refused = Vec::new();
        let mut served = 0;
        for request in requests {
            let reply = request.reply().await;
            match reply.status.as_u16() {
                200 => {
                    assert_eq!(reply.body, "OK", "an admitted request answers `OK`");
                    served += 1;
                }
                503 => refused.push(reply),
                other => panic!(
                    "expected 200 or 503 from /part1/shed, got {other}: {:?}",
                    reply.body
                ),
            }
        }
        assert_eq!(
            (served, refused.len()),
            (SHED_AT, extra),
            "expected {SHED_AT} requests served and {extra} refused with 503"
        );
        for reply in &refused {
            assert!(
                reply.elapsed < Duration::from_millis(5),
                "a refusal took {} ms; shedding means answering 503 at once, not queueing",
                ms(reply.elapsed)
            );
            assert!(
                reply.body.contains(&SHED_AT.to_string()),
                "the 503 body should say why, naming the limit ({SHED_AT}); it was {:?}",
                reply.body
            );
            let retry_after = reply
                .headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok());
            assert!(
                retry_after.is_some_and(|v| v.parse::<u32>().is_ok()),
                "a 503 should carry a `retry-after` header with whole seconds, so clients back \
                 off; got {retry_after:?}"
            );
        }
        assert_eq!(
            app.resource.usage().total,
            SHED_AT as u64,
            "refused requests must not use the resource"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn admits_again_once_users_leave() {
        probe(IMPLEMENTATION, "/part1/shed").await;
        let app = TestApp::new(IMPLEMENTATION);
        let first: Vec<_> = (0..SHED_AT).map(|_| app.spawn_get("/part1/shed")).collect();
        for request in first {
            assert_eq!(
                request.reply().await.status,
                200,
                "the first {SHED_AT} requests fit"
            );
        }
        assert_eq!(
            app.gate.permits().available_permits(),
            SHED_AT,
            "all {SHED_AT} requests are done, but the gate has only {} free permits: a permit \
             must be given back when its request finishes (keep it in a variable that lives \
             until the resource is released, and let it drop)",
            app.gate.permits().available_permits()
        );
        let reply = app.get("/part1/shed").await;
        assert_eq!(
            reply.status, 200,
            "once the resource is free again, /part1/shed must admit new requests: {:?}",
            reply.body
        );
    }
}
