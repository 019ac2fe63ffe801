//! Exercise s1.e5: composition. Slide: slides/src/section1/part2/e05_composition.md
//!
//! The same three steps (price, ship, receipt) composed three ways. The results are
//! identical; the order of the calls and how many run at once are not.

use futures::StreamExt;

use pipeline::composition::{AsyncSteps, Steps};

/// Eager: each stage runs over *every* order before the next stage starts
/// (a `Vec` collected per stage). All prices, then all shipping, then all receipts.
// ANCHOR: eager
pub fn eager(steps: &Steps, quantities: &[u32]) -> Vec<String> {
    // Each `collect` is a full intermediate Vec: memory grows with the input, and
    // the first receipt exists only once the last price is known.
    let prices: Vec<u32> = quantities.iter().map(|&q| steps.price(q)).collect();
    let totals: Vec<u32> = prices.iter().map(|&c| steps.ship(c)).collect();
    totals.iter().map(|&c| steps.receipt(c)).collect()
}
// ANCHOR_END: eager

/// Lazy: an iterator chain. Nothing runs until someone pulls, and each order goes
/// through all three steps before the next order starts.
// ANCHOR: lazy
pub fn lazy<'a>(steps: &'a Steps, quantities: &'a [u32]) -> impl Iterator<Item = String> + 'a {
    // No work here: `map` only describes it. The caller's `next()` pulls one order
    // through the whole chain, so taking two receipts costs exactly six calls.
    quantities
        .iter()
        .map(|&q| steps.price(q))
        .map(|c| steps.ship(c))
        .map(|c| steps.receipt(c))
}
// ANCHOR_END: lazy

/// Concurrent: a stream where up to `limit` orders are in progress at once, each
/// going through its three async steps; receipts come out in input order.
// ANCHOR: concurrent
pub async fn concurrent(steps: &AsyncSteps, quantities: Vec<u32>, limit: usize) -> Vec<String> {
    futures::stream::iter(quantities)
        // One future per order, composing its three steps in sequence...
        .map(|q| async move {
            let cents = steps.price(q).await;
            let cents = steps.ship(cents).await;
            steps.receipt(cents).await
        })
        // ...and at most `limit` of them polled at once. `buffered` keeps input
        // order; `buffer_unordered` would yield each receipt as soon as it is ready.
        .buffered(limit.max(1))
        .collect()
        .await
}
// ANCHOR_END: concurrent
