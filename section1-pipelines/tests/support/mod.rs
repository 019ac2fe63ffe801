//! Helpers shared by the exercise tests: an app per test, requests without a
//! socket, and failure messages that point at the code to change.
//!
//! Requests go straight into the axum `Router` (tower's `oneshot`), so tests run on
//! tokio's paused clock: 500 ms of resource time pass instantly and exactly.
//!
//! A panic in the learner's code must show up in the failure message with its own
//! text (`not yet implemented: s1.e3: ...`), whichever way it happened: in the
//! handler (the request's task ends with the payload), in a task the handler or the
//! pipeline spawned, or behind a layer that turns a panic into a `500` (no payload
//! reaches the test at all). The first comes from the `JoinError`; the others from
//! `testkit::panics`, whose hook every `TestApp` installs. The text goes on the
//! message's *first* line: a runner that shows one line per failure must not show
//! "panicked inside the handler instead of answering:" followed by nothing.

#![allow(dead_code)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use pipeline::mock_resource::MockResource;
use pipeline::shed_gate::ShedGate;
use pipeline::{PipelineConfig, PipelineHandle};
use section1_pipelines::app::{self, AppState, Implementation};
use testkit::panics::{self, Mark};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower::ServiceExt;

/// One application with its own resource, as a test sees it.
pub struct TestApp {
    pub router: Router,
    pub resource: MockResource,
    pub gate: ShedGate,
    pub pipeline: PipelineHandle,
    /// Where the panics of this app's code start: see [`TestApp::task_panics`].
    started: Mark,
}

impl TestApp {
    /// An app running `implementation` with a fresh resource holding for the default 500 ms.
    pub fn new(implementation: Implementation) -> Self {
        Self::with_pipeline(implementation, PipelineConfig::default())
    }

    /// An app whose part 2 pipeline is set up by `config`.
    pub fn with_pipeline(implementation: Implementation, config: PipelineConfig) -> Self {
        panics::watch();
        let started = panics::mark();
        let state = AppState::with_pipeline(MockResource::new(), implementation, config);
        TestApp {
            router: app::router(state.clone()),
            resource: state.resource,
            gate: state.shed_gate,
            pipeline: state.pipeline,
            started,
        }
    }

    /// The resource's hold time (what a serial request must wait for).
    pub fn hold(&self) -> Duration {
        self.resource.hold()
    }

    /// Sends `GET path` on a task of its own and returns at once.
    pub fn spawn_get(&self, path: &'static str) -> PendingReply {
        let router = self.router.clone();
        let started = Instant::now();
        let mark = panics::mark();
        let task = tokio::spawn(async move {
            let request = Request::get(path)
                .body(Body::empty())
                .expect("a valid request");
            let response = router
                .oneshot(request)
                .await
                .expect("axum routers never fail");
            let (parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, 64 * 1024)
                .await
                .expect("a small body");
            Reply {
                status: parts.status,
                headers: parts.headers,
                body: String::from_utf8_lossy(&body).into_owned(),
                elapsed: started.elapsed(),
            }
        });
        PendingReply { path, task, mark }
    }

    /// Sends `GET path` and waits for the answer.
    pub async fn get(&self, path: &'static str) -> Reply {
        self.spawn_get(path).reply().await
    }

    /// For a failure message: the panics of the code under test since this app was
    /// made (a task a handler spawned, the pipeline's consumers), or "" if none. Such a
    /// panic never reaches a client: the test only sees that the work did not happen.
    pub fn task_panics(&self) -> String {
        panics::note(&panics::in_code_under_test_since(self.started))
    }
}

impl Drop for TestApp {
    /// A test that fails for lack of work done (the resource unused, events not
    /// drained) may be failing because a task panicked out of sight: say so under its
    /// message, in the same failure output, unless the message already did.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let seen: Vec<_> = panics::since(self.started)
            .into_iter()
            .filter(|seen| seen.on_this_thread())
            .collect();
        // The test's own panic is recorded too (in a test file): what it already says.
        let told: Vec<&str> = seen
            .iter()
            .filter(|seen| seen.in_a_test_file())
            .map(|seen| seen.message.as_str())
            .collect();
        let untold: Vec<_> = seen
            .iter()
            .filter(|seen| !seen.in_a_test_file())
            .filter(|seen| !told.iter().any(|message| message.contains(&seen.message)))
            .cloned()
            .collect();
        let note = panics::note(&untold);
        if !note.is_empty() {
            eprintln!("{}", note.trim_start());
        }
    }
}

/// A response, with how long (on the test's clock) it took to arrive.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub elapsed: Duration,
}

/// A request in flight.
pub struct PendingReply {
    path: &'static str,
    task: JoinHandle<Reply>,
    /// Panics from here on may be this request's.
    mark: Mark,
}

impl PendingReply {
    /// Whether the answer has arrived (or the handler panicked).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the answer. A handler that panicked (an untouched `todo!()`, say)
    /// fails the test with the panic's own message, where it happened, and what to do.
    pub async fn reply(self) -> Reply {
        match self.task.await {
            Ok(reply) if reply.status == 500 => {
                // A layer (axum's `CatchPanic`, say) turned a panic into a 500 and kept
                // its text to itself; the hook saw it on this thread.
                let seen = panics::in_code_under_test_since(self.mark);
                match seen.first() {
                    Some(panic) => panic!(
                        "GET {} panicked inside the handler, answered 500: {}\n{}",
                        self.path,
                        panic.message,
                        what_to_do(
                            &panic.message,
                            Some(&panic.location),
                            "the client got a bare 500 that does not say why"
                        )
                    ),
                    None => reply,
                }
            }
            Ok(reply) => reply,
            Err(join) if join.is_panic() => {
                let message = panics::message(&*join.into_panic());
                // The hook knows where: the panic just recorded on this thread with
                // the same text (the request's task runs on the test's thread).
                let location = panics::in_code_under_test_since(self.mark)
                    .into_iter()
                    .find(|seen| seen.message == message)
                    .map(|seen| seen.location);
                panic!(
                    "GET {} panicked inside the handler instead of answering: {message}\n{}",
                    self.path,
                    what_to_do(
                        &message,
                        location.as_deref(),
                        "the client got no answer at all: the connection just closes"
                    )
                )
            }
            Err(join) => panic!(
                "GET {} was cancelled before it answered ({join}): the test's runtime shut \
                 down under it. That is a bug in the test, not in your code.",
                self.path
            ),
        }
    }
}

/// The second line of a "panicked inside the handler" message: where, what the client
/// got instead of an answer, and what to change.
fn what_to_do(message: &str, location: Option<&str>, client_got: &str) -> String {
    let at = location.map_or(String::new(), |at| format!(" at {at}"));
    if message.starts_with("not yet implemented") {
        format!(
            "    That is the todo!(){at}, still in place: replace it with your code, which \
             must answer the request ({client_got})."
        )
    } else {
        format!(
            "    {client_got}. Fix the panic{at}, or turn that case into an error response \
             that says what went wrong."
        )
    }
}

/// Sends one request to a throwaway app first, so a handler that still panics
/// fails the test with one clear message instead of fifty interleaved ones.
pub async fn probe(implementation: Implementation, path: &'static str) {
    TestApp::new(implementation).get(path).await;
}

/// Milliseconds, for messages.
pub fn ms(duration: Duration) -> u128 {
    duration.as_millis()
}

/// Lets spawned tasks run up to their next wait, without moving the clock much.
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}
