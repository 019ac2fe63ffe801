//! Part 2: live views. Server-rendered pages that stay connected.

pub mod e06_feed_live;

pub mod e07_async_load;

pub mod e08_presence_live;
