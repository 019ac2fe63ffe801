//! Part 2: a cluster. Broadcasts across nodes over Redis, and asking every node.

pub mod e06_redis_pubsub;
pub mod e07_two_nodes;
pub mod e08_scatter_gather;
pub mod e09_rates;
