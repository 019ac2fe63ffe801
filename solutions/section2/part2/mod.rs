//! Part 2: per-connection state, timers, and authentication.

pub mod auth_socket;
pub mod rate_limit;
pub mod recurring;
pub mod user_channel;
pub mod user_rate_limit;
