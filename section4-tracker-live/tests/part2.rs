//! Exercise tests for section 4, part 2 (live views).
//!
//! Each exercise's tests are written once and instantiated twice: against your code
//! (`<exercise>::start::*`, ignored by a plain `cargo test`, run by
//! `cargo xtask check`) and against the reference (`<exercise>::solution::*`).
//!
//! A test renders a page as the first HTTP request would (`LivePages::render`), then
//! joins its `lv:` topic in memory with the tokens from that page, as the browser's
//! JavaScript does, and reads the rendered/diff payloads.
//!
//! The presence tests (s4.e8) run on tokio's paused clock. The feed tests (s4.e6,
//! s4.e7) run on the real clock and wait the real 1 s load: the database pool's own
//! timers (acquire timeout, idle connections) run on tokio's clock too, and a paused
//! clock jumps them forward whenever the runtime waits for the database thread, which
//! fails acquires and drops the in-memory database. Their checks are about order
//! (which frame came first), never about how long something took.

use std::sync::Arc;
use std::time::Duration;

use activity::{ActivityStore, seed_store};
use channels::client::{ChannelClient, Received, reply_response, reply_status};
use channels::{Frame, LocalPubSub, PubSub};
use live::feed::FeedDeps;
use live::presence::PresenceDeps;
use live::{LivePages, StaticPage};
use section4_tracker_live::Implementation;
use section4_tracker_live::app::PresenceNode;
use section4_tracker_live::live_app;
use serde_json::{Value, json};
use testkit::exercise;
use tracker::TrackerConfig;

const SECRET: &str = "a test secret key base, long enough";

/// The feed app: a store with 30 seeded activities, a feed pubsub, the live pages.
struct FeedApp {
    pages: LivePages,
    store: ActivityStore,
    pubsub: Arc<LocalPubSub>,
}

async fn feed_app(implementation: Implementation) -> FeedApp {
    let store = ActivityStore::open("sqlite::memory:")
        .await
        .expect("an in-memory store");
    seed_store(&store, 30, 7).await.expect("seeded");
    let pubsub = Arc::new(LocalPubSub::named("cluster"));
    let feed = FeedDeps {
        store: store.clone(),
        pubsub: pubsub.clone() as Arc<dyn PubSub>,
    };
    let pages = live_app::live_routes(implementation, SECRET)
        .state(feed)
        .build();
    FeedApp {
        pages,
        store,
        pubsub,
    }
}

/// The static render of `path`, or a failed test that says why.
async fn render(pages: &LivePages, path: &str, query: &[(&str, &str)]) -> StaticPage {
    let query = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match pages.render(path, &query).await {
        Ok(page) => page,
        Err(error) => panic!(
            "the static render of {path} failed: {error:?}. The view's mount runs for the \
             first HTTP request too (ctx.connected() is false then); a todo!() left in \
             mount fails it."
        ),
    }
}

/// Connects and joins the page's view, as the JavaScript client does; returns the
/// client and the join reply's `rendered`.
async fn connect(pages: &LivePages, page: &StaticPage) -> (ChannelClient, Value) {
    let mut client = pages
        .endpoint()
        .connect_in_memory(&[("_csrf_token", &page.csrf_token), ("vsn", "2.0.0")])
        .expect("the page's csrf token lets the socket in");
    client.set_timeout(Duration::from_secs(30));
    let reply = client
        .join(
            &topic(page),
            json!({"url": "http://localhost/",
                   "params": {"_csrf_token": page.csrf_token, "_mounts": 0},
                   "session": page.session, "static": null}),
        )
        .await;
    assert_eq!(
        reply_status(&reply),
        Some("ok"),
        "joining {} (the connected mount) should succeed, got {}. A panic in mount \
         (a todo!() still there) is reported as the reason.\ntranscript:\n{}",
        topic(page),
        reply_response(&reply),
        client.transcript()
    );
    (client, reply_response(&reply)["rendered"].clone())
}

fn topic(page: &StaticPage) -> String {
    format!("lv:{}", page.id)
}

