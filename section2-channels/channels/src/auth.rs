//! What the authentication exercises share: the user id a socket carries, the token
//! signer the app uses, and the recurring channel's interval.

use std::time::Duration;

use crate::token::TokenSigner;

/// The authenticated user of a socket: `connect` puts it in the socket's assigns,
/// channels read it with `ctx.assign::<UserId>()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub i64);

/// The salt of user-socket tokens: a token signed for another purpose (another salt)
/// does not verify here.
pub const SALT: &str = "user socket";

/// The secret key base used when `SECTION2_SECRET_KEY_BASE` is not set. Fine for a
/// laptop; anyone who reads this file can sign tokens for it, so never deploy it.
pub const DEV_SECRET_KEY_BASE: &str = "section 2 development secret: never use this in production";

/// How often the recurring channel pushes a fresh token, unless the app says otherwise.
pub const DEFAULT_RECURRING_INTERVAL: Duration = Duration::from_secs(5);

/// The recurring channel's interval, as router state (tests make it shorter or keep
/// the default on a paused clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecurringInterval(pub Duration);

impl Default for RecurringInterval {
    fn default() -> Self {
        RecurringInterval(DEFAULT_RECURRING_INTERVAL)
    }
}

/// The app's signer: keyed from `SECTION2_SECRET_KEY_BASE`, or the development secret.
pub fn signer_from_env() -> TokenSigner {
    let secret = std::env::var("SECTION2_SECRET_KEY_BASE")
        .unwrap_or_else(|_| DEV_SECRET_KEY_BASE.to_owned());
    TokenSigner::new(secret, SALT)
        .expect("SECTION2_SECRET_KEY_BASE must be at least 20 bytes (use 64 random bytes)")
}
