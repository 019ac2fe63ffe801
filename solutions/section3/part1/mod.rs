//! Part 1: telemetry. Measurements to StatsD, the channels framework instrumented,
//! pipeline delivery latency, and what the process costs.

pub mod e01_measurements;
pub mod e02_channel_metrics;
pub mod e03_delivery_latency;
pub mod e04_poller;
pub mod e05_conn_cost;
