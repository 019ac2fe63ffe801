//! The progress bar on stderr while a run goes.
//!
//! The bar is redrawn by its own task ten times a second from a shared counter,
//! rather than by the connection tasks, so a request costs one relaxed atomic add
//! and never touches the terminal.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether runs show a progress bar.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    visible: bool,
}

impl Progress {
    /// A bar on stderr when stderr is a terminal; nothing when it is a pipe or a file,
    /// so scripts and CI logs get only the report.
    pub fn stderr() -> Self {
        Progress {
            visible: std::io::stderr().is_terminal(),
        }
    }

    /// No bar at all (tests, benchmarks).
    pub fn hidden() -> Self {
        Progress { visible: false }
    }

    /// Starts showing `done` out of `requests` (or the elapsed part of `duration`).
    pub fn track(
        &self,
        done: Arc<AtomicU64>,
        requests: Option<u64>,
        duration: Option<Duration>,
    ) -> Ticker {
        if !self.visible {
            return Ticker {
                bar: None,
                task: None,
            };
        }
        let bar = ProgressBar::with_draw_target(requests, ProgressDrawTarget::stderr());
        let template = if requests.is_some() {
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} requests ({per_sec})"
        } else {
            "{spinner} [{elapsed_precise}] {pos} requests ({per_sec})"
        };
        bar.set_style(ProgressStyle::with_template(template).expect("a valid template"));
        if let (None, Some(d)) = (requests, duration) {
            bar.set_message(format!("for {d:?}"));
        }
        let task = tokio::spawn({
            let bar = bar.clone();
            async move {
                let mut ticks = tokio::time::interval(Duration::from_millis(100));
                loop {
                    ticks.tick().await;
                    bar.set_position(done.load(Ordering::Relaxed));
                }
            }
        });
        Ticker {
            bar: Some(bar),
            task: Some(task),
        }
    }
}

/// A bar being updated; [`Ticker::finish`] removes it.
pub struct Ticker {
    bar: Option<ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Ticker {
    /// Stops updating and clears the bar, leaving the terminal to the report.
    pub fn finish(self) {
        if let Some(task) = &self.task {
            task.abort();
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        // A run that fails half-way must not leave the ticker spinning.
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
