//! The HTTP side of live views: the static render of each page, the `/live`
//! WebSocket the pages connect to, and the JavaScript clients.
//!
//! The page of a static render carries what the connected mount needs:
//!
//! - `<meta name="csrf-token">`: a signed token the page's script sends as the
//!   socket's `_csrf_token` parameter; the socket refuses connections without a valid
//!   one, so another site cannot open a live socket in the user's name;
//! - on the view's container: `id="phx-..."` (the channel topic is `lv:<id>`),
//!   `data-phx-main`, `data-phx-session` (a signed token naming the view, the id and
//!   the page's query parameters: the server trusts only what it signed) and
//!   `data-phx-static` (empty: this framework keeps nothing static-only in it).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{Extensions, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use channels::endpoint::ConnectParams;
use channels::token::TokenSigner;
use channels::{ChannelRouter, CheckOrigin, Endpoint, Refused, SocketInfo};
use serde::{Deserialize, Serialize};

use super::LIVEVIEW_JS_VERSION;
use super::channel::{LiveChannel, MountFn, mount_fn};
use super::view::{LiveView, Session};

/// How many query parameters a page keeps in its session, and how long each may be:
/// the session travels in a token, so it stays small.
pub const MAX_SESSION_PARAMS: usize = 8;
/// See [`MAX_SESSION_PARAMS`].
pub const MAX_SESSION_PARAM_LEN: usize = 128;

/// Where the live socket is mounted (`/live/websocket`).
pub const LIVE_SOCKET: &str = "/live";

/// The npm folder whose `node_modules` holds the official clients the pages load:
/// section 4's `tests/live`, beside this crate, which also holds the browser tests'
/// scripts (one `npm ci` installs the clients and the browser driver together).
pub const ASSETS_NPM_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/live");

/// What the session token carries from the static render to the connected mount.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionToken {
    pub path: String,
    pub id: String,
    pub session: Session,
}

pub(crate) struct Route {
    pub title: String,
    pub mount: MountFn,
}

/// What the pages and the `lv:` channels share.
pub(crate) struct LiveShared {
    pub state: Arc<Extensions>,
    pub sessions: TokenSigner,
    pub csrf: TokenSigner,
    pub routes: HashMap<String, Route>,
    pub assets: PathBuf,
}

impl LiveShared {
    pub fn route(&self, path: &str) -> Option<&Route> {
        self.routes.get(path)
    }
}

/// Builds the live pages of an app: `LiveRoutes::new(secret).state(store).view::<FeedLive>("/feed", "Feed")`.
pub struct LiveRoutes {
    state: Extensions,
    secret: String,
    routes: HashMap<String, Route>,
    assets: PathBuf,
    check_origin: CheckOrigin,
}

/// The live pages, ready to serve (see [`LiveRoutes::build`]).
#[derive(Clone)]
pub struct LivePages {
    shared: Arc<LiveShared>,
    endpoint: Endpoint,
}

/// A static render: the page's HTML and the tokens in it (tests join with them).
#[derive(Debug, Clone)]
pub struct StaticPage {
    /// The whole HTML document.
    pub html: String,
    /// The view's HTML alone (inside its container).
    pub body: String,
    /// The container's id; the channel topic is `lv:<id>`.
    pub id: String,
    /// The signed session (`data-phx-session`).
    pub session: String,
    /// The CSRF token the socket wants as `_csrf_token`.
    pub csrf_token: String,
}

/// Why a page could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// No view at that path.
    NotFound,
    /// Too many or too long query parameters.
    BadParams(String),
    /// The view's mount failed (or panicked).
    Mount(String),
}

impl LiveRoutes {
    /// Live routes whose tokens are signed from `secret_key_base` (at least 20 bytes).
    pub fn new(secret_key_base: impl Into<String>) -> LiveRoutes {
        LiveRoutes {
            state: Extensions::new(),
            secret: secret_key_base.into(),
            routes: HashMap::new(),
            assets: PathBuf::from(ASSETS_NPM_DIR).join("node_modules"),
            check_origin: CheckOrigin::default(),
        }
    }

