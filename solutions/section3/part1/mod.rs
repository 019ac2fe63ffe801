//! Part 1: telemetry. Measurements to StatsD, the channels framework instrumented,
//! pipeline delivery latency, and what the process costs.

pub mod channel_metrics;
pub mod conn_cost;
pub mod delivery_latency;
pub mod measurements;
pub mod poller;
