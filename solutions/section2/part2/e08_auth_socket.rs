//! Exercise s2.e8: authenticate the socket with a signed token. Slide:
//! slides/src/section2/part2/e08_auth_socket.md
//!
//! The page gets a token signed for its user when it is rendered, and passes it as the
//! `token` param of the socket. `connect` verifies it once, for the whole connection:
//! every channel on the socket then knows the user without asking again.

use axum::http::Extensions;

use channels::SocketInfo;
use channels::auth::UserId;
use channels::endpoint::{ConnectParams, Refused};
use channels::token::TokenSigner;

// ANCHOR: connect
/// Lets a connection in if its `token` param verifies, as `auth_socket:<user id>`.
///
/// A missing, invalid or expired token is refused (the endpoint answers 403 and logs
/// the reason): `token missing`, `token invalid` or `token expired`.
pub fn connect(signer: &TokenSigner, params: &ConnectParams) -> Result<SocketInfo, Refused> {
    let token = params.get("token").map(String::as_str);
    match signer.verify::<i64>(token) {
        Ok(user_id) => {
            let mut assigns = Extensions::new();
            assigns.insert(UserId(user_id));
            Ok(SocketInfo {
                id: Some(format!("auth_socket:{user_id}")),
                assigns,
            })
        }
        Err(error) => Err(Refused(format!("token {}", error.as_str()))),
    }
}
// ANCHOR_END: connect
