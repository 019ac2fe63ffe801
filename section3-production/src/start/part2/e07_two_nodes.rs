//! Exercise s3.e7: the backend node.
//!
//! No web server: it creates activities (an import job, a payment webhook consumer, an
//! admin tool) and every browser connected to any node sees them.
//!
//! - slide: slides/src/section3/part2/e07_two_nodes.md
//! - tests: `mod e07_two_nodes` in section3-production/tests/part2.rs,
//!   run by `cargo xtask check s3.e7`
//! - stuck? `cargo xtask hint s3.e7` (each hint gives away a little more)

use activity::feed::{CREATED as ACTIVITY_CREATED, FEED_TOPIC};
use activity::{Activity, ActivityStore, NewActivity, StoreError};
use channels::pubsub::{Broadcast, PubSub};

/// Stores `new`, then broadcasts the stored activity (with its id and time) as
/// `activity.created` on `feed`, to every node. Returns what was stored.
pub async fn create_activity(
    store: &ActivityStore,
    pubsub: &dyn PubSub,
    new: NewActivity,
) -> Result<Activity, StoreError> {
    // TODO(s3.e7): slides/src/section3/part2/e07_two_nodes.md
    todo!("store it, then broadcast the stored activity on the feed")
}
