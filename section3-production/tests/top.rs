//! Observing a live node (s3.e9): rates from two snapshots, the `top` screen, and
//! the `/observe` endpoint a node serves, over a real socket.

use std::collections::BTreeMap;

use observability::observe::{self, Snapshot, TopicStats};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use section3_production::Implementation;
use section3_production::node::{Node, NodeConfig};
use section3_production::top;
use serde_json::json;
use testkit::exercise;

/// A snapshot of `app@127.0.0.1` at `uptime_ms`, with `(topic, subscribers,
/// broadcasts)` and the node-wide broadcast counter.
fn snapshot(uptime_ms: u64, broadcasts: u64, topics: &[(&str, usize, u64)]) -> Snapshot {
    Snapshot {
        node: "app@127.0.0.1".to_owned(),
        uptime_ms,
        connections: 3,
        rss_bytes: Some(24 * 1024 * 1024),
        live_tasks: 17,
        broadcasts,
        topics: topics
            .iter()
            .map(|&(topic, subscribers, broadcasts)| {
                (
                    topic.to_owned(),
                    TopicStats {
                        subscribers,
                        broadcasts,
                    },
                )
            })
            .collect::<BTreeMap<_, _>>(),
        cluster: Some(vec![
            "app@127.0.0.1".to_owned(),
            "backend@127.0.0.1".to_owned(),
        ]),
    }
}

/// `(topic, per_sec)` of the busiest list, for readable assertions.
fn ranked(rates: &observe::Rates) -> Vec<(String, f64)> {
    rates
        .busiest
        .iter()
        .map(|t| (t.topic.clone(), t.per_sec))
        .collect()
}

fn named(list: &[(&str, f64)]) -> Vec<(String, f64)> {
    list.iter().map(|&(t, r)| (t.to_owned(), r)).collect()
}

#[exercise(section3_production)]
mod e09_rates {
    use super::*;

    #[test]
    fn a_rate_is_the_counter_increase_over_the_elapsed_time() {
        let before = snapshot(
            1_000,
            10,
            &[("feed", 2, 4), ("user:42", 1, 0), ("ops", 1, 5)],
        );
        let after = snapshot(
            3_000,
            50,
            &[("feed", 2, 24), ("user:42", 1, 2), ("ops", 1, 5)],
        );
        let rates = imp::part2::e09_rates::rates(&before, &after, 8);
        assert_eq!(
            rates.broadcasts_per_sec, 20.0,
            "the node's counter went from 10 to 50 in 2 s (uptime 1000 -> 3000 ms), so 20/s; \
             got {}. Divide the counter's increase by the elapsed *seconds*.",
            rates.broadcasts_per_sec
        );
        assert_eq!(
            ranked(&rates),
            named(&[("feed", 10.0), ("user:42", 1.0)]),
            "feed went 4 -> 24 and user:42 0 -> 2 in 2 s; ops did not move, so it is not \
             busy. Expected [feed 10/s, user:42 1/s], busiest first, without ops."
        );
        assert_eq!(
            rates.busiest[0].subscribers, 2,
            "each busy topic carries its current subscriber count"
        );
    }

    #[test]
    fn the_busiest_come_first_ties_by_name_and_at_most_top() {
        let before = snapshot(0, 0, &[]);
        let after = snapshot(
            1_000,
            16,
            &[
                ("sensors:b", 1, 3),
                ("orders", 4, 9),
                ("sensors:a", 1, 3),
                ("users", 9, 1),
            ],
        );
        let rates = imp::part2::e09_rates::rates(&before, &after, 3);
        assert_eq!(
            ranked(&rates),
            named(&[("orders", 9.0), ("sensors:a", 3.0), ("sensors:b", 3.0)]),
            "rank by rate, highest first; equal rates by topic name so the screen does not \
             shuffle every second; keep at most `top` (3) topics."
        );
    }

    #[test]
    fn a_counter_that_went_down_was_reset() {
        // `user:42` lost its last subscriber and came back: its counter restarted.
        // `sensors` is new since the previous look.
        let before = snapshot(5_000, 100, &[("user:42", 1, 40)]);
        let after = snapshot(6_000, 106, &[("user:42", 1, 2), ("sensors", 1, 4)]);
        let rates = imp::part2::e09_rates::rates(&before, &after, 8);
        assert_eq!(
            ranked(&rates),
            named(&[("sensors", 4.0), ("user:42", 2.0)]),
            "user:42's counter went 40 -> 2: it was reset, so 2 broadcasts happened since, \
             not -38 (and not a wrapped-around u64). A topic absent before counts from 0."
        );
    }

