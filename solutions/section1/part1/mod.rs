//! Part 1: the same slow resource, used serially and fire-and-forget.

pub mod e01_welcome;
pub mod e02_serial;
pub mod e03_fire_and_forget;
pub mod e04_load_shedding;
