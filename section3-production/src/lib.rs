//! # Section 3: production
//!
//! Measure a running system, see what it costs, and run it on several nodes:
//!
//! - **part 1, telemetry**: `tracing` logs with `RUST_LOG` filters (JSON on request),
//!   `metrics` exported to StatsD over UDP, section 2's framework measured through
//!   its telemetry events, an orders pipeline whose delivery latency is measured
//!   ([`delivery`]), what the process costs, and what one idle connection costs;
//! - **part 2, cluster**: section 2's channels on several nodes, their broadcasts
//!   carried by Redis; a live view of a node in the terminal ([`top`], reading the
//!   snapshot each node serves at `GET /observe`).
//! - **part 3, hard modes** (extras): idle connections that give memory back
//!   ([`hibernate_cost`] measures them, [`allocator`] says why the allocator
//!   matters), a call to a member on another node and one cache owner per id
//!   across the cluster ([`remote_lab`] measures both), a cluster-wide rate limit
//!   ([`cluster_limit`]), and `top`'s view of single connections and channels.
//!
//! Your exercises build on provided crates beside this one, each with a README
//! listing its files in reading order:
//!
//! - `observability` (`section3-production/observability`): tracing and StatsD
//!   setup, a dev StatsD sink, process samples, the `/observe` snapshot;
//! - `cluster` (`section3-production/cluster`): the Redis link, the broadcast
//!   envelope, membership and questions to every node.
//!
//! The exercises live in [`start`] (yours) and [`solution`] (the reference, compiled
//! in `section3-reference`); [`node`], [`delivery`] and [`top`] run one or the other,
//! and [`conn_cost`] measures s3.e5's settings, [`hibernate_cost`] s3.e10's hook.
//! Section 2's channels run from its reference (`section2-reference`), so this
//! section works even if you skipped it.
//!
//! Run it: `cargo run -p section3-production -- statsd-sink` in one terminal and
//! `cargo run -p section3-production -- serve` in another; watch the node with
//! `cargo run -p section3-production -- top http://127.0.0.1:4000`.

pub mod allocator;
pub mod cluster_limit;
pub mod conn_cost;
pub mod console;
pub mod delivery;
pub mod hibernate_cost;
pub mod node;
pub mod remote_lab;
pub mod solution;
pub mod start;
pub mod top;

/// Which implementation of the exercises a server runs: the course's one selector.
pub use selector::Implementation;
