//! `top`: attach to a node and watch it live in the terminal.
//!
//! The screen is a pure function of two snapshots ([`render`]): the previous one
//! and the current one, whose difference gives the rates (s3.e9). That keeps the
//! terminal plumbing ([`run`]) thin and the screen testable with ratatui's
//! `TestBackend`, no terminal needed.
//!
//! Press `c` for the other view ([`render_connections`]): the busiest connections by
//! one measure (`m` picks which), one of them opened (`↑`/`↓` picks which) with
//! each of its channels' mailbox depth and rates, and the deepest mailboxes of the
//! node. The node ranks them (s3.e14); `top` asks for the few it shows.

use std::time::Duration;

use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row, Table};

use observability::observe::{self, Busiest, ConnectionRate, Rates, Snapshot};

use crate::Implementation;

/// How many of the busiest topics the screen lists.
pub const BUSIEST: usize = 8;

/// How often `top` asks the node for a snapshot.
pub const REFRESH: Duration = Duration::from_secs(1);

/// The rates between two snapshots, by your code or the reference (s3.e9).
pub fn rates(
    implementation: Implementation,
    previous: &Snapshot,
    current: &Snapshot,
    top: usize,
) -> Rates {
    match implementation {
        Implementation::Start => crate::start::part2::e09_rates::rates(previous, current, top),
        Implementation::Solution => {
            crate::solution::part2::e09_rates::rates(previous, current, top)
        }
    }
}

/// Draws one screen: `current`'s gauges, the rates since `previous` (none on the
/// first screen), and `status` (why the latest refresh failed, if it did).
pub fn render(
    frame: &mut Frame,
    implementation: Implementation,
    previous: Option<&Snapshot>,
    current: &Snapshot,
    status: Option<&str>,
) {
    let rates = previous.map(|previous| rates(implementation, previous, current, BUSIEST));
    let [header, tables, cluster, footer] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(4),
        Constraint::Length(4),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    let rate = match &rates {
        Some(rates) => format!("{:.1} msg/s", rates.broadcasts_per_sec),
        None => "rates in 1 s".to_owned(),
    };
    let rss = match current.rss_bytes {
        Some(bytes) => format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0)),
        None => "n/a".to_owned(),
    };
    let summary = format!(
        "up {} | conns {} | RSS {rss} | tasks {} | {rate}",
        uptime(current.uptime_ms),
        current.connections,
        current.live_tasks,
    );
    frame.render_widget(
        Paragraph::new(summary).block(Block::bordered().title(format!(" top: {} ", current.node))),
        header,
    );

    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(tables);
    // Most subscribed first: the topics that cost the most memory per broadcast.
    let mut topics: Vec<_> = current.topics.iter().collect();
    topics.sort_by(|a, b| b.1.subscribers.cmp(&a.1.subscribers).then(a.0.cmp(b.0)));
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let per_topic = Table::new(
        topics
            .iter()
            .map(|(topic, stats)| Row::new([topic.to_string(), stats.subscribers.to_string()])),
        [Constraint::Min(10), Constraint::Length(6)],
    )
    .header(Row::new(["topic", "subs"]).style(bold))
    .block(Block::bordered().title(" channels per topic "));
    frame.render_widget(per_topic, left);

    let busiest_rows: Vec<Row> = match &rates {
        Some(rates) => rates
            .busiest
            .iter()
            .map(|busy| {
                Row::new([
                    busy.topic.clone(),
                    format!("{:.1}", busy.per_sec),
                    busy.subscribers.to_string(),
                ])
            })
            .collect(),
        None => Vec::new(),
    };
    let busiest = Table::new(
        busiest_rows,
        [
            Constraint::Min(10),
            Constraint::Length(7),
            Constraint::Length(5),
        ],
    )
    .header(Row::new(["topic", "msg/s", "subs"]).style(bold))
    .block(Block::bordered().title(" busiest channels "));
    frame.render_widget(busiest, right);

    let members = match &current.cluster {
        Some(nodes) if nodes.is_empty() => "clustered, no heartbeat heard yet".to_owned(),
        Some(nodes) => nodes.join(", "),
        None => "alone (started without --redis)".to_owned(),
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(members),
            // One connection, its channels and their mailboxes: the other view (s3.e14).
            Line::from("connections, their channels and mailbox depths: press c"),
        ])
        .block(Block::bordered().title(" cluster ")),
        cluster,
    );

    let help = match status {
        Some(error) => format!("q quits | {error}"),
        None => "q quits | refreshes every second".to_owned(),
    };
    frame.render_widget(Paragraph::new(help), footer);
}