    /// Which pages may open the live socket (default: the pages this server rendered,
    /// [`CheckOrigin::SameHost`]). A live socket is where a foreign page would do
    /// harm: it acts with the visitor's session.
    pub fn check_origin(mut self, check: CheckOrigin) -> Self {
        self.check_origin = check;
        self
    }

    /// Shared state the views read with `ctx.state::<T>()`.
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Serves view `V` at `path` (e.g. `/feed`), with `title` as the page's title.
    pub fn view<V: LiveView>(mut self, path: &str, title: &str) -> Self {
        self.routes.insert(
            path.to_owned(),
            Route {
                title: title.to_owned(),
                mount: mount_fn::<V>(),
            },
        );
        self
    }

    /// Ready to serve.
    ///
    /// # Panics
    /// If the secret key base is shorter than 20 bytes.
    pub fn build(self) -> LivePages {
        let signer =
            |salt: &str| TokenSigner::new(&self.secret, salt).expect("a long enough secret");
        let shared = Arc::new(LiveShared {
            state: Arc::new(self.state),
            sessions: signer("live view session"),
            csrf: signer("live socket csrf"),
            routes: self.routes,
            assets: self.assets,
        });
        let csrf = shared.csrf.clone();
        let connect = move |params: &ConnectParams| -> Result<SocketInfo, Refused> {
            csrf.verify::<String>(params.get("_csrf_token").map(String::as_str))
                .map_err(|error| Refused(format!("csrf token {}", error.as_str())))?;
            Ok(SocketInfo::default())
        };
        let router = ChannelRouter::new()
            .state(shared.clone())
            .channel::<LiveChannel>("lv:*");
        let endpoint = Endpoint::builder(router)
            .handler(connect)
            .check_origin(self.check_origin)
            .build();
        LivePages { shared, endpoint }
    }
}

impl LivePages {
    /// The `lv:*` socket endpoint (tests connect to it in memory).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Whether the official JavaScript clients are installed where the pages load
    /// them from.
    pub fn assets_installed(&self) -> bool {
        asset_path(&self.shared, "phoenix_live_view.js").is_some_and(|p| p.exists())
    }

    /// The static render of the page at `path` with `query` parameters.
    pub async fn render(
        &self,
        path: &str,
        query: &HashMap<String, String>,
    ) -> Result<StaticPage, PageError> {
        let route = self.shared.route(path).ok_or(PageError::NotFound)?;
        if query.len() > MAX_SESSION_PARAMS
            || query
                .iter()
                .any(|(k, v)| k.len() > MAX_SESSION_PARAM_LEN || v.len() > MAX_SESSION_PARAM_LEN)
        {
            return Err(PageError::BadParams(format!(
                "at most {MAX_SESSION_PARAMS} query parameters of at most {MAX_SESSION_PARAM_LEN} bytes"
            )));
        }
        let session = Session {
            params: query.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        };
        let view = (route.mount)(session.clone(), self.shared.clone(), None)
            .await
            .map_err(|error| PageError::Mount(error.0))?;
        let body = view.render().to_html();
        let id = new_view_id();
        let token = SessionToken {
            path: path.to_owned(),
            id: id.clone(),
            session,
        };
        let session = self
            .shared
            .sessions
            .sign(&token)
            .expect("a session serialises");
        let csrf_token = self.shared.csrf.sign("csrf").expect("a string serialises");
        let html = layout(&route.title, &id, &session, &csrf_token, &body);
        Ok(StaticPage {
            html,
            body,
            id,
            session,
            csrf_token,
        })
    }

