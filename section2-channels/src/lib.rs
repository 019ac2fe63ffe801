//! Section 2: Phoenix-compatible channels over WebSocket.
//!
//! - [`activity`]: the activity feed's store on a real database (SQLite or Postgres), the
//!   source of truth the channels read from and write through.
//! - [`token`]: signed, expiring tokens (Phoenix.Token-like) that authenticate a socket.

pub mod activity;
pub mod token;
