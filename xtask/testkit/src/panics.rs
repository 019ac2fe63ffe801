//! Panics, as a test failure message needs them: their text, and the ones the test
//! never got a payload for.
//!
//! A learner's untouched `todo!()` (or their own bug) panics inside code the test
//! drives from a distance: a handler behind a router, a task the handler spawned, a
//! thread of a race test, a server's connection task. Each path hands the panic
//! over differently, or not at all:
//!
//! - a `JoinHandle` or `std::thread::JoinHandle` gives back the payload, a
//!   `Box<dyn Any + Send>` that prints as `Any { .. }`: [`message`] turns it into
//!   its text (`not yet implemented: s1.e3: ...`);
//! - a task spawned by the code under test, a layer that turns a panic into a `500`
//!   (axum's `CatchPanic`), a server that drops the connection: the payload never
//!   reaches the test. [`watch`] installs a panic hook that remembers every panic's
//!   text, location and thread, so the test can still name what went wrong
//!   ([`since`], [`Mark`]).
//!
//! The hook calls the hook it replaced, so libtest's own "thread '...' panicked at"
//! lines are unchanged.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use std::thread::ThreadId;

/// The text of a panic payload: what `panic!`, `todo!()`, `unwrap` or `expect` said.
///
/// `panic!("literal")` carries a `&'static str`, a formatted panic a `String`; both
/// come back as they were written. Anything else (`std::panic::panic_any(42)`) is
/// named as such rather than lost.
pub fn message(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else if let Some(text) = payload.downcast_ref::<Box<str>>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<std::borrow::Cow<'static, str>>() {
        text.to_string()
    } else {
        return "(a panic whose payload is not text: something called \
                `std::panic::panic_any` or `resume_unwind` with a value)"
            .to_string();
    };
    if text.trim().is_empty() {
        "(a panic with an empty message)".to_string()
    } else {
        text
    }
}

/// The text of a failed tokio task: its panic's [`message`], or that it was cancelled.
pub fn join_error(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => message(&*payload),
        Err(error) if error.is_cancelled() => "(the task was cancelled before it finished)".into(),
        Err(error) => error.to_string(),
    }
}

/// One panic the hook saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Its text, as [`message`] gives it.
    pub message: String,
    /// `file:line:column` of the `panic!` (or `todo!()`, `unwrap`, ...).
    pub location: String,
    /// The thread's name (libtest names a test's thread after the test), or `<unnamed>`.
    pub thread: String,
    thread_id: ThreadId,
    seq: u64,
}

impl Seen {
    /// Whether it happened on the calling thread. A `#[tokio::test]` runs on a
    /// current-thread runtime: the test body, the handlers it calls and every task
    /// they spawn all run on the test's own thread, so "on this thread" is "in this test".
    pub fn on_this_thread(&self) -> bool {
        self.thread_id == std::thread::current().id()
    }

    /// Whether the panic is in one of the course's test files (`.../tests/...`): the
    /// test's own failed assertion, rather than the code under test.
    pub fn in_a_test_file(&self) -> bool {
        let path = self.location.replace('\\', "/");
        path.starts_with("tests/") || path.contains("/tests/")
    }

    /// Whether it is an untouched `todo!()`.
    pub fn is_todo(&self) -> bool {
        self.message.starts_with("not yet implemented")
    }
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at {})", self.message, self.location)
    }
}

/// A point in the sequence of panics: [`since`] returns the ones after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark(u64);

/// How many panics are kept: enough for any one test, bounded for a long test binary.
const KEEP: usize = 512;

static NEXT: AtomicU64 = AtomicU64::new(0);
static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

/// Installs the recording hook, once per process; later calls do nothing.
///
/// Call it before the code that may panic runs (a test helper that builds the app
/// is a good place). It chains the hook that was there, so panics print as before.
pub fn watch() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            record(info);
            previous(info);
        }));
    });
}

fn record(info: &std::panic::PanicHookInfo<'_>) {
    let thread = std::thread::current();
    let seen = Seen {
        message: message(info.payload()),
        location: info
            .location()
            .map_or_else(|| "an unknown place".to_string(), ToString::to_string),
        thread: thread.name().unwrap_or("<unnamed>").to_string(),
        thread_id: thread.id(),
        seq: NEXT.fetch_add(1, Ordering::SeqCst),
    };
    // A poisoned lock only means another thread panicked while recording: the
    // list is still a list.
    let mut all = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if all.len() == KEEP {
        all.remove(0);
    }
    all.push(seen);
}

/// Now, in the sequence of panics. Take a mark before starting the code under
/// test, then ask [`since`] what panicked after it.
pub fn mark() -> Mark {
    Mark(NEXT.load(Ordering::SeqCst))
}

/// Every panic recorded after `mark`, oldest first, on any thread. Filter with
/// [`Seen::on_this_thread`] when other tests run beside this one.
pub fn since(mark: Mark) -> Vec<Seen> {
    SEEN.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .filter(|seen| seen.seq >= mark.0)
        .cloned()
        .collect()
}

/// The panics after `mark` on this thread that are not a test's own assertion:
/// what the code under test (and any task it spawned on this thread) panicked with.
pub fn in_code_under_test_since(mark: Mark) -> Vec<Seen> {
    since(mark)
        .into_iter()
        .filter(|seen| seen.on_this_thread() && !seen.in_a_test_file())
        .collect()
}

/// A sentence for a failure message about panics nobody handed to the test, or ""
/// when there were none: starts with a newline, one line per distinct panic (text
/// and place; at most 3, each with how many times), and says what a `todo!()` means.
pub fn note(seen: &[Seen]) -> String {
    if seen.is_empty() {
        return String::new();
    }
    // 200 requests hitting the same todo!() are one thing to fix, not 200.
    let mut distinct: Vec<(&Seen, usize)> = Vec::new();
    for panic in seen {
        match distinct
            .iter_mut()
            .find(|(first, _)| first.message == panic.message && first.location == panic.location)
        {
            Some((_, times)) => *times += 1,
            None => distinct.push((panic, 1)),
        }
    }
    let mut out = String::from(
        "\nMeanwhile, this panicked (a panic in a spawned task or behind a layer never reaches \
         the client, which only sees what is missing):",
    );
    for (panic, times) in distinct.iter().take(3) {
        let times = if *times > 1 {
            format!(" ({times} times)")
        } else {
            String::new()
        };
        out.push_str(&format!("\n    {panic}{times}"));
    }
    if distinct.len() > 3 {
        out.push_str(&format!(
            "\n    ... and {} more different ones",
            distinct.len() - 3
        ));
    }
    if seen.iter().any(Seen::is_todo) {
        out.push_str(
            "\n`not yet implemented` is a todo!() still in place: that code runs here too, \
             so it needs your answer first.",
        );
    }
    out
}
