//! Part 2: live views. Server-rendered pages that stay connected.

pub mod feed_live;

pub mod async_feed;

pub mod presence_live;
