//! `GET /healthz` and `GET /readyz`: the two questions an orchestrator or a load
//! balancer asks.
//!
//! - **Alive?** (`/healthz`, a liveness probe): the process answers HTTP. It checks
//!   nothing else on purpose: a database outage must not get every node restarted,
//!   which would only add a reconnect storm to the outage.
//! - **Ready?** (`/readyz`, a readiness probe): can this node do its job now? Each
//!   dependency (the database, the Redis link) is checked, concurrently and within
//!   [`CHECK_TIMEOUT`]; a node that is not ready gets no new traffic but keeps
//!   running, and comes back when its dependency does. A node that is shutting down
//!   is not ready either, so the balancer stops sending it clients while it drains.
//!
//! ```text
//! GET /readyz  200 {"status":"ready","checks":{"database":"up","redis":"up"}}
//! GET /readyz  503 {"status":"not ready","failing":["redis"],
//!                   "checks":{"database":"up","redis":"down: the Redis subscription is lost"}}
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::Shutdown;

/// How long one check may take before it counts as down. Under the 1 s a
/// Kubernetes probe waits by default, so a hung database fails the probe with its
/// name rather than as a timeout.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(800);

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type CheckFn = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

/// The dependencies `/readyz` checks, by name. Build it with the app's own
/// dependencies, then mount [`Health::routes`] beside the app's routes.
#[derive(Clone, Default)]
pub struct Health {
    checks: Vec<(&'static str, CheckFn)>,
    draining: Option<CancellationToken>,
}

impl Health {
    /// No dependencies: ready whenever alive (until a shutdown, with [`Health::draining`]).
    pub fn new() -> Health {
        Health::default()
    }

    /// Adds the dependency `name`, up when `check()` returns `Ok(())`; the error's
    /// text goes into the answer (keep secrets such as URLs with passwords out of it).
    pub fn check<F, Fut>(mut self, name: &'static str, check: F) -> Health
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks
            .push((name, Arc::new(move || Box::pin(check()) as CheckFuture)));
        self
    }

    /// Not ready once `shutdown` starts: a draining node should get no new clients.
    pub fn draining(mut self, shutdown: &Shutdown) -> Health {
        self.draining = Some(shutdown.token());
        self
    }

    /// `GET /healthz` and `GET /readyz`, to merge into the app's router.
    pub fn routes(self) -> axum::Router {
        let health = Arc::new(self);
        axum::Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route(
                "/readyz",
                get(move || {
                    let health = health.clone();
                    async move { health.ready().await }
                }),
            )
    }

    async fn ready(&self) -> (StatusCode, Json<Value>) {
        if self.draining.as_ref().is_some_and(|t| t.is_cancelled()) {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "shutting down", "failing": [], "checks": {} })),
            );
        }
        let results = futures::future::join_all(self.checks.iter().map(|(name, check)| {
            let check = check.clone();
            async move {
                let state = match tokio::time::timeout(CHECK_TIMEOUT, check()).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(error)) => Err(error),
                    Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
                };
                (*name, state)
            }
        }))
        .await;
        let mut checks = Map::new();
        let mut failing = Vec::new();
        for (name, state) in results {
            let shown = match state {
                Ok(()) => "up".to_owned(),
                Err(error) => {
                    failing.push(name);
                    format!("down: {error}")
                }
            };
            checks.insert(name.to_owned(), Value::String(shown));
        }
        if failing.is_empty() {
            (
                StatusCode::OK,
                Json(json!({ "status": "ready", "checks": checks })),
            )
        } else {
            tracing::warn!(?failing, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "not ready", "failing": failing, "checks": checks })),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(health: Health, path: &str) -> (StatusCode, String) {
        let response = health
            .routes()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn json(body: &str) -> Value {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
    }

    #[tokio::test]
    async fn healthz_answers_ok_whatever_the_dependencies_say() {
        let health = Health::new().check("database", || async { Err("refused".into()) });
        assert_eq!(get(health, "/healthz").await, (StatusCode::OK, "ok".into()));
    }

    #[tokio::test]
    async fn readyz_is_200_with_every_dependency_up() {
        let health = Health::new()
            .check("database", || async { Ok(()) })
            .check("redis", || async { Ok(()) });
        let (status, body) = get(health, "/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            json(&body),
            json!({"status": "ready", "checks": {"database": "up", "redis": "up"}})
        );
    }

    #[tokio::test]
    async fn readyz_is_503_and_names_the_failing_dependency() {
        let health = Health::new()
            .check("database", || async { Ok(()) })
            .check("redis", || async { Err("the subscription is lost".into()) });
        let (status, body) = get(health, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        let body = json(&body);
        assert_eq!(body["failing"], json!(["redis"]));
        assert_eq!(body["checks"]["database"], "up");
        assert_eq!(body["checks"]["redis"], "down: the subscription is lost");
    }

    #[tokio::test(start_paused = true)]
    async fn a_check_that_hangs_counts_as_down_after_the_timeout() {
        let health = Health::new().check("database", std::future::pending);
        let (status, body) = get(health, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(json(&body)["failing"], json!(["database"]));
    }

    #[tokio::test]
    async fn a_draining_node_is_not_ready_but_still_alive() {
        let shutdown = Shutdown::new(Duration::from_secs(1));
        let health = Health::new().draining(&shutdown);
        assert_eq!(get(health.clone(), "/readyz").await.0, StatusCode::OK);
        shutdown.trigger("test");
        let (status, body) = get(health.clone(), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(json(&body)["status"], "shutting down");
        assert_eq!(get(health, "/healthz").await.0, StatusCode::OK);
    }
}