/// The next `diff` pushed to the view; replies and other frames are skipped.
async fn next_diff(client: &mut ChannelClient) -> Value {
    loop {
        let frame = client.next_frame().await;
        match frame.event.as_str() {
            "diff" => return frame.payload,
            "phx_error" => panic!(
                "the view crashed (phx_error): a panic in handle_info or handle_event, \
                 e.g. a todo!() still in place.\ntranscript:\n{}",
                client.transcript()
            ),
            _ => {}
        }
    }
}

/// The entries of the activity list in a full render (the join's `rendered`).
fn list_count(rendered: &Value) -> u64 {
    rendered["1"]["k"]["kc"].as_u64().unwrap_or(0)
}

/// Whether `value` holds statics (an `"s"` key) anywhere.
fn has_statics(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.contains_key("s") || map.values().any(has_statics),
        Value::Array(items) => items.iter().any(has_statics),
        _ => false,
    }
}

fn snapshot(name: &str, value: &Value) {
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_json_snapshot!(name, value);
    });
}

fn snapshot_text(name: &str, text: &str) {
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, text);
    });
}

/// Pushes a click on `event` and returns the reply and the frames that came before it.
async fn click(client: &mut ChannelClient, topic: &str, event: &str) -> (Frame, Vec<Frame>) {
    let msg_ref = client
        .push(
            topic,
            "event",
            json!({"type": "click", "event": event, "value": {"value": ""}}),
        )
        .await;
    let mut before = Vec::new();
    loop {
        match client.next().await {
            Some(Received::Frame(frame))
                if frame.event == "phx_reply" && frame.msg_ref.as_deref() == Some(&msg_ref) =>
            {
                return (frame, before);
            }
            Some(Received::Frame(frame)) if frame.event == "phx_error" => panic!(
                "the view crashed while handling the {event:?} click (phx_error): a todo!() \
                 left in handle_event?\ntranscript:\n{}",
                client.transcript()
            ),
            Some(Received::Frame(frame)) => before.push(frame),
            other => panic!(
                "no reply to the {event:?} click, got {other:?}\ntranscript:\n{}",
                client.transcript()
            ),
        }
    }
}

#[exercise(section4_tracker_live)]
mod e06_feed_live {
    use super::*;

    #[tokio::test]
    async fn the_static_render_shows_three_activities_and_subscribes_nothing() {
        let app = feed_app(IMPLEMENTATION).await;
        let page = render(&app.pages, "/feed", &[]).await;
        assert_eq!(
            page.body.matches("<li class=\"activity\"").count(),
            3,
            "the first (static) render shows the 3 newest activities, got:\n{}",
            page.body
        );
        assert_eq!(
            app.pubsub.subscriber_count("feed"),
            0,
            "the static render's view is thrown away after the HTML is sent: subscribe \
             only when ctx.connected()"
        );
        snapshot_text("s4_e6_static_render", &page.body);
    }

