//! Part 1: presence. Track who is in a room, on every node.

pub mod e01_presence_room;

pub mod e02_handle_diff;
pub mod e03_presence_channel;

pub mod e04_gated_pipeline;
pub mod e05_merge;
