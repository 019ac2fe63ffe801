//! Section 2's figures: the scale lab's scenarios and the channels benches.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Figures;

/// What one scale-lab scenario found (`idle`, `broadcast`, `fanout`, `connect`),
/// written to `<scenario>.json` (see [`Scenario::command`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// The scenario's name, also its file's name.
    pub scenario: String,
    /// The settings it ran with (connections, rates, durations).
    pub params: BTreeMap<String, serde_json::Value>,
    /// The measured figures, by name (units in the name: `_bytes`, `_per_sec`, `_ms`);
    /// a `floor_<name>` figure is `<name>` measured without the WebSocket library.
    pub figures: BTreeMap<String, f64>,
    /// A raw baseline measured in the same run, by the same names, when the
    /// scenario has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BTreeMap<String, f64>>,
    /// Points `[x, y]` for a chart, when the scenario has a curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<[f64; 2]>>,
    /// Caveats a reader needs (load, what the figure includes).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Scenario {
    /// An empty result of `scenario`.
    pub fn new(scenario: &str) -> Self {
        Scenario {
            scenario: scenario.to_string(),
            params: BTreeMap::new(),
            figures: BTreeMap::new(),
            baseline: None,
            series: None,
            notes: Vec::new(),
        }
    }

    /// The command that runs `scenario` (what the page shows; `extra` are its flags).
    pub fn command(scenario: &str, extra: &[&str]) -> String {
        let mut command = format!("cargo run -p scale-lab --release -- {scenario}");
        for arg in extra {
            command.push(' ');
            command.push_str(arg);
        }
        command
    }

    /// Records a parameter.
    pub fn param(&mut self, name: &str, value: impl Into<serde_json::Value>) -> &mut Self {
        self.params.insert(name.to_string(), value.into());
        self
    }

    /// Records a figure.
    pub fn figure(&mut self, name: &str, value: f64) -> &mut Self {
        self.figures.insert(name.to_string(), value);
        self
    }
}

/// One typical feed event's frame: decode and encode, beside a bare `serde_json`
/// parse of the same text, per call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameBench {
    /// The frame's encoded length.
    pub frame_bytes: usize,
    /// `Frame::decode`, nanoseconds per call.
    pub decode_ns: f64,
    /// `Frame::encode`, nanoseconds per call.
    pub encode_ns: f64,
    /// The baseline: `serde_json::from_str::<Value>` of the same text.
    pub serde_json_parse_ns: f64,
}

impl Figures for FrameBench {
    const NAME: &'static str = "s2-frame";
    const COMMAND: &'static str = "cargo bench -p channels --bench frame";
}

/// One event to N local subscribers: `LocalPubSub` beside a raw
/// `tokio::sync::broadcast` carrying the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FanoutBench {
    /// One entry per subscriber count, in increasing order.
    pub rounds: Vec<FanoutRound>,
}

/// [`FanoutBench`] at one subscriber count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FanoutRound {
    /// Subscribers of the topic.
    pub subscribers: usize,
    /// `LocalPubSub`, nanoseconds per event (delivered to all and drained).
    pub local_pubsub_ns: f64,
    /// The baseline: a raw `tokio::sync::broadcast`, nanoseconds per event.
    pub raw_broadcast_ns: f64,
}

impl Figures for FanoutBench {
    const NAME: &'static str = "s2-fanout";
    const COMMAND: &'static str = "cargo bench -p channels --bench fanout";
}

/// Verifying a token beside the HMAC it rests on, and deriving the key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenBench {
    /// `verify_at`, nanoseconds per call.
    pub verify_ns: f64,
    /// The baseline: HMAC-SHA256 of the signed part, nanoseconds per call.
    pub hmac_ns: f64,
    /// `TokenSigner::new` (PBKDF2, 1000 rounds), nanoseconds per call.
    pub key_derivation_ns: f64,
}

impl Figures for TokenBench {
    const NAME: &'static str = "s2-token";
    const COMMAND: &'static str = "cargo bench -p channels --bench token";
}

/// The scale lab's churn hardening test: the server in its own process, rounds of
/// connections opened, joined and closed; its memory and descriptors after each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnHardening {
    /// Connections opened and closed per round.
    pub connections: usize,
    /// The server's open descriptors when idle (every round must return to it).
    pub idle_fds: usize,
    /// The server's RSS after the warm-up round, KiB.
    pub baseline_rss_kib: u64,
    /// The most RSS a round may leave: baseline + 5% + allocator slack, KiB.
    pub bound_rss_kib: u64,
    /// The server's RSS after each round, KiB, in order.
    pub rounds_rss_kib: Vec<u64>,
}

impl Figures for ChurnHardening {
    const NAME: &'static str = "hardening-churn";
    const COMMAND: &'static str = "cargo test -p scale-lab --release --test hardening";
}

/// The scale lab's slow-consumer hardening test: a client that asks for 16 KiB
/// replies and never reads them, until the server disconnects it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowConsumerHardening {
    /// Pings sent before the server closed the connection.
    pub pings_sent: u64,
    /// Replies asked for and never read, KiB.
    pub replies_asked_kib: u64,
    /// The server's RSS before the slow client joined, KiB.
    pub rss_before_kib: u64,
    /// The most it reached, KiB.
    pub rss_peak_kib: u64,
    /// The most it may reach, KiB.
    pub rss_bound_kib: u64,
    /// The server's log line closing the connection (its code and reason).
    pub close_log: String,
}

impl Figures for SlowConsumerHardening {
    const NAME: &'static str = "hardening-slow-consumer";
    const COMMAND: &'static str = "cargo test -p scale-lab --release --test hardening";
}
