//! The vocabulary of supervision, for exercise s1.e8: how many restarts are too many,
//! and what a supervisor that gives up reports.
//!
//! In Erlang a supervisor restarts crashed children, but only `max_restarts` times
//! within `max_seconds`: beyond that the fault is not transient, restarting is a
//! crash loop, and the supervisor stops (and its own supervisor hears about it).

use std::fmt;
use std::time::Duration;

use tokio::task::JoinError;

/// At most `max_restarts` restarts within any `within` window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartIntensity {
    /// Restarts allowed in the window.
    pub max_restarts: usize,
    /// The sliding window.
    pub within: Duration,
}

impl Default for RestartIntensity {
    /// 3 restarts in 5 seconds, Erlang/OTP's default.
    fn default() -> Self {
        RestartIntensity {
            max_restarts: 3,
            within: Duration::from_secs(5),
        }
    }
}

/// Why a supervisor stopped: its workers crashed faster than its restart intensity allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashLoop {
    /// The restart that went over the limit was this many within the window.
    pub restarts: usize,
    /// The limit that was exceeded.
    pub intensity: RestartIntensity,
    /// Events given up on when stopping (in flight or still waiting), counted as failed.
    pub abandoned: usize,
    /// The last crash's reason.
    pub last_reason: String,
}

impl fmt::Display for CrashLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "crash loop: {} restarts within {:?} (limit {}); stopped and gave up on {} \
             events, counted as failed; last crash: {}",
            self.restarts,
            self.intensity.within,
            self.intensity.max_restarts,
            self.abandoned,
            self.last_reason
        )
    }
}

impl std::error::Error for CrashLoop {}

/// The reason a task ended badly: its panic message, or "cancelled".
pub fn failure_reason(error: JoinError) -> String {
    if error.is_cancelled() {
        return "cancelled".to_string();
    }
    let panic = error.into_panic();
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".to_string())
}
