//! Part 3: hard modes. What idleness can give back, state that is one across the
//! cluster, calls to another node, and an observer that opens one connection.

pub mod e10_hibernate;
pub mod e11_remote_call;
pub mod e12_cluster_portal;
pub mod e13_cluster_limit;
pub mod e14_observer;
