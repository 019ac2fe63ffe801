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

/// A node without Redis (`app@127.0.0.1`, in-memory database) running
/// `implementation`, serving on a free port.
async fn serve_node(implementation: Implementation) -> (Node, channels::Server) {
    let node = Node::start(&NodeConfig {
        name: "app@127.0.0.1".to_owned(),
        redis_url: None,
        implementation,
        database: "sqlite::memory:".to_owned(),
        check_origin: Default::default(),
    })
    .await
    .unwrap();
    let server = node.serve(0).await.unwrap();
    (node, server)
}

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

    let (node, server) = serve_node(Implementation::Solution).await;
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

// ---- s3.e14: one connection and one channel, opened ----

use observability::observe::{Busiest, ChannelSample, ConnectionSample, ConnectionsSample};

/// A connection `id` of age `age_ms` with `(frames_in, bytes_in, frames_out,
/// bytes_out)`, `queued` frames waiting and these channels.
fn conn(
    id: u64,
    age_ms: u64,
    (frames_in, bytes_in, frames_out, bytes_out): (u64, u64, u64, u64),
    queued: usize,
    channels: Vec<ChannelSample>,
) -> ConnectionSample {
    ConnectionSample {
        id,
        socket_id: Some(format!("user_socket:{id}")),
        age_ms,
        frames_in,
        bytes_in,
        frames_out,
        bytes_out,
        outbound_queued: queued,
        outbound_capacity: 256,
        channels,
    }
}

/// A channel on `topic` of age `age_ms`, having handled and sent so many, with
/// `mailbox` messages waiting.
fn chan(topic: &str, age_ms: u64, handled: u64, sent: u64, mailbox: usize) -> ChannelSample {
    ChannelSample {
        topic: topic.to_owned(),
        age_ms,
        handled,
        sent,
        mailbox,
        mailbox_capacity: 64,
    }
}

fn sample(uptime_ms: u64, connections: Vec<ConnectionSample>) -> ConnectionsSample {
    ConnectionsSample {
        uptime_ms,
        connections,
    }
}

/// `(id, measure)` of one list, for readable assertions.
fn ids(list: &[observe::ConnectionRate]) -> Vec<u64> {
    list.iter().map(|c| c.id).collect()
}

