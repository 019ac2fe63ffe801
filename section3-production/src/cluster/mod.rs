//! Several nodes behaving as one: PubSub across nodes over Redis.
//!
//! Provided infrastructure, meant to be read:
//!
//! - [`envelope`]: what one node tells the others about a broadcast (with
//!   `from_node`), as JSON;
//! - [`redis_link`]: the two Redis connections a node keeps (one to publish, one
//!   subscribed), reconnecting after Redis restarts and counting what was lost;
//! - [`queries`]: membership by heartbeat, and a question to every node
//!   (scatter-gather, gathered by exercise s3.e8);
//! - [`latency`]: how long a broadcast takes from node to node through Redis.
//!
//! The adapter that puts them behind section 2's `PubSub` trait is exercise s3.e6
//! (`start::part2::redis_pubsub`).

pub mod envelope;
pub mod latency;
pub mod queries;
pub mod redis_link;
pub mod scatter;

pub use envelope::Envelope;
pub use redis_link::{LinkStats, RedisLink};

/// The Redis channel every node of a cluster publishes broadcasts to (and
/// subscribes to), unless configured otherwise.
pub const DEFAULT_CHANNEL: &str = "rts:broadcast";
