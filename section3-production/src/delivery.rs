//! The orders pipeline of s3.e3: orders are stamped as they enter a bounded queue, a
//! worker broadcasts each one to its store's topic, and the channel serving
//! `orders:<store>` records the delivery latency as it pushes the order to its
//! client.
//!
//! The broadcast goes through the node's pubsub, so on a cluster the order may be
//! enqueued on one node and pushed on another: the stamp travels in the payload
//! (`enqueued_at_us`), as wall-clock microseconds, because that is the only clock
//! both nodes can read.

use std::sync::Arc;
use std::time::SystemTime;

use channels::{
    Broadcast, Channel, ChannelContext, ChannelRouter, HandleIn, Handled, Join, Payload, PubSub,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::Implementation;

/// The route serving every store's orders (`orders:berlin`, ...).
pub const ORDERS_ROUTE: &str = "orders:*";
/// The event an order is pushed with once it has gone through the pipeline.
pub const ORDER_READY: &str = "order.ready";
/// The payload field carrying the enqueue stamp (microseconds since the Unix epoch).
pub const ENQUEUED_AT: &str = "enqueued_at_us";

/// The two functions of s3.e3, from your code or the reference.
#[derive(Debug, Clone, Copy)]
pub struct LatencyFns {
    /// Turns the time of enqueue into the stamp an order carries.
    pub stamp: fn(SystemTime) -> u64,
    /// Records the latency of an order stamped at the first argument, delivered now.
    pub record: fn(u64, SystemTime),
}

impl LatencyFns {
    /// `implementation`'s `stamp` and `record_delivery`.
    pub fn of(implementation: Implementation) -> Self {
        use crate::{solution, start};
        match implementation {
            Implementation::Start => LatencyFns {
                stamp: start::part1::e03_delivery_latency::stamp,
                record: start::part1::e03_delivery_latency::record_delivery,
            },
            Implementation::Solution => LatencyFns {
                stamp: solution::part1::e03_delivery_latency::stamp,
                record: solution::part1::e03_delivery_latency::record_delivery,
            },
        }
    }
}

/// The pipeline's queue is full: the order was not taken (the caller decides whether
/// to retry, shed or tell the customer). The queue never grows past its capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineFull;

impl std::fmt::Display for PipelineFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the orders pipeline is full")
    }
}

impl std::error::Error for PipelineFull {}

/// An order on its way: its store's topic and its payload, stamp included.
struct Stamped {
    topic: String,
    payload: Payload,
}

/// A bounded queue of orders and the worker that delivers them to their topic.
/// Dropping it stops the worker.
pub struct OrderPipeline {
    queue: mpsc::Sender<Stamped>,
    stamp: fn(SystemTime) -> u64,
    worker: JoinHandle<()>,
}

impl OrderPipeline {
    /// A pipeline holding at most `capacity` orders, broadcasting on `pubsub`.
    pub fn spawn(pubsub: Arc<dyn PubSub>, capacity: usize, fns: LatencyFns) -> Self {
        let (queue, mut orders) = mpsc::channel::<Stamped>(capacity.max(1));
        let worker = tokio::spawn(async move {
            while let Some(order) = orders.recv().await {
                // Processing would happen here (pricing, fraud checks): every
                // millisecond spent in the queue or here is in the measured latency.
                pubsub.broadcast(Broadcast::new(order.topic, ORDER_READY, order.payload));
            }
        });
        OrderPipeline {
            queue,
            stamp: fns.stamp,
            worker,
        }
    }

    /// Stamps the order with the wall clock and queues it for `orders:<store>`.
    pub fn enqueue(&self, store: &str, mut payload: Payload) -> Result<(), PipelineFull> {
        payload.insert(ENQUEUED_AT.into(), json!((self.stamp)(SystemTime::now())));
        self.queue
            .try_send(Stamped {
                topic: format!("orders:{store}"),
                payload,
            })
            .map_err(|_| PipelineFull)
    }
}

impl Drop for OrderPipeline {
    fn drop(&mut self) {
        self.worker.abort();
    }
}

/// A store's orders: each ready order is pushed to the client, and its delivery
/// latency recorded at that moment.
pub struct OrdersChannel;

impl Channel for OrdersChannel {
    type Info = ();
    // Intercepted, so the order passes through this channel (and its clock) on its
    // way to the client, instead of going straight to the socket.
    const INTERCEPTS: &'static [&'static str] = &[ORDER_READY];

    async fn join(_topic: &str, _payload: Payload, _ctx: &mut ChannelContext<Self>) -> Join<Self> {
        Join::ok(OrdersChannel)
    }

    async fn handle_in(
        &mut self,
        event: &str,
        _payload: Payload,
        _ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        HandleIn::error(json!({ "reason": format!("orders are read-only, got {event}") }))
    }

    // ANCHOR: handle_out
    async fn handle_out(
        &mut self,
        event: &str,
        payload: &Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> Handled {
        if let (Some(stamp), Some(fns)) = (
            payload.get(ENQUEUED_AT).and_then(Value::as_u64),
            ctx.state::<LatencyFns>(),
        ) {
            (fns.record)(stamp, SystemTime::now());
        }
        ctx.push(event, Value::Object(payload.clone()));
        Handled::Continue
    }
    // ANCHOR_END: handle_out
}

/// Adds the orders route to `router`, recording latency with `fns`.
pub fn route(router: ChannelRouter, fns: LatencyFns) -> ChannelRouter {
    router.state(fns).channel::<OrdersChannel>(ORDERS_ROUTE)
}
