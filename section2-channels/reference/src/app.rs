//! The section's app: one endpoint at `/socket` and one at `/auth_socket`, routing
//! each exercise's topic to the channels of a [`RouteTable`], and the demo page at `/`.

use std::sync::Arc;

use activity::ActivityStore;
use axum::response::Html;
use axum::routing::get;
use channels::auth::SALT;
use channels::endpoint::{ConnectParams, Refused};
use channels::pubsub::{LocalPubSub, PubSub};
use channels::token::TokenSigner;
use channels::{ChannelRouter, CheckOrigin, Endpoint, Server, SocketConfig, SocketInfo};
use serving::{Health, Secret};

/// What [`routes!`](crate::routes!) expands to: the routers and the connect check of
/// one implementation, so an [`App`] can serve yours or the reference alike.
#[derive(Clone, Copy)]
pub struct RouteTable {
    /// The topics of the anonymous socket (part 1, and `feed:limited` of s2.e6); the
    /// feed reads and writes the store given.
    pub channels: fn(ActivityStore) -> ChannelRouter,
    /// The topics of the authenticated socket (part 2).
    pub auth_channels: fn(TokenSigner, ActivityStore) -> ChannelRouter,
    /// Who may connect to the authenticated socket (s2.e8).
    pub connect: fn(&TokenSigner, &ConnectParams) -> Result<SocketInfo, Refused>,
}

impl RouteTable {
    /// The authenticated socket's connect check, as an endpoint handler with `signer`.
    pub fn handler(
        self,
        signer: TokenSigner,
    ) -> impl Fn(&ConnectParams) -> Result<SocketInfo, Refused> + Send + Sync + 'static {
        let connect = self.connect;
        move |params: &ConnectParams| connect(&signer, params)
    }
}

/// What [`routes!`](crate::routes!) names from the caller's crate: the macro expands
/// there, where `channels` may not be a dependency.
#[doc(hidden)]
pub mod __private {
    pub use channels::ChannelRouter;
    pub use channels::auth::RecurringInterval;
}

/// The app's shared state: the endpoints (sharing one pubsub), the token signer and
/// the activity store.
#[derive(Clone)]
pub struct App {
    /// The anonymous socket endpoint at `/socket` (part 1).
    pub endpoint: Endpoint,
    /// The token-authenticated socket endpoint at `/auth_socket` (part 2).
    pub auth_endpoint: Endpoint,
    /// Signs the tokens `/auth_socket` accepts.
    pub signer: TokenSigner,
    /// The feed's activities; `/readyz` checks it.
    pub store: ActivityStore,
}

impl App {
    /// The reference app on a fresh local pubsub named `node`, with the feed on `store`.
    pub fn new(node: &str, store: ActivityStore) -> App {
        Self::with_config(node, store, SocketConfig::default())
    }

    /// The same, with explicit per-connection bounds.
    pub fn with_config(node: &str, store: ActivityStore, config: SocketConfig) -> App {
        Self::from_routes(crate::reference_routes(), node, store, config)
    }

    /// An app serving `routes` (yours or the reference) on a fresh local pubsub named
    /// `node`, with the feed on `store` and `config`'s per-connection bounds. Its
    /// tokens are signed with a secret generated for this app alone (tests sign
    /// theirs with [`App::signer`]); `serve` passes the deployment's with
    /// [`App::with_signer`].
    pub fn from_routes(
        routes: RouteTable,
        node: &str,
        store: ActivityStore,
        config: SocketConfig,
    ) -> App {
        let signer = token_signer(&Secret::generate()).expect("a generated secret is long enough");
        Self::with_signer(routes, node, store, config, signer, CheckOrigin::default())
    }

    /// The same, with the tokens of `/auth_socket` signed and checked by `signer`,
    /// and the pages allowed to open either socket decided by `check_origin`.
    pub fn with_signer(
        routes: RouteTable,
        node: &str,
        store: ActivityStore,
        config: SocketConfig,
        signer: TokenSigner,
        check_origin: CheckOrigin,
    ) -> App {
        let pubsub: Arc<dyn PubSub> = Arc::new(LocalPubSub::named(node));
        let endpoint = Endpoint::builder((routes.channels)(store.clone()))
            .pubsub(pubsub.clone())
            .config(config.clone())
            .check_origin(check_origin.clone())
            .build();
        let auth_endpoint =
            Endpoint::builder((routes.auth_channels)(signer.clone(), store.clone()))
                .handler(routes.handler(signer.clone()))
                .pubsub(pubsub)
                .config(config)
                .check_origin(check_origin)
                .build();
        App {
            endpoint,
            auth_endpoint,
            signer,
            store,
        }
    }

    /// What `/readyz` checks: the activity store answers.
    pub fn health(&self) -> Health {
        let store = self.store.clone();
        Health::new().check("database", move || {
            let store = store.clone();
            async move { store.ping().await.map_err(|e| e.to_string()) }
        })
    }

    /// How many WebSocket connections both endpoints hold (the shutdown waits for 0).
    pub fn connections(&self) -> usize {
        self.endpoint.connections() + self.auth_endpoint.connections()
    }

    /// The HTTP routes: the sockets at `/socket/websocket` and
    /// `/auth_socket/websocket`, the demo page at `/`, `/token`, and the probes
    /// `/healthz` and `/readyz` ([`App::health`]).
    pub fn router(&self) -> axum::Router {
        self.router_with(self.health())
    }

    /// The same routes with `health`'s probes (`serve` adds "not ready while draining").
    pub fn router_with(&self, health: Health) -> axum::Router {
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
            .merge(health.routes())
    }

    /// Serves the app on `127.0.0.1:port` in the background.
    pub async fn serve(&self, port: u16) -> std::io::Result<Server> {
        Server::bind(port, self.router()).await
    }
}

/// The signer of user-socket tokens keyed from `secret`; an error if the secret is
/// shorter than [`channels::token::MIN_SECRET_KEY_BASE_LEN`] bytes.
pub fn token_signer(secret: &Secret) -> Result<TokenSigner, channels::token::SecretTooShort> {
    TokenSigner::new(secret.expose(), SALT)
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
    "/../tests/js/node_modules/phoenix/priv/static/phoenix.mjs"
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