fn uptime(ms: u64) -> String {
    let seconds = ms / 1000;
    format!(
        "{}h{:02}m{:02}s",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// What `top` shows: the node (s3.e9) or its connections (s3.e14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Connections, topics, rates, memory, the cluster.
    Node,
    /// The busiest connections, one of them opened.
    Connections,
}

/// The measure the connections view ranks by (`m` moves to the next).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Messages received per second.
    In,
    /// Messages sent per second.
    Out,
    /// Bytes per second, both ways.
    Bytes,
    /// Frames waiting in the outbound queue.
    Queue,
}

impl Metric {
    /// The next measure, round.
    pub fn next(self) -> Metric {
        match self {
            Metric::In => Metric::Out,
            Metric::Out => Metric::Bytes,
            Metric::Bytes => Metric::Queue,
            Metric::Queue => Metric::In,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Metric::In => "messages in/s",
            Metric::Out => "messages out/s",
            Metric::Bytes => "bytes/s",
            Metric::Queue => "outbound queue",
        }
    }

    /// The list of `busiest` ranked by this measure.
    pub fn list(self, busiest: &Busiest) -> &[ConnectionRate] {
        match self {
            Metric::In => &busiest.by_in,
            Metric::Out => &busiest.by_out,
            Metric::Bytes => &busiest.by_bytes,
            Metric::Queue => &busiest.by_queue,
        }
    }
}

/// How many connections (and mailboxes) the connections view asks the node for.
pub const CONNECTIONS: usize = 10;

/// Draws the connections view: the busiest connections by `metric`, the
/// `selected` one opened with its channels, and the deepest mailboxes. `busiest` is
/// the node's answer, or why there is none (s3.e14 not done, node unreachable).
pub fn render_connections(
    frame: &mut Frame,
    node: &str,
    busiest: Result<&Busiest, &str>,
    metric: Metric,
    selected: usize,
) {
    let [list_area, opened_area, mailboxes_area, footer] = Layout::vertical([
        Constraint::Min(5),
        Constraint::Min(6),
        Constraint::Length(5),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let bold = Style::default().add_modifier(Modifier::BOLD);
    frame.render_widget(
        Paragraph::new("q quits | c node view | m next measure | up/down opens another connection"),
        footer,
    );
    let busiest = match busiest {
        Ok(busiest) => busiest,
        Err(why) => {
            frame.render_widget(
                Paragraph::new(why.to_owned())
                    .wrap(ratatui::widgets::Wrap { trim: true })
                    .block(Block::bordered().title(format!(" top: {node}, connections "))),
                list_area,
            );
            return;
        }
    };
    let list = metric.list(busiest);
    let selected = selected.min(list.len().saturating_sub(1));
    let rows = list.iter().enumerate().map(|(at, c)| {
        let row = Row::new([
            format!("{}{}", if at == selected { "> " } else { "  " }, c.id),
            c.socket_id.clone().unwrap_or_else(|| "-".to_owned()),
            format!("{:.1}", c.in_per_sec),
            format!("{:.1}", c.out_per_sec),
            bytes_per_sec(c.bytes_in_per_sec + c.bytes_out_per_sec),
            format!("{}/{}", c.outbound_queued, c.outbound_capacity),
            age(c.age_ms),
        ]);
        if at == selected { row.style(bold) } else { row }
    });
    let title = format!(
        " top: {node}, {} connections, busiest by {} over {:.1} s (m: next) ",
        busiest.connections,
        metric.title(),
        busiest.elapsed_ms as f64 / 1000.0
    );
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(8),
                Constraint::Min(10),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(10),
                Constraint::Length(8),
                Constraint::Length(10),
            ],
        )
        .header(
            Row::new(["conn", "socket", "in/s", "out/s", "bytes/s", "queue", "age"]).style(bold),
        )
        .block(Block::bordered().title(title)),
        list_area,
    );

    match list.get(selected) {
        None => frame.render_widget(
            Paragraph::new(format!("no connection has any {} now", metric.title()))
                .block(Block::bordered().title(" connection ")),
            opened_area,
        ),
        Some(c) => {
            let [figures, channels] =
                Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(opened_area);
            frame.render_widget(
                Paragraph::new(format!(
                    "age {} | in {:.1} msg/s, {} | out {:.1} msg/s, {} | outbound queue {}/{}",
                    age(c.age_ms),
                    c.in_per_sec,
                    bytes_per_sec(c.bytes_in_per_sec),
                    c.out_per_sec,
                    bytes_per_sec(c.bytes_out_per_sec),
                    c.outbound_queued,
                    c.outbound_capacity,
                ))
                .block(Block::bordered().title(format!(
                    " connection {} ({}) ",
                    c.id,
                    c.socket_id.as_deref().unwrap_or("anonymous")
                ))),
                figures,
            );
            let rows = c.channels.iter().map(|channel| {
                Row::new([
                    channel.topic.clone(),
                    format!("{}/{}", channel.mailbox, channel.mailbox_capacity),
                    format!("{:.1}", channel.in_per_sec),
                    format!("{:.1}", channel.out_per_sec),
                    age(channel.age_ms),
                ])
            });
            frame.render_widget(
                Table::new(
                    rows,
                    [
                        Constraint::Min(10),
                        Constraint::Length(9),
                        Constraint::Length(8),
                        Constraint::Length(8),
                        Constraint::Length(10),
                    ],
                )
                .header(Row::new(["channel", "mailbox", "in/s", "out/s", "age"]).style(bold))
                .block(Block::bordered().title(format!(" its {} channels ", c.channels.len()))),
                channels,
            );
        }
    }

    let rows: Vec<Row> = busiest
        .channels_by_mailbox
        .iter()
        .map(|channel| {
            Row::new([
                channel.connection.to_string(),
                channel.topic.clone(),
                format!("{}/{}", channel.mailbox, channel.mailbox_capacity),
                format!("{:.1}", channel.in_per_sec),
            ])
        })
        .collect();
    let title = if rows.is_empty() {
        " deepest mailboxes: every mailbox is empty "
    } else {
        " deepest mailboxes "
    };
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(8),
                Constraint::Min(10),
                Constraint::Length(9),
                Constraint::Length(8),
            ],
        )
        .header(Row::new(["conn", "channel", "mailbox", "in/s"]).style(bold))
        .block(Block::bordered().title(title)),
        mailboxes_area,
    );
}

