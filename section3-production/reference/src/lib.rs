//! # section3-reference: section 3's reference answers
//!
//! The reference answers of section 3 are compiled here from `solutions/section3/`
//! (the very files `cargo xtask solve` copies over yours), with no learner code, so
//! the crates that build on section 3 (section 4 takes its Redis PubSub adapter,
//! [`part2::e06_redis_pubsub::RedisPubSub`]) never compile
//! `section3-production/src/start/`: a half-done exercise there cannot break them.
//!
//! The answers build on two provided crates beside this one: `observability`
//! (telemetry, process samples, the `/observe` snapshot) and `cluster` (the Redis
//! link, the envelope, the types of a scatter-gather, groups across nodes, the
//! portal cache). Part 3's hard modes (hibernation, calls to another node, one
//! owner per id, a cluster-wide limit, an observer) also use section 2's
//! `channels` crate (its hibernation and inspection hooks).

#[path = "../../../solutions/section3/part1/mod.rs"]
pub mod part1;

#[path = "../../../solutions/section3/part2/mod.rs"]
pub mod part2;

#[path = "../../../solutions/section3/part3/mod.rs"]
pub mod part3;
