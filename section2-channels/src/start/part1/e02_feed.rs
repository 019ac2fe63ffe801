//! Exercise s2.e2: the activity feed.
//!
//! - slide: slides/src/section2/part1/e02_feed.md
//! - tests: `mod e02_feed` in section2-channels/tests/part1.rs,
//!   run by `cargo xtask check s2.e2`
//! - stuck? `cargo xtask hint s2.e2` (each hint gives away a little more)
//!
//! A dashboard joins `feed`. It asks for the newest activities with `fetch`, creates
//! one with `create_activity`, and hears about every new one through the
//! `activity.created` broadcast. The channel keeps nothing: the store is the truth.

use serde_json::{Value, json};

use activity::{ActivityStore, NewActivity, StoreError, fetch_limit};
use channels::{Channel, ChannelContext, HandleIn, Join, Payload};

/// The channel on topic `feed`.
pub struct FeedChannel {
    store: ActivityStore,
}

impl Channel for FeedChannel {
    type Info = ();

    async fn join(_topic: &str, _payload: Payload, ctx: &mut ChannelContext<Self>) -> Join<Self> {
        // The app puts the store in the router's state (see app.rs).
        let store = ctx
            .state::<ActivityStore>()
            .expect("the app gives the feed an ActivityStore")
            .clone();
        Join::ok(FeedChannel { store })
    }

    async fn handle_in(
        &mut self,
        event: &str,
        payload: Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        match event {
            "fetch" => {
                // TODO(s2.e2): reply ok {"activities": [...]} with the newest activities,
                // as many as the payload's "limit" asks (`fetch_limit` reads it and
                // names the field when it is wrong: reply with `errors.reply_payload()`).
                todo!("s2.e2: fetch the newest activities from self.store")
            }
            "create_activity" => {
                // TODO(s2.e2): create the activity through the store (it stamps the
                // time), reply ok with the stored activity, and broadcast it to `feed`
                // as "activity.created". Invalid data gets an error reply naming the
                // fields: use `invalid(errors.reply_payload())`. A failing database
                // gets `store_failed(&error)`.
                todo!("s2.e2: create, reply, broadcast")
            }
            other => HandleIn::error(json!({ "reason": format!("unknown event: {other}") })),
        }
    }
}

/// `{"reason": "invalid activity data", "errors": {field: [messages]}}`.
fn invalid(errors: Value) -> HandleIn {
    let mut response = json!({ "reason": "invalid activity data" });
    response["errors"] = errors["errors"].clone();
    HandleIn::error(response)
}

/// The database failed: say so without leaking its error to the client, and log it.
fn store_failed(error: &StoreError) -> HandleIn {
    tracing::error!(%error, "feed: the activity store failed");
    HandleIn::error(json!({ "reason": "the activity store is unavailable, try again" }))
}