fn age(ms: u64) -> String {
    if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        uptime(ms)
    }
}

fn bytes_per_sec(bytes: f64) -> String {
    if bytes < 1024.0 {
        format!("{bytes:.0} B/s")
    } else if bytes < 1024.0 * 1024.0 {
        format!("{:.1} KiB/s", bytes / 1024.0)
    } else {
        format!("{:.1} MiB/s", bytes / (1024.0 * 1024.0))
    }
}

/// Attaches to the node at `base` (`http://127.0.0.1:4000`) until `q` is pressed.
///
/// The first snapshot is fetched before the terminal is taken over, so a node
/// that cannot be reached gives a plain error. Later failures show in the footer
/// and the last good snapshot stays on screen while `top` keeps trying.
pub async fn run(base: &str, implementation: Implementation) -> anyhow::Result<()> {
    let mut current = observe::fetch(base).await?;
    let mut previous: Option<Snapshot> = None;
    let mut status: Option<String> = None;
    let (mut view, mut metric, mut selected) = (View::Node, Metric::In, 0usize);
    let mut busiest: Result<Busiest, String> = Err("asking the node...".to_owned());
    let mut terminal = ratatui::init();
    let outcome = async {
        loop {
            terminal.draw(|frame| match view {
                View::Node => render(
                    frame,
                    implementation,
                    previous.as_ref(),
                    &current,
                    status.as_deref(),
                ),
                View::Connections => render_connections(
                    frame,
                    &current.node,
                    busiest.as_ref().map_err(String::as_str),
                    metric,
                    selected,
                ),
            })?;
            // Waits for a key for up to a refresh period; crossterm's poll blocks,
            // so it runs where blocking is allowed.
            let key = tokio::task::block_in_place(|| -> std::io::Result<Option<KeyCode>> {
                if !event::poll(REFRESH)? {
                    return Ok(None);
                }
                Ok(match event::read()? {
                    Event::Key(key) if key.kind == KeyEventKind::Press => Some(key.code),
                    _ => None,
                })
            })?;
            match key {
                Some(KeyCode::Char('q') | KeyCode::Esc) => return Ok::<_, anyhow::Error>(()),
                Some(KeyCode::Char('c')) => {
                    view = match view {
                        View::Node => View::Connections,
                        View::Connections => View::Node,
                    };
                }
                Some(KeyCode::Char('m')) => (metric, selected) = (metric.next(), 0),
                Some(KeyCode::Down | KeyCode::Char('j')) => selected += 1,
                Some(KeyCode::Up | KeyCode::Char('k')) => selected = selected.saturating_sub(1),
                // Another key redraws at once, without asking the node again.
                Some(_) => continue,
                None => {}
            }
            if let Ok(shown) = &busiest {
                // Stay on the last row rather than past it.
                selected = selected.min(metric.list(shown).len().saturating_sub(1));
            }
            match observe::fetch(base).await {
                Ok(next) => {
                    previous = Some(std::mem::replace(&mut current, next));
                    status = None;
                }
                Err(error) => status = Some(error.to_string()),
            }
            if view == View::Connections {
                busiest = observe::fetch_connections(base, CONNECTIONS)
                    .await
                    .map_err(|error| error.to_string());
            }
        }
    }
    .await;
    // Always give the terminal back, also after an error.
    ratatui::restore();
    outcome
}
