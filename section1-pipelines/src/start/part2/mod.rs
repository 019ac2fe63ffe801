//! Part 2: a back-pressured pipeline, supervision, and a coalescing cache.

pub mod composition;
pub mod consumers;
pub mod overload;
pub mod portal;
pub mod supervision;
pub mod worker_pool;
