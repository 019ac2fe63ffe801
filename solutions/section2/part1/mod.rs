//! Part 1: channels, replies, broadcasts, intercepts, and replying from another task.

pub mod bounded_reports;
pub mod feed;
pub mod intercept;
pub mod ping;
pub mod reports;
