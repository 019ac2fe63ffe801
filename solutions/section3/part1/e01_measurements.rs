//! s3.e1: the three kinds of measurement, on a shop's checkout.
//!
//! Each function is called by the shop's code when something happens; it only
//! *records*. Where the numbers go (StatsD, a test's listener, nowhere) is decided
//! once by whoever installed the recorder.

use metrics::{counter, gauge};

// ANCHOR: counter
/// An order was placed: count it. StatsD adds up the `1`s it receives in each flush
/// interval, so a dashboard shows orders per interval.
pub fn order_placed() {
    counter!("shop.orders.placed").increment(1);
}
// ANCHOR_END: counter

// ANCHOR: gauge
/// How many carts are open right now: a gauge, a value at a point in time. StatsD
/// keeps the last value it received; setting it again replaces it.
pub fn open_carts(carts: u64) {
    gauge!("shop.carts.open").set(carts as f64);
}
// ANCHOR_END: gauge

// ANCHOR: tagged
/// Revenue, summed, tagged by how the customer paid. A counter incremented by the
/// amount is a sum: StatsD adds the amounts per interval. The label becomes a tag
/// (`#payment:card`), so one metric answers "revenue" and "revenue by card".
///
/// Labels must come from a small, fixed set (payment methods, not order ids): every
/// distinct value is a separate time series in the backend.
pub fn revenue(cents: u64, payment: &'static str) {
    counter!("shop.revenue_cents", "payment" => payment).increment(cents);
}
// ANCHOR_END: tagged
