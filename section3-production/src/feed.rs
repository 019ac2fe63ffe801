//! The `feed` topic, served on a web node by section 2's feed channel (its reference
//! solution): every `activity.created` broadcast on any node of the cluster reaches
//! the browsers joined to it.

pub use activity::feed::{CREATED as ACTIVITY_CREATED, FEED_TOPIC};
