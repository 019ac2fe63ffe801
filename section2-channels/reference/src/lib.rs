//! # section2-reference: section 2's reference answers, and the app that serves them
//!
//! The reference answers of section 2 are compiled here from `solutions/section2/`
//! (the very files `cargo xtask solve` copies over yours), with no learner code, so
//! the crates that build on section 2 (the scale lab, the fuzz harness, sections 3
//! and 4) never compile `section2-channels/src/start/`: a half-done exercise there
//! cannot break them.
//!
//! Read it in this order:
//!
//! 1. [`part1`] and [`part2`]: the reference channels, one file per exercise;
//! 2. [`routes!`]: the section's topics, written once for any module that has the
//!    exercises' `part1` and `part2` (the section crate builds your routes with it too);
//! 3. [`app`]: the [`App`], both sockets, the demo page, `/token` and the official
//!    client's `phoenix.mjs`, built from a [`RouteTable`];
//! 4. [`serve`]: the `serve` command's flags and loop, shared by the section's binary
//!    and the scale lab's.

#[path = "../../../solutions/section2/part1/mod.rs"]
pub mod part1;

#[path = "../../../solutions/section2/part2/mod.rs"]
pub mod part2;

pub mod app;
pub mod serve;

pub use app::{App, DEMO_USER_ID, PHOENIX_MJS, RouteTable};

use activity::ActivityStore;
use channels::endpoint::{ConnectParams, Refused};
use channels::token::TokenSigner;
use channels::{ChannelRouter, SocketInfo};

/// The route table of the implementation in module `$imp`: a module with the
/// exercises' `part1` and `part2` (the reference here, `start` or `solution` in the
/// section crate). Written once, so your code and the reference answer the same
/// topics.
///
/// ```
/// let reference: section2_reference::RouteTable = section2_reference::routes!(section2_reference);
/// # let _ = reference;
/// ```
#[macro_export]
macro_rules! routes {
    ($imp:path) => {{
        use $imp as imp;
        $crate::RouteTable {
            channels: |store| {
                $crate::app::__private::ChannelRouter::new()
                    .state(store)
                    .channel::<imp::part1::e01_ping::PingChannel>("ping")
                    .channel::<imp::part1::e02_feed::FeedChannel>("feed")
                    .channel::<imp::part2::e06_rate_limit::RateLimitedFeedChannel>("feed:limited")
                    .channel::<imp::part1::e03_intercept::OpsChannel>("ops")
                    .channel::<imp::part1::e04_reports::ReportsChannel>("reports")
                    .channel::<imp::part1::e05_bounded_reports::BoundedReportsChannel>(
                        "reports:bounded",
                    )
            },
            auth_channels: |signer, store| {
                $crate::app::__private::ChannelRouter::new()
                    .state(signer)
                    .state(store)
                    .state($crate::app::__private::RecurringInterval::default())
                    .state(::std::sync::Arc::new(
                        imp::part2::e07_user_rate_limit::UserRateLimiter::new(),
                    ))
                    .channel::<imp::part2::e09_user_channel::UserChannel>("user:*")
                    .channel::<imp::part2::e07_user_rate_limit::UserLimitedFeedChannel>(
                        "feed:limited",
                    )
                    .channel::<imp::part2::e10_recurring::RecurringChannel>("recurring")
            },
            connect: imp::part2::e08_auth_socket::connect,
        }
    }};
}

/// The reference's route table.
pub fn reference_routes() -> RouteTable {
    routes!(crate)
}

/// The reference's topics of the anonymous socket; the feed reads and writes `store`.
pub fn channels(store: ActivityStore) -> ChannelRouter {
    (reference_routes().channels)(store)
}

/// The reference's topics of the authenticated socket (part 2): `user:<id>`,
/// `recurring`, and `feed:limited` with one rate limit per user.
pub fn auth_channels(signer: TokenSigner, store: ActivityStore) -> ChannelRouter {
    (reference_routes().auth_channels)(signer, store)
}

/// Who may connect to the authenticated socket: the reference `connect` (s2.e8).
pub fn auth_handler(
    signer: TokenSigner,
) -> impl Fn(&ConnectParams) -> Result<SocketInfo, Refused> + Send + Sync + 'static {
    reference_routes().handler(signer)
}
