//! `top`: attach to a node and watch it live in the terminal.
//!
//! The screen is a pure function of two snapshots ([`render`]): the previous one
//! and the current one, whose difference gives the rates (s3.e9). That keeps the
//! terminal plumbing ([`run`]) thin and the screen testable with ratatui's
//! `TestBackend`, no terminal needed.

use std::time::Duration;

use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row, Table};

use observability::observe::{self, Rates, Snapshot};

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
            // Section 2 keeps each channel's mailbox private: say so rather than guess.
            Line::from("mailbox depths: not exposed by section 2's endpoint"),
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

/// Attaches to the node at `base` (`http://127.0.0.1:4000`) until `q` is pressed.
///
/// The first snapshot is fetched before the terminal is taken over, so a node
/// that cannot be reached gives a plain error. Later failures show in the footer
/// and the last good snapshot stays on screen while `top` keeps trying.
pub async fn run(base: &str, implementation: Implementation) -> anyhow::Result<()> {
    let mut current = observe::fetch(base).await?;
    let mut previous: Option<Snapshot> = None;
    let mut status: Option<String> = None;
    let mut terminal = ratatui::init();
    let outcome = async {
        loop {
            terminal.draw(|frame| {
                render(
                    frame,
                    implementation,
                    previous.as_ref(),
                    &current,
                    status.as_deref(),
                )
            })?;
            // Waits for a key for up to a refresh period; crossterm's poll blocks,
            // so it runs where blocking is allowed.
            let quit = tokio::task::block_in_place(|| -> std::io::Result<bool> {
                if !event::poll(REFRESH)? {
                    return Ok(false);
                }
                Ok(match event::read()? {
                    Event::Key(key) => {
                        key.kind == KeyEventKind::Press
                            && matches!(key.code, KeyCode::Char('q') | KeyCode::Esc)
                    }
                    _ => false,
                })
            })?;
            if quit {
                return Ok::<_, anyhow::Error>(());
            }
            match observe::fetch(base).await {
                Ok(next) => {
                    previous = Some(std::mem::replace(&mut current, next));
                    status = None;
                }
                Err(error) => status = Some(error.to_string()),
            }
        }
    }
    .await;
    // Always give the terminal back, also after an error.
    ratatui::restore();
    outcome
}
