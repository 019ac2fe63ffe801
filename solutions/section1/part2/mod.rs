//! Part 2: a back-pressured pipeline, supervision, a coalescing cache, and stages of
//! different speed.

pub mod e05_composition;
pub mod e06_consumers;
pub mod e07_worker_pool;
pub mod e08_supervision;
pub mod e09_overload;
pub mod e10_portal;
pub mod e11_stages;
