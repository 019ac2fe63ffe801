//! Exercise s3.e1: the three kinds of measurement, on a shop's checkout.
//!
//! - slide: slides/src/section3/part1/e01_measurements.md
//! - tests: `mod e01_measurements` in section3-production/tests/part1.rs,
//!   run by `cargo xtask check s3.e1`
//! - stuck? `cargo xtask hint s3.e1` (each hint gives away a little more)
//!
//! Each function is called by the shop's code when something happens; it only
//! *records*, with the `metrics` macros (`counter!`, `gauge!`, `histogram!`). Where
//! the numbers go (StatsD, a test's listener, nowhere) is decided once by whoever
//! installed the recorder.

use metrics::{counter, gauge};

/// An order was placed: count it as `shop.orders.placed`, by one.
pub fn order_placed() {
    // TODO(s3.e1): slides/src/section3/part1/e01_measurements.md
    todo!("count one order placed")
}

/// How many carts are open right now: the gauge `shop.carts.open`.
pub fn open_carts(carts: u64) {
    // TODO(s3.e1): a gauge is set, not incremented
    todo!("set the open carts gauge")
}

/// Revenue in cents, summed as the counter `shop.revenue_cents`, with the label
/// `payment` (`"card"`, `"invoice"`, ...).
pub fn revenue(cents: u64, payment: &'static str) {
    // TODO(s3.e1): a counter incremented by the amount, with a label
    todo!("sum the revenue, tagged by payment method")
}
