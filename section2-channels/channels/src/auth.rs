//! What the authentication exercises share: the user id a socket carries, the
//! tokens' salt, and the recurring channel's interval. The signing secret is not
//! here: binaries read it from `COURSE_TOKEN_SECRET` (`serving::Secret`), tests
//! make their own, and no secret is ever a constant in the code.

use std::time::Duration;

/// The authenticated user of a socket: `connect` puts it in the socket's assigns,
/// channels read it with `ctx.assign::<UserId>()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub i64);

/// The salt of user-socket tokens: a token signed for another purpose (another salt)
/// does not verify here.
pub const SALT: &str = "user socket";

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
