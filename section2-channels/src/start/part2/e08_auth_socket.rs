//! Exercise s2.e8: authenticate the socket with a signed token.
//!
//! - slide: slides/src/section2/part2/e08_auth_socket.md
//! - tests: `mod e08_auth_socket` in section2-channels/tests/part2.rs,
//!   run by `cargo xtask check s2.e8`
//! - stuck? `cargo xtask hint s2.e8` (each hint gives away a little more)
//!
//! The page gets a token signed for its user when it is rendered, and passes it as the
//! `token` param of the socket. `connect` verifies it once, for the whole connection:
//! every channel on the socket then knows the user without asking again.

use axum::http::Extensions;

use channels::SocketInfo;
use channels::auth::UserId;
use channels::endpoint::{ConnectParams, Refused};
use channels::token::TokenSigner;

/// Lets a connection in if its `token` param verifies, as `auth_socket:<user id>`.
///
/// A missing, invalid or expired token is refused (the endpoint answers 403 and logs
/// the reason): `token missing`, `token invalid` or `token expired`.
pub fn connect(signer: &TokenSigner, params: &ConnectParams) -> Result<SocketInfo, Refused> {
    // TODO(s2.e8): verify the `token` param (`signer.verify::<i64>`, which takes an
    // Option: a missing param is a missing token). On success return a SocketInfo
    // with id "auth_socket:<user id>" and the UserId in its assigns; otherwise refuse
    // with Refused("token missing" | "token invalid" | "token expired").
    todo!("s2.e8: verify the token, or refuse the connection")
}