    #[tokio::test]
    async fn the_connected_mount_answers_at_once_then_loads_twenty_five() {
        let app = feed_app(IMPLEMENTATION).await;
        let page = render(&app.pages, "/feed", &[]).await;
        let (mut client, rendered) = connect(&app.pages, &page).await;
        assert_eq!(
            list_count(&rendered),
            3,
            "the connected mount answers at once with the 3 newest (the slow load comes \
             after, as a message to itself), got {rendered}"
        );
        snapshot("s4_e6_join_rendered", &rendered);
        assert_eq!(
            app.pubsub.subscriber_count("feed"),
            1,
            "the connected view subscribes to feed"
        );
        let loaded = next_diff(&mut client).await;
        assert_eq!(
            loaded["1"]["k"]["kc"],
            json!(25),
            "after the slow load the view shows 25 activities, got the diff {loaded}"
        );
        assert_eq!(loaded["0"], json!("25 activities"));
        assert!(
            !has_statics(&loaded),
            "a diff carries no statics, got {loaded}"
        );
        client.leave(&topic(&page)).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            app.pubsub.subscriber_count("feed"),
            0,
            "leaving drops the subscription"
        );
    }

    #[tokio::test]
    async fn create_stores_broadcasts_and_every_tab_shows_it() {
        let app = feed_app(IMPLEMENTATION).await;
        let page = render(&app.pages, "/feed", &[]).await;
        let (mut tab, _) = connect(&app.pages, &page).await;
        next_diff(&mut tab).await;
        let other_page = render(&app.pages, "/feed", &[]).await;
        let (mut other, _) = connect(&app.pages, &other_page).await;
        next_diff(&mut other).await;

        let (reply, _) = click(&mut tab, &topic(&page), "create").await;
        assert_eq!(reply_status(&reply), Some("ok"), "{}", tab.transcript());
        assert_eq!(
            app.store.count().await.unwrap(),
            31,
            "Create stores one activity"
        );
        for (name, client) in [("the clicking tab", &mut tab), ("another tab", &mut other)] {
            let diff = next_diff(client).await;
            let list = &diff["1"]["k"];
            assert_eq!(
                (list["kc"].clone(), list["0"]["0"].clone()),
                (json!(26), json!("31")),
                "{name} gets the new activity (id 31) at the top of its list through the \
                 broadcast, got the diff {diff}"
            );
            assert_eq!(
                list["1"],
                json!(0),
                "the old first entry moved down, not re-sent"
            );
            assert!(
                !has_statics(&diff),
                "a diff carries only changed dynamics, got {diff}"
            );
            snapshot(
                "s4_e6_diff_after_create",
                &json!({"0": diff["0"], "kc": list["kc"], "km": list["km"],
                        "1": list["1"], "25": list["25"]}),
            );
        }
    }
}

#[exercise(section4_tracker_live)]
mod e07_async_load {
    use super::*;

    #[tokio::test]
    async fn a_click_during_the_load_is_answered_before_the_load_ends() {
        let app = feed_app(IMPLEMENTATION).await;
        let page = render(&app.pages, "/feed/async", &[]).await;
        let (mut client, rendered) = connect(&app.pages, &page).await;
        assert_eq!(
            list_count(&rendered),
            3,
            "the connected mount shows 3 while loading"
        );
        let (reply, before) = click(&mut client, &topic(&page), "create").await;
        assert_eq!(reply_status(&reply), Some("ok"));
        let loaded_first = before
            .iter()
            .any(|frame| frame.event == "diff" && frame.payload["0"] == json!("25 activities"));
        assert!(
            !loaded_first,
            "the click waited for the slow load: its reply came after the load's diff. \
             Start the load with ctx.start_async so handle_info returns at once.\n{}",
            client.transcript()
        );
        // The load still finishes, with the new activity among the 25.
        let mut seen = 0;
        while seen < 3 {
            let diff = next_diff(&mut client).await;
            seen += 1;
            if diff["0"] == json!("25 activities") {
                assert_eq!(diff["1"]["k"]["kc"], json!(25), "{diff}");
                return;
            }
        }
        panic!(
            "the slow load never ended with 25 activities:\n{}",
            client.transcript()
        );
    }

    #[tokio::test]
    async fn the_static_render_does_not_start_the_load() {
        let app = feed_app(IMPLEMENTATION).await;
        let page = render(&app.pages, "/feed/async", &[]).await;
        assert_eq!(
            page.body.matches("<li class=\"activity\"").count(),
            3,
            "{}",
            page.body
        );
        assert!(
            page.body.contains("3 activities"),
            "nothing loads in a static render:\n{}",
            page.body
        );
        let (_client, rendered) = connect(&app.pages, &page).await;
        assert_eq!(
            rendered["0"],
            json!("3 shown, loading the latest 25…"),
            "the connected mount starts the load and says so"
        );
    }
}

const PERIOD: Duration = Duration::from_millis(100);

