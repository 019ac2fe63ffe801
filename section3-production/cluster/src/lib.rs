//! # cluster: several nodes behaving as one, over Redis
//!
//! Provided code, meant to be read (the README lists the files in reading order):
//!
//! - [`envelope`]: what one node tells the others about a broadcast (with
//!   `from_node`), as JSON;
//! - [`redis_link`]: the two Redis connections a node keeps (one to publish, one
//!   subscribed), reconnecting after Redis restarts and counting what was lost;
//! - [`scatter`]: the types of a question to every node: one node's answer, and
//!   what came back by the deadline;
//! - [`queries`]: membership by heartbeat, and a question scattered to every node
//!   (gathering the answers is exercise s3.e8);
//! - [`latency`]: how long a broadcast takes from node to node through Redis;
//! - [`groups`]: named groups of processes across the cluster (Erlang's `pg`) and a
//!   request to one member on any node (calling it by a deadline is exercise s3.e11);
//! - [`portal`]: section 1's Portal cache on one node, and the member serving it to
//!   the others (one owner per id across the cluster is exercise s3.e12).
//!
//! The adapter that puts them behind section 2's `PubSub` trait is exercise s3.e6
//! (`section3-production/src/start/part2/e06_redis_pubsub.rs`).

pub mod envelope;
pub mod groups;
pub mod latency;
pub mod portal;
pub mod queries;
pub mod redis_link;
pub mod scatter;

pub use envelope::Envelope;
pub use redis_link::{LinkStats, RedisLink};

/// The Redis channel every node of a cluster publishes broadcasts to (and
/// subscribes to), unless configured otherwise.
pub const DEFAULT_CHANNEL: &str = "rts:broadcast";
