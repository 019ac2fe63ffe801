//! Exercise tests for section 4, part 1 (presence).
//!
//! Each exercise's tests are written once and instantiated twice: against your code
//! (`<exercise>::start::*`, ignored by a plain `cargo test`, run by
//! `cargo xtask check`) and against the reference (`<exercise>::solution::*`).
//! Clients connect in memory; the trackers run on tokio's paused clock, so heartbeats
//! cost no real time.

use std::sync::Arc;
use std::time::Duration;

use channels::client::{ChannelClient, Received, reply_response, reply_status};
use channels::{Frame, LocalPubSub, PubSub};
use section4_tracker_live::Implementation;
use section4_tracker_live::app::PresenceNode;
use serde_json::{Value, json};
use testkit::exercise;
use tracker::TrackerConfig;

const PERIOD: Duration = Duration::from_millis(100);

fn config() -> TrackerConfig {
    TrackerConfig {
        permdown_period: Duration::from_millis(1500),
        ..TrackerConfig::with_periods(PERIOD, 2)
    }
}

/// One node on its own pubsub, on the paused clock.
fn node(implementation: Implementation) -> PresenceNode {
    tokio::time::pause();
    let pubsub: Arc<dyn PubSub> = Arc::new(LocalPubSub::named("app@127.0.0.1"));
    PresenceNode::start(implementation, pubsub, "app@127.0.0.1", config()).expect("valid config")
}

/// Two nodes whose trackers gossip over one shared pubsub (what Redis is across machines).
fn cluster(implementation: Implementation) -> (PresenceNode, PresenceNode) {
    tokio::time::pause();
    let cluster: Arc<dyn PubSub> = Arc::new(LocalPubSub::named("cluster"));
    let start = |name| {
        PresenceNode::start(implementation, cluster.clone(), name, config()).expect("valid config")
    };
    (start(APP), start(BACK))
}

const APP: &str = "app@127.0.0.1";
const BACK: &str = "back@127.0.0.1";

/// The node's `handle_diff` lines that mention `needle`, sorted (local changes are
/// reported at once, remote ones a heartbeat later).
fn lines_with(node: &PresenceNode, needle: &str) -> Vec<String> {
    let mut lines: Vec<String> = node
        .diff_log()
        .into_iter()
        .filter(|line| line.contains(needle))
        .collect();
    lines.sort();
    lines
}

fn connect(node: &PresenceNode) -> ChannelClient {
    node.endpoint
        .connect_in_memory(&[])
        .expect("the presence socket lets everyone in")
}

/// Joins `topic` as `user_id` named `name`; a failed join is a failed test that says why.
async fn join_as(client: &mut ChannelClient, topic: &str, user_id: &str, name: &str) {
    let reply = client
        .join(topic, json!({"user_id": user_id, "name": name}))
        .await;
    assert_eq!(
        reply_status(&reply),
        Some("ok"),
        "joining {topic} as {name} should succeed, got {reply:?}. A `todo!()` left in the \
         channel's join (RoomChannel for room:*, ChatChannel for chat:*) crashes it: \
         track the user, then return Join::ok.\n\
         transcript:\n{}",
        client.transcript()
    );
}

/// The reply to `event`, or a message saying what came instead.
async fn call(client: &mut ChannelClient, topic: &str, event: &str) -> Frame {
    let msg_ref = client.push(topic, event, json!({})).await;
    loop {
        match client.next().await {
            Some(Received::Frame(frame))
                if frame.msg_ref.as_deref() == Some(msg_ref.as_str())
                    && frame.event == "phx_reply" =>
            {
                return frame;
            }
            Some(Received::Frame(frame)) if frame.event == "phx_error" => panic!(
                "the channel crashed while handling {event:?} (the client got phx_error). \
                 A `todo!()` left in handle_in does that: replace it.\ntranscript:\n{}",
                client.transcript()
            ),
            Some(Received::Frame(_)) => {}
            other => panic!(
                "no reply to {event:?}, got {other:?}.\ntranscript:\n{}",
                client.transcript()
            ),
        }
    }
}