/// Two nodes whose trackers gossip over one pubsub, each with its presence page.
fn presence_cluster(implementation: Implementation) -> [(PresenceNode, LivePages); 2] {
    tokio::time::pause();
    let cluster: Arc<dyn PubSub> = Arc::new(LocalPubSub::named("cluster"));
    let config = TrackerConfig {
        permdown_period: Duration::from_millis(1500),
        ..TrackerConfig::with_periods(PERIOD, 2)
    };
    ["app@127.0.0.1", "back@127.0.0.1"].map(|name| {
        let node = PresenceNode::start(implementation, cluster.clone(), name, config.clone())
            .expect("valid config");
        let pages = live_app::live_routes(implementation, SECRET)
            .state(PresenceDeps {
                tracker: node.tracker.clone(),
                pubsub: node.local.clone(),
            })
            .build();
        (node, pages)
    })
}

/// The names in a presence diff's or render's user list, in order, applied to `users`.
fn apply_users(users: &mut Vec<String>, rendered_list: &Value) {
    let Some(keyed) = rendered_list["k"].as_object() else {
        return;
    };
    let old = users.clone();
    let count = keyed["kc"].as_u64().unwrap_or(0) as usize;
    let mut next = Vec::with_capacity(count);
    for index in 0..count {
        let name = match keyed.get(&index.to_string()) {
            None => old[index].clone(),
            Some(Value::Number(j)) => old[j.as_u64().unwrap() as usize].clone(),
            Some(Value::Array(moved)) => moved[1]["0"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| old[moved[0].as_u64().unwrap() as usize].clone()),
            Some(entry) => entry["0"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| old[index].clone()),
        };
        next.push(name);
    }
    *users = next;
}

#[exercise(section4_tracker_live)]
mod e08_presence_live {
    use super::*;

    #[tokio::test]
    async fn the_static_render_lists_who_is_online_without_tracking() {
        let [(node, pages), _back] = presence_cluster(IMPLEMENTATION);
        let page = render(&pages, "/presence", &[("name", "Ada")]).await;
        assert!(
            page.body.contains("<strong id=\"me\">Ada</strong>"),
            "{}",
            page.body
        );
        assert!(
            node.tracker
                .list(live::presence::PRESENCE_TOPIC)
                .await
                .is_empty(),
            "a static render must not track: its view is gone once the HTML is sent"
        );
        let (_ada, rendered) = connect(&pages, &page).await;
        assert_eq!(
            node.tracker
                .list(live::presence::PRESENCE_TOPIC)
                .await
                .len(),
            1,
            "the connected mount tracks the tab in the tracker"
        );
        snapshot("s4_e8_join_rendered", &rendered);
        let bob_page = render(&pages, "/presence", &[("name", "Bob")]).await;
        assert!(
            bob_page.body.contains("<li class=\"user\">Ada</li>"),
            "the static render lists who is online (Ada), got:\n{}",
            bob_page.body
        );
    }

    #[tokio::test]
    async fn the_list_follows_joins_and_leaves_on_every_node() {
        let [(_app, app_pages), (_back, back_pages)] = presence_cluster(IMPLEMENTATION);
        let ada_page = render(&app_pages, "/presence", &[("name", "Ada")]).await;
        let (mut ada, rendered) = connect(&app_pages, &ada_page).await;
        let mut users = Vec::new();
        apply_users(&mut users, &rendered["2"]);
        assert_eq!(
            users,
            ["Ada"],
            "Ada sees herself once connected: {rendered}"
        );

        let bob_page = render(&back_pages, "/presence", &[("name", "Bob")]).await;
        let (mut bob, _) = connect(&back_pages, &bob_page).await;
        // Bob is on the other node: his presence reaches Ada's node with the gossip.
        let diff = next_diff(&mut ada).await;
        apply_users(&mut users, &diff["2"]);
        assert_eq!(
            (users.clone(), diff["1"].clone()),
            (vec!["Ada".to_string(), "Bob".to_string()], json!("2")),
            "Bob joined on the other node: Ada's page lists him (diff {diff})"
        );
        assert!(
            !has_statics(&diff),
            "a diff carries only changed dynamics: {diff}"
        );

        bob.leave(&topic(&bob_page)).await;
        let diff = next_diff(&mut ada).await;
        apply_users(&mut users, &diff["2"]);
        assert_eq!(
            users,
            ["Ada"],
            "Bob closed his page: he leaves Ada's list (diff {diff})"
        );
    }
}
