//! How the app's pipeline is set up: buffer size, overflow policy, and what drains it.
//!
//! Set on the command line (`serve --buffer 1000 --policy reject --drain pool:10`);
//! the defaults are here, in one place.

use std::fmt;
use std::str::FromStr;

use crate::producer::{Demand, OverflowPolicy};

/// What takes events out of the producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drain {
    /// N consumers, each processing one event at a time (exercise s1.e6).
    Consumers(usize),
    /// One dispatcher and a pool of at most N tasks in flight (exercise s1.e7).
    Pool(usize),
}

impl Drain {
    /// The most events processed at once.
    pub fn concurrency(self) -> usize {
        match self {
            Drain::Consumers(n) | Drain::Pool(n) => n,
        }
    }
}

impl fmt::Display for Drain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drain::Consumers(n) => write!(f, "consumers:{n}"),
            Drain::Pool(n) => write!(f, "pool:{n}"),
        }
    }
}

impl FromStr for Drain {
    type Err = String;
    /// `consumers:3` or `pool:10` (`pool` alone is the default pool size).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, n) = s.split_once(':').unwrap_or((s, ""));
        let n = if n.is_empty() {
            PipelineConfig::DEFAULT_POOL_SIZE
        } else {
            n.parse::<usize>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| format!("`{n}` is not a worker count between 1 and 10000"))?
        };
        match kind {
            "consumers" => Ok(Drain::Consumers(n)),
            "pool" => Ok(Drain::Pool(n)),
            other => Err(format!(
                "unknown drain `{other}`: use consumers:N or pool:N"
            )),
        }
    }
}

/// The pipeline behind `/part2/pipeline`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PipelineConfig {
    /// The producer's buffer bound.
    pub capacity: usize,
    /// What a push does when the buffer is full.
    pub policy: OverflowPolicy,
    /// What drains the buffer, and how many at once.
    pub drain: Drain,
    /// How many events each consumer asks for.
    pub demand: Demand,
}

impl PipelineConfig {
    /// The worker pool's concurrency unless configured otherwise.
    pub const DEFAULT_POOL_SIZE: usize = 10;
    /// The buffer bound unless configured otherwise.
    pub const DEFAULT_CAPACITY: usize = 1000;
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            capacity: Self::DEFAULT_CAPACITY,
            policy: OverflowPolicy::Reject,
            drain: Drain::Pool(Self::DEFAULT_POOL_SIZE),
            demand: Demand::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drains_parse() {
        assert_eq!("consumers:3".parse(), Ok(Drain::Consumers(3)));
        assert_eq!("pool".parse(), Ok(Drain::Pool(10)));
        assert_eq!("pool:25".parse(), Ok(Drain::Pool(25)));
        assert!("pool:0".parse::<Drain>().is_err());
        assert!("threads:2".parse::<Drain>().is_err());
    }
}
