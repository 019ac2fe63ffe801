//! Part 2: per-connection state, timers, and authentication.

pub mod e06_rate_limit;
pub mod e07_user_rate_limit;
pub mod e08_auth_socket;
pub mod e09_user_channel;
pub mod e10_recurring;
