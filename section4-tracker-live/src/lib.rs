//! Section 4: presence tracking and live views.
//!
//! What exists so far is the presence [`tracker`]: a replicated set of "who is here" per
//! topic that every node answers locally and that converges without a coordinator. The
//! exercises, the Presence wire format over channels and the live view come next.

pub mod tracker;
