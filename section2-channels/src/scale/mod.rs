//! The scale lab's scenarios: each starts the server under test as a child process,
//! drives it from this process over loopback, bounded in count and time, and prints a
//! human summary and (with `--json`) one JSON line last.

pub mod broadcast;
pub mod fanout;
pub mod raw_server;
pub mod report;
pub mod server;
pub mod subscribers;
