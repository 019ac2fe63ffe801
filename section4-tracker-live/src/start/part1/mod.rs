//! Part 1: presence. Track who is in a room, on every node.

pub mod presence_room;

pub mod diff_log;
pub mod presence_channel;

pub mod gate;
pub mod merge;
