//! The `feed` topic on a node that serves WebSockets: join it, and every
//! `activity.created` broadcast on any node of the cluster is pushed to you.
//!
//! Deliberately minimal (section 2's feed exercise adds fetching and creating from
//! the browser): here the point is where the broadcast comes from.

use serde_json::json;

use section2_channels::{Channel, ChannelContext, HandleIn, Join, Payload};

/// The topic every activity is broadcast on.
pub const FEED_TOPIC: &str = "feed";
/// The event of a new activity; its payload is the stored activity.
pub const ACTIVITY_CREATED: &str = "activity.created";

/// The channel on topic `feed`: broadcasts reach the client unchanged (they are
/// not intercepted), and nothing can be pushed to it.
pub struct FeedChannel;

impl Channel for FeedChannel {
    type Info = ();

    async fn join(_topic: &str, _payload: Payload, _ctx: &mut ChannelContext<Self>) -> Join<Self> {
        Join::ok(FeedChannel)
    }

    async fn handle_in(
        &mut self,
        event: &str,
        _payload: Payload,
        _ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        HandleIn::error(json!({ "reason": format!("unknown event: {event}") }))
    }
}
