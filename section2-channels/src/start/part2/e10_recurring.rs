//! Exercise s2.e10: a channel that pushes on a timer.
//!
//! - slide: slides/src/section2/part2/e10_recurring.md
//! - tests: `mod e10_recurring` in section2-channels/tests/part2.rs,
//!   run by `cargo xtask check s2.e10`
//! - stuck? `cargo xtask hint s2.e10` (each hint gives away a little more)
//!
//! Tokens expire. A page that stays open for days needs fresh ones: the recurring
//! channel pushes `new_token` every few seconds (5 by default), each signed for the
//! socket's user, so the page can reconnect with a valid token at any time.

use serde_json::json;

use channels::auth::{RecurringInterval, UserId};
use channels::token::TokenSigner;
use channels::{Channel, ChannelContext, HandleIn, Handled, Join, Payload};

/// The channel on topic `recurring`.
pub struct RecurringChannel {
    user_id: i64,
}

/// The channel's own timer message.
pub enum Tick {
    /// Time to push a fresh token.
    NewToken,
}

fn interval(ctx: &ChannelContext<RecurringChannel>) -> std::time::Duration {
    ctx.state::<RecurringInterval>()
        .copied()
        .unwrap_or_default()
        .0
}

impl Channel for RecurringChannel {
    type Info = Tick;

    async fn join(_topic: &str, _payload: Payload, ctx: &mut ChannelContext<Self>) -> Join<Self> {
        let Some(UserId(user_id)) = ctx.assign::<UserId>().copied() else {
            return Join::error(json!({ "reason": "unauthorized" }));
        };
        // The first tick; each tick schedules the next, so the timer dies with the
        // channel (a message to a stopped channel goes nowhere).
        ctx.send_after(interval(ctx), Tick::NewToken);
        Join::ok(RecurringChannel { user_id })
    }

    async fn handle_in(
        &mut self,
        event: &str,
        _payload: Payload,
        _ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        HandleIn::error(json!({ "reason": format!("unknown event: {event}") }))
    }

    async fn handle_info(&mut self, message: Tick, ctx: &mut ChannelContext<Self>) -> Handled {
        // TODO(s2.e10): on each tick, push "new_token" {"token": ...} with a token
        // signed for self.user_id (the signer is `ctx.state::<TokenSigner>()`), then
        // schedule the next tick after `interval(ctx)`.
        todo!("s2.e10: push a fresh token and schedule the next tick")
    }
}
