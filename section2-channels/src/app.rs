//! The section's app: one endpoint at `/socket`, routing each exercise's topic to
//! your channel (start) or the reference (solution), and the demo page at `/`.

use std::sync::Arc;

use axum::response::Html;
use axum::routing::get;

use crate::activity::ActivityStore;
use crate::auth::{RecurringInterval, signer_from_env};
use crate::channel::SocketInfo;
use crate::endpoint::{ConnectParams, Refused};
use crate::endpoint::{Endpoint, Server};
use crate::pubsub::{LocalPubSub, PubSub};
use crate::router::ChannelRouter;
use crate::socket::SocketConfig;
use crate::token::TokenSigner;

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
            use crate::$imp::{part1, part2};
            ChannelRouter::new()
                .state(store)
                .channel::<part1::ping::PingChannel>("ping")
                .channel::<part1::feed::FeedChannel>("feed")
                .channel::<part2::rate_limit::RateLimitedFeedChannel>("feed:limited")
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

/// The topics of the authenticated socket (part 2): `user:<id>`, `recurring`, and
/// `feed:limited` with one rate limit per user.
pub fn auth_channels(
    implementation: Implementation,
    signer: TokenSigner,
    store: ActivityStore,
) -> ChannelRouter {
    macro_rules! routes {
        ($imp:ident) => {{
            use crate::$imp::part2;
            ChannelRouter::new()
                .state(signer)
                .state(store)
                .state(RecurringInterval::default())
                .state(Arc::new(part2::user_rate_limit::UserRateLimiter::new()))
                .channel::<part2::user_channel::UserChannel>("user:*")
                .channel::<part2::user_rate_limit::UserLimitedFeedChannel>("feed:limited")
                .channel::<part2::recurring::RecurringChannel>("recurring")
        }};
    }
    match implementation {
        Implementation::Start => routes!(start),
        Implementation::Solution => routes!(solution),
    }
}

/// Who may connect to the authenticated socket: `implementation`'s `connect` (s2.e8).
pub fn auth_handler(
    implementation: Implementation,
    signer: TokenSigner,
) -> impl Fn(&ConnectParams) -> Result<SocketInfo, Refused> + Send + Sync + 'static {
    move |params: &ConnectParams| match implementation {
        Implementation::Start => crate::start::part2::auth_socket::connect(&signer, params),
        Implementation::Solution => crate::solution::part2::auth_socket::connect(&signer, params),
    }
}

/// The app's shared state: the endpoints (sharing one pubsub) and the token signer.
#[derive(Clone)]
pub struct App {
    /// The anonymous socket endpoint at `/socket` (part 1).
    pub endpoint: Endpoint,
    /// The token-authenticated socket endpoint at `/auth_socket` (part 2).
    pub auth_endpoint: Endpoint,
    /// Signs the tokens `/auth_socket` accepts.
    pub signer: TokenSigner,
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
        let signer = signer_from_env();
        let endpoint = Endpoint::builder(channels(implementation, store.clone()))
            .pubsub(pubsub.clone())
            .config(config.clone())
            .build();
        let auth_endpoint = Endpoint::builder(auth_channels(implementation, signer.clone(), store))
            .handler(auth_handler(implementation, signer.clone()))
            .pubsub(pubsub)
            .config(config)
            .build();
        App {
            endpoint,
            auth_endpoint,
            signer,
            implementation,
        }
    }

    /// The HTTP routes: the sockets at `/socket/websocket` and
    /// `/auth_socket/websocket`, the demo page at `/`, and `/token`.
    pub fn router(&self) -> axum::Router {
        let signer = self.signer.clone();
        self.endpoint
            .routes("/socket")
            .merge(self.auth_endpoint.routes("/auth_socket"))
            .route("/", get(|| async { Html(PAGE) }))
            .route("/token", get(move || demo_token(signer.clone())))
            .route("/phoenix.mjs", get(phoenix_js))
            // Browsers ask for it on every page; "nothing here" beats a 404 in the console.
            .route(
                "/favicon.ico",
                get(|| async { axum::http::StatusCode::NO_CONTENT }),
            )
    }

    /// Serves the app on `127.0.0.1:port` in the background.
    pub async fn serve(&self, port: u16) -> std::io::Result<Server> {
        Server::bind(port, self.router()).await
    }
}

/// A token for the demo user 1, as a server would embed it in the page it renders
/// for a logged-in user. (A real app signs for the session's user, never for whoever
/// asks.)
async fn demo_token(signer: TokenSigner) -> axum::Json<serde_json::Value> {
    let token = signer.sign(&DEMO_USER_ID).expect("an i64 serialises");
    axum::Json(serde_json::json!({ "user_id": DEMO_USER_ID, "token": token }))
}

/// The user the demo page signs in as.
pub const DEMO_USER_ID: i64 = 1;

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
