//! Three small steps for exercise s1.e5, instrumented so tests can see *when* each
//! one runs, not only what comes out.
//!
//! An order's quantity becomes a price, gets shipping added, and ends as a receipt
//! line. The arithmetic is trivial on purpose: the exercise is about how composing
//! the same three functions changes the order of the calls and how many run at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Cents per unit ordered.
pub const UNIT_PRICE_CENTS: u32 = 250;
/// Flat shipping, in cents.
pub const SHIPPING_CENTS: u32 = 499;
/// How long each async step takes (a call to a pricing service, say).
pub const STEP_TIME: Duration = Duration::from_millis(100);

/// One call of one step, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// `"price"`, `"ship"` or `"receipt"`.
    pub step: &'static str,
    /// The step's input.
    pub input: u32,
}

/// The three steps as plain functions, recording every call.
#[derive(Clone, Debug, Default)]
pub struct Steps {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Steps {
    /// Fresh steps with an empty call log.
    pub fn new() -> Self {
        Steps::default()
    }

    /// Quantity to price, in cents.
    pub fn price(&self, quantity: u32) -> u32 {
        self.log("price", quantity);
        quantity * UNIT_PRICE_CENTS
    }

    /// Adds shipping to a price.
    pub fn ship(&self, cents: u32) -> u32 {
        self.log("ship", cents);
        cents + SHIPPING_CENTS
    }

    /// The receipt line for a total.
    pub fn receipt(&self, cents: u32) -> String {
        self.log("receipt", cents);
        format!("total: {}.{:02} EUR", cents / 100, cents % 100)
    }

    /// Every call so far, in the order they happened.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Just the step names, in call order.
    pub fn call_names(&self) -> Vec<&'static str> {
        self.calls().iter().map(|c| c.step).collect()
    }

    fn log(&self, step: &'static str, input: u32) {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Call { step, input });
    }
}

/// The same steps as async calls that each take [`STEP_TIME`], counting how many
/// orders are being worked on at once.
#[derive(Clone, Debug, Default)]
pub struct AsyncSteps {
    steps: Steps,
    in_progress: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl AsyncSteps {
    /// Fresh steps, nothing in progress.
    pub fn new() -> Self {
        AsyncSteps::default()
    }

    /// Quantity to price, after a pricing-service round trip.
    pub async fn price(&self, quantity: u32) -> u32 {
        let _busy = self.enter();
        tokio::time::sleep(STEP_TIME).await;
        self.steps.price(quantity)
    }

    /// Adds shipping, after a shipping-service round trip.
    pub async fn ship(&self, cents: u32) -> u32 {
        let _busy = self.enter();
        tokio::time::sleep(STEP_TIME).await;
        self.steps.ship(cents)
    }

    /// The receipt line, after a receipt-service round trip.
    pub async fn receipt(&self, cents: u32) -> String {
        let _busy = self.enter();
        tokio::time::sleep(STEP_TIME).await;
        self.steps.receipt(cents)
    }

    /// The most step calls that were running at the same time.
    pub fn peak_concurrency(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// The underlying call log.
    pub fn steps(&self) -> &Steps {
        &self.steps
    }

    fn enter(&self) -> Busy<'_> {
        let now = self.in_progress.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        Busy {
            in_progress: &self.in_progress,
        }
    }
}

struct Busy<'a> {
    in_progress: &'a AtomicUsize,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.in_progress.fetch_sub(1, Ordering::Relaxed);
    }
}