    /// The axum routes: every view's page, the `/live` socket, and `/assets/*.js`.
    pub fn router(&self) -> axum::Router {
        let mut router = self.endpoint.routes(LIVE_SOCKET);
        for path in self.shared.routes.keys() {
            let path_owned = path.clone();
            router = router.route(
                path,
                get(
                    move |State(pages): State<LivePages>,
                          Query(query): Query<HashMap<String, String>>| async move {
                        page(pages, path_owned, query).await
                    },
                )
                .with_state(self.clone()),
            );
        }
        // Browsers ask for it on every page; a quiet "nothing here" keeps 404s out of
        // their consoles.
        router = router.route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }));
        router.route(
            "/assets/{file}",
            get(
                |State(pages): State<LivePages>,
                 axum::extract::Path(file): axum::extract::Path<String>| async move {
                    asset(&pages.shared, &file).await
                },
            )
            .with_state(self.clone()),
        )
    }
}

async fn page(pages: LivePages, path: String, query: HashMap<String, String>) -> Response {
    match pages.render(&path, &query).await {
        Ok(page) => Html(page.html).into_response(),
        Err(PageError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(PageError::BadParams(reason)) => (StatusCode::BAD_REQUEST, reason).into_response(),
        Err(PageError::Mount(reason)) => {
            tracing::warn!(%path, %reason, "static render failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the view at {path} could not mount: {reason}"),
            )
                .into_response()
        }
    }
}

/// The two files the pages load, from the npm packages' own builds.
fn asset_path(shared: &LiveShared, file: &str) -> Option<PathBuf> {
    let relative = match file {
        "phoenix.js" => "phoenix/priv/static/phoenix.js",
        "phoenix_live_view.js" => "phoenix_live_view/priv/static/phoenix_live_view.js",
        _ => return None,
    };
    Some(shared.assets.join(relative))
}

async fn asset(shared: &LiveShared, file: &str) -> Response {
    let Some(path) = asset_path(shared, file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "text/javascript")], bytes).into_response(),
        Err(_) => {
            tracing::warn!(
                "{} is missing: run `npm ci --prefix {ASSETS_NPM_DIR}` for the live pages' JavaScript",
                path.display()
            );
            // The page still shows its static render; this says why it stays static.
            let note = format!(
                "document.body.insertAdjacentHTML('afterbegin', '<p class=\"no-js-client\">The live client is not installed: run <code>npm ci --prefix section4-tracker-live/tests/live</code> and reload.</p>'); /* {file} missing */"
            );
            ([(header::CONTENT_TYPE, "text/javascript")], note).into_response()
        }
    }
}

/// A fresh container id: 12 random bytes, URL-safe.
fn new_view_id() -> String {
    let bytes: [u8; 12] = rand::random();
    format!(
        "phx-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

// ANCHOR: layout
/// The document around a view: the tokens, the container and the client's boot.
fn layout(title: &str, id: &str, session: &str, csrf: &str, body: &str) -> String {
    let title = super::escape(title);
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="csrf-token" content="{csrf}">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto}} li{{margin:.2rem 0}} .phx-loading{{opacity:.7}}</style>
</head>
<body>
<div id="{id}" data-phx-main data-phx-session="{session}" data-phx-static="">{body}</div>
<script src="/assets/phoenix.js"></script>
<script src="/assets/phoenix_live_view.js"></script>
<script>
  // The official clients: phoenix (the socket) and phoenix_live_view (joins the
  // container above on lv:<id>, applies rendered/diff payloads, sends phx-* events).
  if (window.LiveView && window.Phoenix) {{
    const csrf = document.querySelector("meta[name='csrf-token']").getAttribute("content");
    const liveSocket = new LiveView.LiveSocket("{socket}", Phoenix.Socket, {{params: {{_csrf_token: csrf}}}});
    liveSocket.connect();
    window.liveSocket = liveSocket;
  }}
</script>
<!-- client: phoenix_live_view {version} -->
</body>
</html>
"#,
        socket = LIVE_SOCKET,
        version = LIVEVIEW_JS_VERSION,
    )
}
// ANCHOR_END: layout