/// `list`'s presences, after checking the reply is ok.
async fn list(client: &mut ChannelClient, topic: &str) -> Value {
    let reply = call(client, topic, "list").await;
    assert_eq!(
        reply_status(&reply),
        Some("ok"),
        "`list` should reply ok with the presences, got {reply:?}"
    );
    reply_response(&reply).clone()
}

/// Each key's names, sorted: `{"user:1": ["Alice"], ...}`, and checks every meta's shape.
fn names(presences: &Value) -> Value {
    let Some(presences) = presences.as_object() else {
        panic!("`list` should reply with an object keyed by presence key, got {presences}");
    };
    let mut out = serde_json::Map::new();
    for (key, entry) in presences {
        let metas = entry["metas"].as_array().unwrap_or_else(|| {
            panic!("{key}: expected {{\"metas\": [...]}}, got {entry}. Group the list by key.")
        });
        let mut names = Vec::new();
        for meta in metas {
            assert!(
                meta["online_at"]
                    .as_u64()
                    .is_some_and(|t| t > 1_600_000_000),
                "{key}: each meta needs `online_at` (seconds since the epoch, now_unix()), got {meta}"
            );
            assert!(
                meta["phx_ref"].is_string(),
                "{key}: each meta needs its `phx_ref` (meta_json adds it), got {meta}"
            );
            names.push(meta["name"].clone());
        }
        out.insert(key.clone(), Value::Array(names));
    }
    Value::Object(out)
}

#[exercise(section4_tracker_live)]
mod e01_presence_room {
    use super::*;

    #[tokio::test]
    async fn joined_users_are_listed_by_key_with_their_name() {
        let node = node(IMPLEMENTATION);
        let mut alice = connect(&node);
        let mut bob = connect(&node);
        join_as(&mut alice, "room:lobby", "1", "Alice").await;
        join_as(&mut bob, "room:lobby", "2", "Bob").await;
        let presences = list(&mut alice, "room:lobby").await;
        assert_eq!(
            names(&presences),
            json!({"user:1": ["Alice"], "user:2": ["Bob"]}),
            "after Alice (user 1) and Bob (user 2) joined room:lobby, `list` should show \
             both under user:<id>; got {presences}"
        );
    }

    #[tokio::test]
    async fn two_tabs_of_one_user_are_one_key_with_two_metas() {
        let node = node(IMPLEMENTATION);
        let mut laptop = connect(&node);
        let mut phone = connect(&node);
        join_as(&mut laptop, "room:lobby", "1", "Alice").await;
        join_as(&mut phone, "room:lobby", "1", "Alice").await;
        let presences = list(&mut phone, "room:lobby").await;
        assert_eq!(
            names(&presences),
            json!({"user:1": ["Alice", "Alice"]}),
            "Alice joined from two connections: one key, two metas (one per connection, \
             each with its own phx_ref); got {presences}"
        );
    }

    #[tokio::test]
    async fn rooms_are_separate_and_leaving_untracks() {
        let node = node(IMPLEMENTATION);
        let mut alice = connect(&node);
        let mut bob = connect(&node);
        join_as(&mut alice, "room:lobby", "1", "Alice").await;
        join_as(&mut bob, "room:lobby", "2", "Bob").await;
        join_as(&mut bob, "room:kitchen", "2", "Bob").await;
        assert_eq!(
            names(&list(&mut bob, "room:kitchen").await),
            json!({"user:2": ["Bob"]}),
            "`list` shows only the channel's own topic (ctx.topic())"
        );
        bob.leave("room:lobby").await;
        // The channel's state is dropped after the leave reply; give the shard a tick.
        tokio::time::sleep(PERIOD).await;
        let presences = list(&mut alice, "room:lobby").await;
        assert_eq!(
            names(&presences),
            json!({"user:1": ["Alice"]}),
            "Bob left room:lobby: keep the Owner in the channel so that dropping the \
             channel untracks him; got {presences}"
        );
        assert_eq!(
            names(&list(&mut bob, "room:kitchen").await),
            json!({"user:2": ["Bob"]}),
            "leaving the lobby must not untrack Bob from the kitchen"
        );
    }

