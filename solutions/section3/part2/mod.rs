//! Part 2: a cluster. Broadcasts across nodes over Redis.

pub mod redis_pubsub;
