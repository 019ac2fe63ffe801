//! When each request is sent: closed loop (as fast as answers come back) or open
//! loop (at fixed intended times, whatever the server does).
//!
//! The difference matters when the server stalls. A closed-loop client stops
//! sending while it waits, so the requests a real user would have sent during
//! the stall are never made and never measured ("coordinated omission"). An
//! open-loop client keeps its timetable: each request has an intended send time,
//! and its latency is counted from that time, so a stall shows up in every
//! request that should have been sent during it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// The plan every connection of a run follows.
#[derive(Debug)]
pub struct Schedule {
    start: Instant,
    /// Tickets handed out so far; ticket `i` is the run's `i`-th request.
    next: AtomicU64,
    /// No ticket at or past this count is handed out.
    limit: u64,
    /// No request is started at or after this time.
    deadline: Option<Instant>,
    /// Open loop: the gap between two intended send times.
    interval: Option<Duration>,
}

/// One request a connection may send now (closed loop) or at `intended` (open loop).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ticket {
    /// The request's number in the run.
    pub index: u64,
    /// Open loop: when the request should be sent.
    pub intended: Option<Instant>,
}

impl Schedule {
    /// A closed-loop schedule: at most `limit` requests, none started after `duration`.
    pub fn closed(start: Instant, limit: u64, duration: Option<Duration>) -> Self {
        Schedule {
            start,
            next: AtomicU64::new(0),
            limit,
            deadline: duration.map(|d| start + d),
            interval: None,
        }
    }

    /// An open-loop schedule of `rate` requests per second from `start`.
    pub fn open(start: Instant, rate: f64, limit: u64, duration: Option<Duration>) -> Self {
        assert!(rate > 0.0 && rate.is_finite(), "the rate must be positive");
        Schedule {
            start,
            next: AtomicU64::new(0),
            limit,
            deadline: duration.map(|d| start + d),
            interval: Some(Duration::from_secs_f64(1.0 / rate)),
        }
    }

    /// When the run started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Whether latencies are measured from intended send times.
    pub fn is_open_loop(&self) -> bool {
        self.interval.is_some()
    }

    /// The intended send time of request `index` (open loop only).
    ///
    /// Computed from the start, not by adding the interval to the previous time, so
    /// rounding never accumulates over a long run.
    pub fn intended(&self, index: u64) -> Option<Instant> {
        self.interval
            .map(|gap| self.start + gap.mul_f64(index as f64))
    }

    /// The next request to send, or `None` when the run is over.
    ///
    /// Connections call this whenever they are free; in open loop a free
    /// connection takes the earliest unsent request, even one whose time has
    /// passed while every connection was busy (its latency then includes the wait).
    pub fn next(&self) -> Option<Ticket> {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        if index >= self.limit {
            return None;
        }
        let intended = self.intended(index);
        let starts_at = intended.unwrap_or_else(Instant::now);
        if self.deadline.is_some_and(|deadline| starts_at >= deadline) {
            return None;
        }
        Some(Ticket { index, intended })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn open_loop_times_are_evenly_spaced_from_the_start() {
        let start = Instant::now();
        let schedule = Schedule::open(start, 1000.0, 10_000, None);
        let tickets: Vec<_> = std::iter::from_fn(|| schedule.next()).take(5).collect();
        for (i, ticket) in tickets.iter().enumerate() {
            assert_eq!(ticket.index, i as u64);
            assert_eq!(
                ticket.intended,
                Some(start + Duration::from_millis(i as u64))
            );
        }
        // No drift after many intervals: request 3000 is due exactly 3 s in.
        assert_eq!(
            schedule.intended(3000),
            Some(start + Duration::from_secs(3))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn open_loop_stops_at_the_duration() {
        let start = Instant::now();
        let schedule = Schedule::open(start, 100.0, u64::MAX, Some(Duration::from_secs(1)));
        let count = std::iter::from_fn(|| schedule.next()).count();
        assert_eq!(count, 100, "requests due at 0, 10, ..., 990 ms");
    }

    #[tokio::test(start_paused = true)]
    async fn closed_loop_hands_out_exactly_the_limit() {
        let schedule = Schedule::closed(Instant::now(), 50, None);
        let tickets: Vec<_> = std::iter::from_fn(|| schedule.next()).collect();
        assert_eq!(tickets.len(), 50);
        assert!(tickets.iter().all(|t| t.intended.is_none()));
        assert_eq!(schedule.next(), None, "stays over once over");
    }

    #[tokio::test(start_paused = true)]
    async fn closed_loop_stops_at_the_deadline() {
        let schedule = Schedule::closed(Instant::now(), u64::MAX, Some(Duration::from_millis(10)));
        assert!(schedule.next().is_some());
        tokio::time::advance(Duration::from_millis(10)).await;
        assert_eq!(schedule.next(), None);
    }
}