    #[tokio::test]
    async fn a_join_without_user_id_and_name_is_refused() {
        let node = node(IMPLEMENTATION);
        let mut client = connect(&node);
        let reply = client.join("room:lobby", json!({"name": "Alice"})).await;
        assert_eq!(
            reply_status(&reply),
            Some("error"),
            "no user_id: refuse, got {reply:?}"
        );
        join_as(&mut client, "room:lobby", "1", "Alice").await;
        assert_eq!(
            names(&list(&mut client, "room:lobby").await),
            json!({"user:1": ["Alice"]})
        );
    }
}

#[exercise(section4_tracker_live)]
mod e02_handle_diff {
    use super::*;

    #[tokio::test]
    async fn describe_diff_writes_one_line_per_join_and_leave() {
        let node = node(IMPLEMENTATION);
        let mut alice = connect(&node);
        let mut bob = connect(&node);
        join_as(&mut alice, "room:lobby", "1", "Alice").await;
        join_as(&mut bob, "room:lobby", "2", "Bob").await;
        bob.leave("room:lobby").await;
        tokio::time::sleep(PERIOD).await;
        let log = node.diff_log();
        assert_eq!(
            log,
            [
                "app@127.0.0.1 room:lobby join user:1 (Alice)",
                "app@127.0.0.1 room:lobby join user:2 (Bob)",
                "app@127.0.0.1 room:lobby leave user:2 (Bob)",
            ],
            "handle_diff ran once per change on this node; describe_diff should turn each \
             join and leave into \"{{node}} {{topic}} join|leave {{key}} ({{name}})\". If you \
             see \"describe_diff panicked\", the todo!() is still there."
        );
    }

    #[tokio::test]
    async fn joins_and_leaves_fire_on_every_node() {
        let (app, back) = cluster(IMPLEMENTATION);
        let mut alice = connect(&app);
        let mut bob = connect(&back);
        join_as(&mut alice, "room:lobby", "1", "Alice").await;
        join_as(&mut bob, "room:lobby", "2", "Bob").await;
        // A few heartbeats carry each node's delta to the other.
        tokio::time::sleep(PERIOD * 5).await;
        for (node, name) in [(&app, APP), (&back, BACK)] {
            assert_eq!(
                lines_with(node, " join "),
                [
                    format!("{name} room:lobby join user:1 (Alice)"),
                    format!("{name} room:lobby join user:2 (Bob)"),
                ],
                "Alice joined on app, Bob on back: handle_diff reports both joins on {name} \
                 (full log: {:?})",
                node.diff_log()
            );
        }
        drop(bob);
        tokio::time::sleep(PERIOD * 5).await;
        for (node, name) in [(&app, APP), (&back, BACK)] {
            assert_eq!(
                lines_with(node, " leave "),
                [format!("{name} room:lobby leave user:2 (Bob)")],
                "Bob's connection closed on back: both nodes report his leave (log of {name}: {:?})",
                node.diff_log()
            );
        }
    }
}

/// The next frame that is not a reply, or a failure that says what came instead.
async fn next_push(client: &mut ChannelClient, what: &str) -> Frame {
    let wait = tokio::time::timeout(PERIOD * 10, async {
        loop {
            match client.next().await {
                Some(Received::Frame(frame)) if frame.event != "phx_reply" => return Some(frame),
                Some(Received::Frame(_)) => {}
                _ => return None,
            }
        }
    });
    match wait.await {
        Ok(Some(frame)) => frame,
        _ => panic!(
            "expected {what}, but nothing came (within 1 s of paused time).\ntranscript:\n{}",
            client.transcript()
        ),
    }
}

/// Each key's names in a `{KEY: {"metas": [...]}}` object (checking the metas' shape).
fn names_in(presences: &Value) -> Value {
    names(presences)
}

#[exercise(section4_tracker_live)]
mod e03_presence_channel {
    use super::*;

    #[tokio::test]
    async fn presence_state_is_pushed_right_after_the_join_reply() {
        let node = node(IMPLEMENTATION);
        let mut alice = connect(&node);
        join_as(&mut alice, "chat:lobby", "1", "Alice").await;
        let state = next_push(&mut alice, "a presence_state push after the join").await;
        assert_eq!(
            state.event, "presence_state",
            "the first push after joining must be presence_state (send yourself \
             AfterJoin::PushState from join; push it in handle_info); got {state:?}"
        );
        assert_eq!(
            (state.join_ref.as_deref(), state.msg_ref.as_deref()),
            (alice.join_ref("chat:lobby"), None),
            "presence_state is a channel push: the join's join_ref, and no ref"
        );
        assert_eq!(
            names_in(&state.payload),
            json!({"user:1": ["Alice"]}),
            "the state lists everyone in the topic, yourself included: {}",
            state.payload
        );
    }

