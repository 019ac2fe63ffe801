//! Part 2: a cluster. Broadcasts across nodes over Redis, and asking every node.

pub mod backend;
pub mod rates;
pub mod redis_pubsub;
pub mod scatter_gather;
