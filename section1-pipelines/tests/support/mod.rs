//! Helpers shared by the exercise tests: an app per test, requests without a
//! socket, and failure messages that point at the code to change.
//!
//! Requests go straight into the axum `Router` (tower's `oneshot`), so tests run on
//! tokio's paused clock: 500 ms of resource time pass instantly and exactly.

#![allow(dead_code)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use pipeline::mock_resource::MockResource;
use pipeline::shed_gate::ShedGate;
use pipeline::{PipelineConfig, PipelineHandle};
use section1_pipelines::app::{self, AppState, Implementation};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower::ServiceExt;

/// One application with its own resource, as a test sees it.
pub struct TestApp {
    pub router: Router,
    pub resource: MockResource,
    pub gate: ShedGate,
    pub pipeline: PipelineHandle,
}

impl TestApp {
    /// An app running `implementation` with a fresh resource holding for the default 500 ms.
    pub fn new(implementation: Implementation) -> Self {
        Self::with_pipeline(implementation, PipelineConfig::default())
    }

    /// An app whose part 2 pipeline is set up by `config`.
    pub fn with_pipeline(implementation: Implementation, config: PipelineConfig) -> Self {
        let state = AppState::with_pipeline(MockResource::new(), implementation, config);
        TestApp {
            router: app::router(state.clone()),
            resource: state.resource,
            gate: state.shed_gate,
            pipeline: state.pipeline,
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
        PendingReply { path, task }
    }

    /// Sends `GET path` and waits for the answer.
    pub async fn get(&self, path: &'static str) -> Reply {
        self.spawn_get(path).reply().await
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
}

impl PendingReply {
    /// Whether the answer has arrived (or the handler panicked).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the answer. A handler that panicked (an untouched `todo!()`, say)
    /// fails the test with the panic's own message and where to look.
    pub async fn reply(self) -> Reply {
        match self.task.await {
            Ok(reply) => reply,
            Err(join) if join.is_panic() => {
                let panic = join.into_panic();
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(a non-text panic)");
                panic!(
                    "GET {} panicked inside the handler instead of answering:\n    {message}\n\
                     If that says `not yet implemented`, the handler is still a todo!(): \
                     replace it with your code.",
                    self.path
                )
            }
            Err(join) => panic!("GET {} was cancelled: {join}", self.path),
        }
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
