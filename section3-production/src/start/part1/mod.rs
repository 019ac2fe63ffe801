//! Part 1: telemetry. Measurements to StatsD, and what the process costs.

pub mod conn_cost;
pub mod measurements;
pub mod poller;
