//! Part 1: channels, replies, broadcasts, intercepts, and replying from another task.

pub mod e01_ping;
pub mod e02_feed;
pub mod e03_intercept;
pub mod e04_reports;
pub mod e05_bounded_reports;
