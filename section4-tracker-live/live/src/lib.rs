//! Live views: server-rendered pages that stay connected over the section 2 channels.
//!
//! Read in this order:
//!
//! 1. [`rendered`](mod@rendered): a render split into statics and dynamics, the wire format, and
//!    the diff that sends only changed dynamics;
//! 2. [`view`]: the [`LiveView`] trait (`mount`, `render`, `handle_event`,
//!    `handle_info`) and its [`LiveContext`] (connected?, subscribe, send, async work);
//! 3. [`channel`]: the `lv:*` channel that carries a view (join = connected mount,
//!    `event` in, `diff` out);
//! 4. [`routes`]: the static render over HTTP, the tokens in the page, the socket and
//!    the official JavaScript clients.
//!
//! The pages are driven by the official `phoenix_live_view` JavaScript client
//! ([`LIVEVIEW_JS_VERSION`]), served from section 4's npm folder `tests/live`
//! ([`routes::ASSETS_NPM_DIR`]).
//!
//! Then what section 4's views are built from (their templates, messages and
//! dependencies; the views themselves are the exercises):
//!
//! 5. [`feed`]: the activity feed page, its slow load and its Create button;
//! 6. [`presence`]: the "who is online" page, from the tracker.

pub mod channel;
pub mod feed;
pub mod presence;
pub mod rendered;
pub mod routes;
pub mod view;

pub use rendered::{Comprehension, Dynamic, Rendered, escape};
pub use routes::{LivePages, LiveRoutes, PageError, StaticPage};
pub use view::{LiveContext, LiveView, MountError, Session};

/// The `phoenix_live_view` npm version the pages load (section 4's `tests/live/package.json`); the
/// join reply names it so the client does not warn about a mismatch.
pub const LIVEVIEW_JS_VERSION: &str = "1.2.12";
