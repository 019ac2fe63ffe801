//! The section's app: your channels (start) or the reference (solution) behind the
//! reference crate's [`App`], with the topics of one route table
//! ([`section2_reference::routes!`]) for both.

use activity::ActivityStore;
use channels::endpoint::{ConnectParams, Refused};
use channels::token::TokenSigner;
use channels::{ChannelRouter, SocketConfig, SocketInfo};
pub use section2_reference::{App, RouteTable};

/// Which code answers the exercises' topics: the course's one selector.
pub use selector::Implementation;

/// The topics and the connect check of `implementation`.
pub fn routes(implementation: Implementation) -> RouteTable {
    match implementation {
        Implementation::Start => section2_reference::routes!(crate::start),
        Implementation::Solution => section2_reference::routes!(crate::solution),
    }
}

/// The topics each exercise serves, for `implementation`; the feed reads and writes
/// `store`.
pub fn channels(implementation: Implementation, store: ActivityStore) -> ChannelRouter {
    (routes(implementation).channels)(store)
}

/// The topics of the authenticated socket (part 2): `user:<id>`, `recurring`, and
/// `feed:limited` with one rate limit per user.
pub fn auth_channels(
    implementation: Implementation,
    signer: TokenSigner,
    store: ActivityStore,
) -> ChannelRouter {
    (routes(implementation).auth_channels)(signer, store)
}

/// Who may connect to the authenticated socket: `implementation`'s `connect` (s2.e8).
pub fn auth_handler(
    implementation: Implementation,
    signer: TokenSigner,
) -> impl Fn(&ConnectParams) -> Result<SocketInfo, Refused> + Send + Sync + 'static {
    routes(implementation).handler(signer)
}

/// An app serving `implementation` on a fresh local pubsub named `node`, with the
/// feed on `store`.
pub fn new(implementation: Implementation, node: &str, store: ActivityStore) -> App {
    with_config(implementation, node, store, SocketConfig::default())
}

/// The same, with explicit per-connection bounds.
pub fn with_config(
    implementation: Implementation,
    node: &str,
    store: ActivityStore,
    config: SocketConfig,
) -> App {
    App::from_routes(routes(implementation), node, store, config)
}
