//! # scale-lab: section 2's server, measured at size
//!
//! Measurement tooling, not course code: it runs section 2's reference app (from
//! `section2-reference`, never the learner's code) in a child process and drives it
//! from this one over loopback. It holds the `libc` calls and the `unsafe` the
//! measurements need (open-files limit, source-address binding, a watchdog's kill).
//!
//! Read it in this order:
//!
//! 1. [`lab`]: memory per idle joined connection (`measure-idle`), and the child
//!    server every measurement starts;
//! 2. [`scale`]: the scenarios `cargo xtask bench` runs (`idle`, `broadcast`,
//!    `fanout`, `connect`), each printing one JSON result;
//! 3. [`experiment`]: the figures of section 2's walkthroughs, regenerated, and
//!    [`heap`], the counting allocator behind its heap profile.

pub mod experiment;
pub mod heap;
pub mod lab;
pub mod scale;
