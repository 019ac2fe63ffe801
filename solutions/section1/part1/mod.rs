//! Part 1: the same slow resource, used serially and fire-and-forget.

pub mod fire_and_forget;
pub mod load_shedding;
pub mod serial;
pub mod welcome;