    #[tokio::test]
    async fn joins_and_leaves_reach_the_others_as_presence_diff() {
        let node = node(IMPLEMENTATION);
        let mut alice = connect(&node);
        let mut bob = connect(&node);
        join_as(&mut alice, "chat:lobby", "1", "Alice").await;
        next_push(&mut alice, "presence_state").await;
        join_as(&mut bob, "chat:lobby", "2", "Bob").await;
        let diff = next_push(&mut alice, "a presence_diff for Bob's join").await;
        assert_eq!(diff.event, "presence_diff", "got {diff:?}");
        assert_eq!(
            (diff.join_ref.as_deref(), diff.msg_ref.as_deref()),
            (None, None),
            "presence_diff is a broadcast: both refs null"
        );
        assert_eq!(
            names_in(&diff.payload["joins"]),
            json!({"user:2": ["Bob"]}),
            "{}",
            diff.payload
        );
        assert_eq!(
            names_in(&diff.payload["leaves"]),
            json!({}),
            "{}",
            diff.payload
        );
        bob.leave("chat:lobby").await;
        let diff = next_push(&mut alice, "a presence_diff for Bob's leave").await;
        assert_eq!(
            names_in(&diff.payload["joins"]),
            json!({}),
            "{}",
            diff.payload
        );
        assert_eq!(
            names_in(&diff.payload["leaves"]),
            json!({"user:2": ["Bob"]}),
            "Bob left: his meta (same phx_ref as when he joined) goes under leaves: {}",
            diff.payload
        );
    }

    #[tokio::test]
    async fn a_user_on_the_other_node_appears_in_the_diff() {
        let (app, back) = cluster(IMPLEMENTATION);
        let mut alice = connect(&app);
        let mut bob = connect(&back);
        join_as(&mut alice, "chat:lobby", "1", "Alice").await;
        next_push(&mut alice, "presence_state").await;
        join_as(&mut bob, "chat:lobby", "2", "Bob").await;
        let diff = next_push(
            &mut alice,
            "a presence_diff for Bob, who joined on the other node",
        )
        .await;
        assert_eq!(
            names_in(&diff.payload["joins"]),
            json!({"user:2": ["Bob"]}),
            "each node broadcasts the diffs its own tracker reports to its own clients: {}",
            diff.payload
        );
    }

    #[tokio::test]
    async fn an_update_is_a_leave_of_the_old_meta_and_a_join_with_phx_ref_prev() {
        use tracker::presence::UserMeta;
        use tracker::{TopicDiff, Tracked};
        let presence_diff = imp::part1::e03_presence_channel::presence_diff;
        let meta = |status: &str| UserMeta {
            name: format!("Alice ({status})"),
            online_at: 1_700_000_000,
        };
        let diff = TopicDiff {
            joins: vec![(
                "user:1".into(),
                Tracked {
                    meta: meta("away"),
                    phx_ref: "F2".into(),
                    phx_ref_prev: Some("F1".into()),
                },
            )],
            leaves: vec![(
                "user:1".into(),
                Tracked {
                    meta: meta("online"),
                    phx_ref: "F1".into(),
                    phx_ref_prev: None,
                },
            )],
        };
        assert_eq!(
            presence_diff(&diff),
            json!({
                "joins": {"user:1": {"metas": [{"name": "Alice (away)", "online_at": 1_700_000_000,
                                                "phx_ref": "F2", "phx_ref_prev": "F1"}]}},
                "leaves": {"user:1": {"metas": [{"name": "Alice (online)",
                                                 "online_at": 1_700_000_000, "phx_ref": "F1"}]}},
            }),
            "presence_diff groups joins and leaves by key into {{\"metas\": [...]}}, each meta \
             from meta_json (which adds phx_ref, and phx_ref_prev after an update)"
        );
    }
}
