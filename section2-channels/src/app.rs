//! The section's app: one endpoint at `/socket`, routing each exercise's topic to
//! your channel (start) or the reference (solution), and the demo page at `/`.

use std::sync::Arc;

use axum::response::Html;
use axum::routing::get;

use crate::activity::ActivityStore;
use crate::endpoint::{Endpoint, Server};
use crate::pubsub::{LocalPubSub, PubSub};
use crate::router::ChannelRouter;
use crate::socket::SocketConfig;

/// Which code answers the exercises' topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation {
    /// Your code, in `src/start/`.
    Start,
    /// The reference, in `solutions/section2/`.
    Solution,
}

impl Implementation {
    /// `"start"` or `"solution"`.
    pub fn name(self) -> &'static str {
        match self {
            Implementation::Start => "start",
            Implementation::Solution => "solution",
        }
    }
}

/// The topics each exercise serves, for `implementation`; the feed reads and writes
/// `store`.
pub fn channels(implementation: Implementation, store: ActivityStore) -> ChannelRouter {
    macro_rules! routes {
        ($imp:ident) => {{
            use crate::$imp::part1;
            ChannelRouter::new()
                .state(store)
                .channel::<part1::ping::PingChannel>("ping")
                .channel::<part1::feed::FeedChannel>("feed")
                .channel::<part1::intercept::OpsChannel>("ops")
                .channel::<part1::reports::ReportsChannel>("reports")
                .channel::<part1::bounded_reports::BoundedReportsChannel>("reports:bounded")
        }};
    }
    match implementation {
        Implementation::Start => routes!(start),
        Implementation::Solution => routes!(solution),
    }
}

/// The app's shared state: the endpoint (and through it the pubsub).
#[derive(Clone)]
pub struct App {
    /// The socket endpoint at `/socket`.
    pub endpoint: Endpoint,
    /// Which implementation serves the exercises.
    pub implementation: Implementation,
}

impl App {
    /// An app serving `implementation` on a fresh local pubsub named `node`, with the
    /// feed on `store`.
    pub fn new(implementation: Implementation, node: &str, store: ActivityStore) -> App {
        Self::with_config(implementation, node, store, SocketConfig::default())
    }

    /// The same, with explicit per-connection bounds.
    pub fn with_config(
        implementation: Implementation,
        node: &str,
        store: ActivityStore,
        config: SocketConfig,
    ) -> App {
        let pubsub: Arc<dyn PubSub> = Arc::new(LocalPubSub::named(node));
        let endpoint = Endpoint::builder(channels(implementation, store))
            .pubsub(pubsub)
            .config(config)
            .build();
        App {
            endpoint,
            implementation,
        }
    }

    /// The HTTP routes: the socket at `/socket/websocket`, the demo page at `/`.
    pub fn router(&self) -> axum::Router {
        self.endpoint
            .routes("/socket")
            .route("/", get(|| async { Html(PAGE) }))
            .route("/phoenix.mjs", get(phoenix_js))
    }

    /// Serves the app on `127.0.0.1:port` in the background.
    pub async fn serve(&self, port: u16) -> std::io::Result<Server> {
        Server::bind(port, self.router()).await
    }
}

/// The demo page: joins the exercise topics with the official phoenix client.
const PAGE: &str = include_str!("page.html");

/// Where `npm ci --prefix section2-channels/tests/js` puts the official client's ES
/// module build: the page uses the package's own file, unchanged.
pub const PHOENIX_MJS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/js/node_modules/phoenix/priv/static/phoenix.mjs"
);

async fn phoenix_js() -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    match tokio::fs::read(PHOENIX_MJS).await {
        Ok(js) => ([(header::CONTENT_TYPE, "text/javascript")], js).into_response(),
        Err(_) => (
            StatusCode::NOT_FOUND,
            "the phoenix npm package is not installed: run `npm ci --prefix section2-channels/tests/js`",
        )
            .into_response(),
    }
}
