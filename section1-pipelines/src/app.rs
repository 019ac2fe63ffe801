//! The section's web application: shared state, routes, and serving.
//!
//! The exercise handlers come from either the learner's `start` module or the
//! reference `solution` module; everything else (the dashboard, `/stats`, from the
//! `pipeline` crate) is the same for both, so a learner's server and the reference
//! look alike from outside.

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::{FromRef, State};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use pipeline::dashboard::{self, DashboardState};
use pipeline::mock_resource::MockResource;
use pipeline::shed_gate::ShedGate;
use pipeline::stats::{PipelineStats, ProcessStats, Stats};
use pipeline::{Drain, PipelineConfig, PipelineHandle, Processor, Producer};

/// Which implementation of the exercises a server runs: the course's one selector.
pub use selector::Implementation;

/// Everything the handlers share. Cheap to clone: every field is a handle.
///
/// Handlers ask only for the part they need (`State<MockResource>`), which axum
/// extracts through the [`FromRef`] implementations below.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The slow resource all part 1 endpoints use.
    pub resource: MockResource,
    /// The admission gate of `/part1/shed`.
    pub shed_gate: ShedGate,
    /// Which implementation serves the exercise routes.
    pub implementation: Implementation,
    /// The part 2 pipeline behind `/part2/pipeline` (it uses the same resource).
    pub pipeline: PipelineHandle,
    /// Cancelled when the server shuts down: ends the dashboards' event streams.
    pub closing: CancellationToken,
}

impl AppState {
    /// State with a fresh resource, gate and default pipeline, for a server or one test.
    pub fn new(resource: MockResource, implementation: Implementation) -> Self {
        Self::with_pipeline(resource, implementation, PipelineConfig::default())
    }

    /// State whose part 2 pipeline is set up by `config`.
    pub fn with_pipeline(
        resource: MockResource,
        implementation: Implementation,
        config: PipelineConfig,
    ) -> Self {
        let pipeline = {
            let resource = resource.clone();
            PipelineHandle::new(config, move |producer| {
                start_drain(implementation, config, producer, resource.clone())
            })
        };
        AppState {
            resource,
            shed_gate: ShedGate::default(),
            implementation,
            pipeline,
            closing: CancellationToken::new(),
        }
    }

    /// The same state, its long-lived responses ending when `closing` is cancelled
    /// (`serve` passes its shutdown's token).
    pub fn closing_on(mut self, closing: CancellationToken) -> Self {
        self.closing = closing;
        self
    }
}

// ANCHOR: start_drain
/// Starts what drains the app's pipeline: the consumers (s1.e6) or the worker pool
/// (s1.e7) of the chosen implementation. Called once, by the first push.
fn start_drain(
    implementation: Implementation,
    config: PipelineConfig,
    producer: &Producer,
    resource: MockResource,
) {
    let processor = Processor::new(resource, producer.metrics().clone());
    let producer = producer.clone();
    tokio::spawn(async move {
        match (implementation, config.drain) {
            (Implementation::Start, Drain::Consumers(n)) => {
                let mut consumers = crate::start::part2::e06_consumers::start_consumers(
                    &producer,
                    processor,
                    n,
                    config.demand,
                );
                while consumers.join_next().await.is_some() {}
            }
            (Implementation::Solution, Drain::Consumers(n)) => {
                let mut consumers = crate::solution::part2::e06_consumers::start_consumers(
                    &producer,
                    processor,
                    n,
                    config.demand,
                );
                while consumers.join_next().await.is_some() {}
            }
            (Implementation::Start, Drain::Pool(n)) => {
                let events = producer.subscribe(config.demand);
                crate::start::part2::e07_worker_pool::run_pool(events, processor, n).await
            }
            (Implementation::Solution, Drain::Pool(n)) => {
                let events = producer.subscribe(config.demand);
                crate::solution::part2::e07_worker_pool::run_pool(events, processor, n).await
            }
        }
    });
}
// ANCHOR_END: start_drain

impl FromRef<AppState> for MockResource {
    fn from_ref(state: &AppState) -> Self {
        state.resource.clone()
    }
}

impl FromRef<AppState> for PipelineHandle {
    fn from_ref(state: &AppState) -> Self {
        state.pipeline.clone()
    }
}

impl FromRef<AppState> for ShedGate {
    fn from_ref(state: &AppState) -> Self {
        state.shed_gate.clone()
    }
}

impl FromRef<AppState> for DashboardState {
    fn from_ref(state: &AppState) -> Self {
        DashboardState {
            resource: state.resource.clone(),
            pipeline: state.pipeline.clone(),
            implementation: state.implementation.name(),
            closing: state.closing.clone(),
        }
    }
}

// ANCHOR: part1_routes
/// The part 1 exercise routes, taken from one implementation module.
///
/// A macro rather than a function so the route table is written once for both the
/// `start` and the `solution` module, which have the same item names.
macro_rules! part1_routes {
    ($module:path) => {{
        use $module as part1;
        Router::new()
            .route("/part1/serial", get(part1::e02_serial::serial))
            .route(
                "/part1/async",
                get(part1::e03_fire_and_forget::fire_and_forget),
            )
            .route("/part1/shed", get(part1::e04_load_shedding::shed))
    }};
}
// ANCHOR_END: part1_routes

/// The part 2 exercise routes, the same way.
macro_rules! part2_routes {
    ($module:path) => {{
        use $module as part2;
        Router::new().route("/part2/pipeline", get(part2::e09_overload::enqueue))
    }};
}

/// The whole application for the given state, with `GET /healthz` and `GET /readyz`
/// (no dependency to check: the mock resource lives in the process).
pub fn router(state: AppState) -> Router {
    let exercises: Router<AppState> = match state.implementation {
        Implementation::Start => {
            part1_routes!(crate::start::part1).merge(part2_routes!(crate::start::part2))
        }
        Implementation::Solution => {
            part1_routes!(crate::solution::part1).merge(part2_routes!(crate::solution::part2))
        }
    };
    Router::new()
        .route("/", get(dashboard::index))
        .route("/hello", get(|| async { "Hello, real-time world!" }))
        .route("/stats", get(stats))
        .merge(dashboard::routes())
        .merge(exercises)
        .with_state(state)
        .merge(serving::Health::new().routes())
}

/// `GET /stats`: the resource's counters, the pipeline's figures and the process's cost, as JSON.
async fn stats(State(state): State<AppState>) -> Json<Stats> {
    Json(Stats {
        implementation: state.implementation.name().to_string(),
        resource: state.resource.usage(),
        process: ProcessStats::sample(),
        pipeline: Some(PipelineStats::of(&state.pipeline)),
    })
}

/// Serves the application on `listener` until `shutdown` completes.
///
/// Tests pass a listener bound to `127.0.0.1:0` and a shutdown future of their own,
/// so parallel tests never fight over a port.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `127.0.0.1:port` (0 picks a free port) and starts serving in the background.
///
/// Returns the bound address and a handle that stops the server when dropped or
/// when [`RunningServer::stop`] is called. Used by tests, benchmarks and `experiment`.
pub async fn spawn(state: AppState, port: u16) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, state, async move {
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        addr,
        stop: Some(stop),
        task,
    })
}

/// A server started by [`spawn`].
pub struct RunningServer {
    /// The address the server listens on.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops accepting, lets open requests finish, and waits for the server to end.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task)
            .await
            .unwrap_or_else(|join| Err(std::io::Error::other(join)))
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
