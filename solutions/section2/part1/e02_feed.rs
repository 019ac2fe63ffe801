//! Exercise s2.e2: the activity feed. Slide: slides/src/section2/part1/e02_feed.md
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
            // ANCHOR: fetch
            "fetch" => {
                let limit = match fetch_limit(&Value::Object(payload)) {
                    Ok(limit) => limit,
                    Err(errors) => return HandleIn::error(errors.reply_payload()),
                };
                match self.store.list_newest(limit).await {
                    Ok(activities) => HandleIn::ok(json!({ "activities": activities })),
                    Err(error) => store_failed(&error),
                }
            }
            // ANCHOR_END: fetch
            // ANCHOR: create
            "create_activity" => {
                // Only the fields a client may set; the store stamps `occurred_at`.
                let new = match NewActivity::from_payload(&Value::Object(payload)) {
                    Ok(new) => new,
                    Err(errors) => return invalid(errors.reply_payload()),
                };
                match self.store.create(new).await {
                    Ok(activity) => {
                        let activity = serde_json::to_value(&activity).expect("serialisable");
                        // Every dashboard on `feed` hears about it, this one included.
                        ctx.broadcast("activity.created", channels::payload(activity.clone()));
                        HandleIn::ok(activity)
                    }
                    Err(StoreError::Invalid(errors)) => invalid(errors.reply_payload()),
                    Err(error) => store_failed(&error),
                }
            }
            // ANCHOR_END: create
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