    #[test]
    fn a_restarted_node_is_measured_from_its_restart() {
        let before = snapshot(60_000, 5_000, &[("feed", 3, 4_000)]);
        let after = snapshot(2_000, 30, &[("feed", 1, 10)]);
        let rates = imp::part2::e09_rates::rates(&before, &after, 8);
        assert_eq!(
            rates.broadcasts_per_sec, 15.0,
            "uptime went 60 s -> 2 s: the node restarted, and its 30 broadcasts happened in \
             those 2 s, so 15/s; got {}. When uptime goes backwards, ignore `previous`.",
            rates.broadcasts_per_sec
        );
        assert_eq!(
            ranked(&rates),
            named(&[("feed", 5.0)]),
            "feed: 10 broadcasts in the 2 s since the restart"
        );
    }

    #[test]
    fn no_time_elapsed_gives_no_rate_rather_than_nan() {
        let same = snapshot(4_000, 12, &[("feed", 1, 12)]);
        let rates = imp::part2::e09_rates::rates(&same, &same, 8);
        assert!(
            rates.broadcasts_per_sec == 0.0 && rates.busiest.is_empty(),
            "two snapshots at the same uptime say nothing about a rate: expected 0/s and no \
             busy topic, got {rates:?} (a division by zero gives NaN or infinity)."
        );
    }

    #[test]
    fn the_top_screen() {
        let before = snapshot(
            61_000,
            200,
            &[
                ("feed", 2, 150),
                ("user:42", 1, 10),
                ("users_socket:42", 1, 0),
            ],
        );
        let after = snapshot(
            62_000,
            236,
            &[
                ("feed", 2, 180),
                ("user:42", 1, 16),
                ("users_socket:42", 1, 0),
                ("ops", 1, 0),
            ],
        );
        let mut terminal = Terminal::new(TestBackend::new(80, 16)).unwrap();
        terminal
            .draw(|frame| top::render(frame, IMPLEMENTATION, Some(&before), &after, None))
            .unwrap();
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!("s3_e9_top_screen", terminal.backend().to_string());
        });
    }
}

#[test]
fn the_first_screen_shows_no_rates_yet() {
    let first = snapshot(500, 0, &[("feed", 1, 0)]);
    let mut terminal = Terminal::new(TestBackend::new(80, 16)).unwrap();
    terminal
        .draw(|frame| {
            top::render(
                frame,
                Implementation::Solution,
                None,
                &first,
                Some("cannot reach a node"),
            )
        })
        .unwrap();
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("rates in 1 s"),
        "with one snapshot there is no rate yet:\n{screen}"
    );
    assert!(
        screen.contains("cannot reach a node"),
        "a failed refresh shows in the footer:\n{screen}"
    );
}

#[tokio::test]
async fn a_node_serves_its_snapshot_at_observe() {
    use channels::client::ChannelClient;

    let node = Node::start(&NodeConfig {
        name: "app@127.0.0.1".to_owned(),
        redis_url: None,
        implementation: Implementation::Solution,
        database: "sqlite::memory:".to_owned(),
        check_origin: Default::default(),
    })
    .await
    .unwrap();
    let server = node.serve(0).await.unwrap();
    let base = format!("http://{}", server.addr());

    let mut browser = ChannelClient::connect(&server.socket_url("/socket", &[]))
        .await
        .unwrap();
    browser.join("feed", json!({})).await;
    for n in 0..3 {
        node.endpoint.broadcast(
            "feed",
            "activity.created",
            channels::payload(json!({ "n": n })),
        );
    }

    let seen = observe::fetch(&base).await.unwrap();
    assert_eq!(seen.node, "app@127.0.0.1");
    assert_eq!(seen.connections, 1, "one browser is connected: {seen:?}");
    let feed = seen
        .topics
        .get("feed")
        .unwrap_or_else(|| panic!("the joined feed topic is listed: {seen:?}"));
    assert_eq!(feed.subscribers, 1, "one channel joined feed: {seen:?}");
    assert!(
        feed.broadcasts >= 3,
        "three broadcasts went to feed: {seen:?}"
    );
    assert!(
        seen.broadcasts >= 3,
        "the node-wide counter includes them: {seen:?}"
    );
    assert_eq!(seen.cluster, None, "a node without --redis is alone");
    assert!(seen.live_tasks > 0);
    if cfg!(target_os = "linux") {
        assert!(
            seen.rss_bytes.unwrap() > 0,
            "RSS comes from /proc/self/statm"
        );
    }

    browser.leave("feed").await;
    let later = observe::fetch(&base).await.unwrap();
    assert!(
        !later.topics.contains_key("feed"),
        "a topic with no subscriber left is forgotten: {later:?}"
    );
    assert!(
        later.uptime_ms >= seen.uptime_ms,
        "uptime never goes backwards on a running node"
    );

    node.endpoint.shutdown();
    server.stop().await;
}

#[tokio::test]
async fn an_unreachable_node_is_a_clear_error() {
    // A port that was free a moment ago: nothing listens there now.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let error = observe::fetch(&format!("http://{addr}"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("cannot reach a node"),
        "the error says what failed: {error}"
    );

    let error = observe::fetch("127.0.0.1:4000")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("http://"),
        "a URL without its scheme says what is expected: {error}"
    );
}