/// A tmux server of its own (`-L`), killed when the test ends, however it ends.
struct Tmux(String);

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux")
            .arg("-L")
            .arg(&self.0)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The pane's text, without the blank lines below what `top` drew.
    fn screen(&self) -> String {
        let screen = self.run(&["capture-pane", "-p", "-t", "top"]);
        let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
        let drawn = lines
            .iter()
            .rposition(|line| !line.is_empty())
            .map_or(0, |at| at + 1);
        lines[..drawn].join("\n")
    }

    /// Waits (up to 30 s, a loaded machine's debug build) for the screen to show
    /// `text`; the last screen either way. A node explaining that s3.e14 is not done
    /// ends the wait at once: nothing more will come.
    async fn wait_for(&self, text: &str) -> (bool, String) {
        let mut screen = String::new();
        for _ in 0..300 {
            screen = self.screen();
            if screen.contains(text) {
                return (true, screen);
            }
            if screen.contains("is not done yet") {
                return (false, screen);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        (false, screen)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

#[exercise(section3_production)]
mod e14_observer {
    use super::*;

    #[test]
    fn a_rate_is_a_counter_increase_per_second_per_connection_and_channel() {
        let before = sample(
            10_000,
            vec![conn(
                7,
                8_000,
                (10, 1_000, 5, 4_000),
                0,
                vec![chan("feed", 8_000, 4, 1, 0)],
            )],
        );
        let after = sample(
            12_000,
            vec![conn(
                7,
                10_000,
                (30, 3_000, 45, 8_000),
                3,
                vec![chan("feed", 10_000, 24, 9, 2)],
            )],
        );
        let busiest = imp::part3::e14_observer::busiest(&before, &after, 10);
        assert_eq!(busiest.elapsed_ms, 2_000, "uptime 10,000 -> 12,000 ms");
        assert_eq!(
            busiest.connections, 1,
            "one connection in the current sample"
        );
        let Some(c) = busiest.by_in.first() else {
            panic!("connection 7 received 20 messages in 2 s: it belongs in by_in, got {busiest:?}")
        };
        assert_eq!(
            (
                c.in_per_sec,
                c.out_per_sec,
                c.bytes_in_per_sec,
                c.bytes_out_per_sec
            ),
            (10.0, 20.0, 1_000.0, 2_000.0),
            "frames in 10 -> 30, out 5 -> 45, bytes in 1,000 -> 3,000, out 4,000 -> 8,000, \
             in 2 s: 10 and 20 msg/s, 1,000 and 2,000 B/s. Divide each counter's increase \
             by the elapsed *seconds*"
        );
        assert_eq!(
            (c.outbound_queued, c.outbound_capacity),
            (3, 256),
            "the outbound queue is a gauge: its current value, not a rate"
        );
        let feed = c.channels.first().unwrap_or_else(|| {
            panic!("the connection's channels are listed with their rates: {c:?}")
        });
        assert_eq!(
            (
                feed.connection,
                feed.topic.as_str(),
                feed.in_per_sec,
                feed.out_per_sec
            ),
            (7, "feed", 10.0, 4.0),
            "feed handled 4 -> 24 and sent 1 -> 9 in 2 s: 10 and 4 per second, on \
             connection 7"
        );
        assert_eq!(
            (feed.mailbox, feed.mailbox_capacity),
            (2, 64),
            "the mailbox is a gauge too"
        );
    }

    #[test]
    fn what_is_younger_than_the_interval_counts_from_zero_over_its_age() {
        // Connection 1 was there before; 2 closed since; 3 opened 500 ms ago. On 1,
        // `feed` was left and joined again 250 ms ago: its counters started again.
        let before = sample(
            4_000,
            vec![
                conn(
                    1,
                    3_000,
                    (100, 100, 0, 0),
                    0,
                    vec![chan("feed", 3_000, 50, 0, 0)],
                ),
                conn(2, 3_000, (5, 5, 0, 0), 0, vec![]),
            ],
        );
        let after = sample(
            6_000,
            vec![
                conn(
                    1,
                    5_000,
                    (104, 104, 0, 0),
                    0,
                    vec![chan("feed", 250, 60, 0, 0)],
                ),
                conn(3, 500, (10, 10, 0, 0), 0, vec![]),
            ],
        );
        let busiest = imp::part3::e14_observer::busiest(&before, &after, 10);
        let rates: Vec<(u64, f64)> = busiest.by_in.iter().map(|c| (c.id, c.in_per_sec)).collect();
        assert_eq!(
            rates,
            vec![(3, 20.0), (1, 2.0)],
            "connection 3 opened 500 ms ago with 10 messages: 20/s over its age, not 5/s \
             over the 2 s interval; connection 1: 4 in 2 s; connection 2 closed and is gone"
        );
        let feed = &busiest.by_in[1].channels[0];
        assert_eq!(
            feed.in_per_sec, 240.0,
            "feed was joined again 250 ms ago (age 250 < interval 2,000): its 60 handled \
             messages all happened since, 240/s. 60 - 50 = 10 would mix two channels' \
             counters; trust the age, not the counter"
        );
    }

    #[test]
    fn each_list_ranks_by_its_own_measure_ties_by_id_and_keeps_at_most_top() {
        let before = sample(1_000, vec![]);
        let mut connections = vec![
            conn(1, 9_000, (5, 50, 0, 0), 0, vec![]),
            conn(2, 9_000, (9, 90, 1, 10), 4, vec![]),
            conn(3, 9_000, (5, 50, 30, 30_000), 0, vec![]),
            conn(4, 9_000, (0, 0, 0, 0), 0, vec![]),
            conn(5, 9_000, (1, 10, 20, 200), 9, vec![]),
        ];
        // A crowd of idle connections: none of them belongs in any list.
        connections.extend((100..20_000).map(|id| conn(id, 9_000, (0, 0, 0, 0), 0, vec![])));
        let after = sample(2_000, connections);
        let busiest = imp::part3::e14_observer::busiest(&before, &after, 3);
        assert_eq!(busiest.connections, 19_905, "every connection is counted");
        assert_eq!(
            ids(&busiest.by_in),
            vec![2, 1, 3],
            "by messages in: 2 (9/s), then 1 and 3 (5/s each, ties by id), at most 3"
        );
        assert_eq!(
            ids(&busiest.by_out),
            vec![3, 5, 2],
            "by messages out: 30, 20, 1 per second"
        );
        assert_eq!(
            ids(&busiest.by_bytes),
            vec![3, 5, 2],
            "by bytes in + out: 30,050, 210, 100 B/s (1 has 50: fourth, cut by top = 3)"
        );
        assert_eq!(
            ids(&busiest.by_queue),
            vec![5, 2],
            "by outbound queue: 9 then 4; connections with an empty queue are not listed"
        );
    }

    #[test]
    fn the_deepest_mailboxes_across_every_connection() {
        let before = sample(0, vec![]);
        let after = sample(
            1_000,
            vec![
                conn(
                    1,
                    1_000,
                    (0, 0, 0, 0),
                    0,
                    vec![chan("orders:eu", 1_000, 0, 0, 3)],
                ),
                conn(
                    2,
                    1_000,
                    (0, 0, 0, 0),
                    0,
                    vec![
                        chan("feed", 1_000, 0, 0, 0),
                        chan("orders:us", 1_000, 0, 0, 40),
                    ],
                ),
                conn(
                    3,
                    1_000,
                    (0, 0, 0, 0),
                    0,
                    vec![chan("orders:eu", 1_000, 0, 0, 3)],
                ),
            ],
        );
        let busiest = imp::part3::e14_observer::busiest(&before, &after, 10);
        let deepest: Vec<(u64, &str, usize)> = busiest
            .channels_by_mailbox
            .iter()
            .map(|c| (c.connection, c.topic.as_str(), c.mailbox))
            .collect();
        assert_eq!(
            deepest,
            vec![
                (2, "orders:us", 40),
                (1, "orders:eu", 3),
                (3, "orders:eu", 3)
            ],
            "deepest first, ties by connection then topic; an empty mailbox is not listed"
        );
    }

    #[test]
    fn no_time_gives_no_rate_and_a_restart_measures_from_zero() {
        let same = sample(5_000, vec![conn(1, 4_000, (10, 10, 0, 0), 2, vec![])]);
        let busiest = imp::part3::e14_observer::busiest(&same, &same, 10);
        assert!(
            busiest.by_in.is_empty() && busiest.by_bytes.is_empty(),
            "two samples at the same uptime say nothing about a rate: no connection is \
             busy (0/s, not NaN), got {busiest:?}"
        );
        assert_eq!(
            ids(&busiest.by_queue),
            vec![1],
            "a queue is a gauge: it is known without any elapsed time"
        );
        let before = sample(60_000, vec![conn(1, 59_000, (900, 900, 0, 0), 0, vec![])]);
        let after = sample(2_000, vec![conn(1, 1_000, (6, 6, 0, 0), 0, vec![])]);
        let busiest = imp::part3::e14_observer::busiest(&before, &after, 10);
        let rates: Vec<(u64, f64)> = busiest.by_in.iter().map(|c| (c.id, c.in_per_sec)).collect();
        assert_eq!(
            rates,
            vec![(1, 6.0)],
            "uptime went 60 s -> 2 s: the node restarted, and id 1 is a new connection of \
             age 1 s with 6 messages: 6/s over its age (not 3/s over the 2 s since the \
             restart). When uptime goes backwards, ignore `previous`"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn top_opens_the_busiest_connection_in_a_terminal() {
        use channels::client::ChannelClient;

        if std::process::Command::new("tmux")
            .arg("-V")
            .output()
            .is_err()
        {
            testkit::skip_or_fail(
                "the top screen in tmux",
                &testkit::Missing::new(
                    "tmux",
                    "tmux is not installed",
                    "sudo apt-get install tmux",
                ),
            );
            return;
        }
        let (node, server) = serve_node(IMPLEMENTATION).await;
        // A busy client (twenty pings) and a quiet one (a join).
        let mut busy = ChannelClient::connect(&server.socket_url("/socket", &[]))
            .await
            .unwrap();
        busy.join("ping", json!({})).await;
        for _ in 0..20 {
            busy.call("ping", "ping", json!({})).await;
        }
        let mut quiet = ChannelClient::connect(&server.socket_url("/socket", &[]))
            .await
            .unwrap();
        quiet.join("feed", json!({})).await;
        let busy_id = node
            .inspector
            .sample()
            .into_iter()
            .max_by_key(|c| c.frames_in)
            .expect("two connections are registered")
            .id;

        let tmux = Tmux(format!(
            "e14-{}-{}",
            std::process::id(),
            IMPLEMENTATION.name()
        ));
        let command = format!(
            "{} top http://{}",
            env!("CARGO_BIN_EXE_section3-production"),
            server.addr()
        );
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "110",
            "-y",
            "34",
            &command,
        ]);
        let (started, screen) = tmux.wait_for("top: app@127.0.0.1").await;
        assert!(
            started,
            "`top` did not draw its node view within 30 s:\n{screen}"
        );
        tmux.run(&["send-keys", "-t", "top", "c"]);
        let (opened, screen) = tmux.wait_for("its 1 channels").await;
        assert!(
            opened,
            "after `c`, top should list the busiest connections by messages in/s and open \
             the first (connection {busy_id}, twenty pings) with its channel `ping`; the \
             node ranks them with s3.e14's `busiest`. The screen:\n{screen}"
        );
        for expected in [
            "busiest by messages in/s".to_owned(),
            format!("connection {busy_id} (anonymous)"),
            format!("> {busy_id}"),
            "ping".to_owned(),
            "0/64".to_owned(),
            "0/256".to_owned(),
        ] {
            assert!(
                screen.contains(&expected),
                "the connections view shows {expected:?} (the busy connection first and \
                 opened: its outbound queue x/256, its channel ping with mailbox x/64):\n{screen}"
            );
        }
        tmux.run(&["send-keys", "-t", "top", "m"]);
        let (switched, screen) = tmux.wait_for("busiest by messages out/s").await;
        assert!(switched, "`m` ranks by the next measure:\n{screen}");
        tmux.run(&["send-keys", "-t", "top", "q"]);
        drop(tmux);
        node.endpoint.shutdown();
        server.stop().await;
    }
}

#[test]
fn the_connections_view_shows_why_it_has_nothing() {
    let mut terminal = Terminal::new(TestBackend::new(100, 20)).unwrap();
    terminal
        .draw(|frame| {
            top::render_connections(
                frame,
                "app@127.0.0.1",
                Err("s3.e14 is not done yet"),
                top::Metric::In,
                0,
            )
        })
        .unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("s3.e14 is not done yet"), "{screen}");

    let empty = Busiest::default();
    terminal
        .draw(|frame| {
            top::render_connections(frame, "app@127.0.0.1", Ok(&empty), top::Metric::Queue, 3)
        })
        .unwrap();
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("no connection has any outbound queue now")
            && screen.contains("every mailbox is empty"),
        "{screen}"
    );
}

#[tokio::test]
async fn a_node_counts_each_connection_and_channel_for_observe_connections() {
    use channels::client::ChannelClient;

    let (node, server) = serve_node(Implementation::Solution).await;
    let base = format!("http://{}", server.addr());
    let mut client = ChannelClient::connect(&server.socket_url("/socket", &[]))
        .await
        .unwrap();
    client.join("ping", json!({})).await;
    for _ in 0..3 {
        client.call("ping", "ping", json!({})).await;
    }
    let samples = node.inspector.sample();
    assert_eq!(samples.len(), 1, "one connection registered: {samples:?}");
    let one = &samples[0];
    assert_eq!(
        (one.frames_in, one.frames_out),
        (4, 4),
        "a join and three pings in, four replies out: {one:?}"
    );
    assert!(one.bytes_in > 0 && one.bytes_out > one.bytes_in, "{one:?}");
    let ping = &one.channels[0];
    assert_eq!(
        (
            ping.topic.as_str(),
            ping.handled,
            ping.sent,
            ping.mailbox_capacity
        ),
        ("ping", 3, 4, 64),
        "the channel handled three pings and sent four replies (the join's too): {ping:?}"
    );

    let busiest = observe::fetch_connections(&base, 5).await.unwrap();
    assert_eq!(busiest.connections, 1);
    assert_eq!(busiest.by_in.len(), 1, "{busiest:?}");
    client.leave("ping").await;
    drop(client);
    // The connection leaves the registry when it ends.
    for _ in 0..100 {
        if node.inspector.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        node.inspector.is_empty(),
        "a closed connection is forgotten"
    );
    node.endpoint.shutdown();
    server.stop().await;
}

#[test]
fn serve_console_without_its_build_names_the_command_that_builds_it() {
    if cfg!(all(feature = "console", tokio_unstable)) {
        // This build can serve tokio-console: nothing to refuse.
        return;
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_section3-production"))
        .args(["serve", "--console", "--port", "0"])
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "serve --console must not start: {stderr}"
    );
    assert!(
        stderr.contains(section3_production::console::COMMAND),
        "the error names the exact command, {:?}: {stderr}",
        section3_production::console::COMMAND
    );
}
