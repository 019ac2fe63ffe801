//! # Section 2: channels over WebSocket
//!
//! Your exercises, built on two provided crates beside this one:
//!
//! - `channels` (`section2-channels/channels`): a small channels framework that speaks
//!   the Phoenix Channels v2 JSON protocol, so the official `phoenix` JavaScript client
//!   works with it unchanged; its README lists the files in reading order;
//! - `activity` (`section2-channels/activity`): the activity feed's store on a real
//!   database (SQLite or Postgres), the source of truth the channels read from and
//!   write through.
//!
//! The exercises live in [`start`] (yours) and [`solution`] (the reference, compiled
//! in `section2-reference`); [`app`] routes their topics, and
//! `cargo run -p section2-channels -- serve [--solution]` serves them.

pub mod app;
pub mod solution;
pub mod start;
