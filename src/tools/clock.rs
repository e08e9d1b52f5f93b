//! The monotonic clock that rate limits and the result cache read.
//!
//! Both only ever compare two readings of the same clock, so a reading is
//! the time since an arbitrary start. It is a trait so tests can move time
//! forward by hand instead of sleeping through a window or a TTL.

use std::time::{Duration, Instant};

/// A monotonic clock.
pub trait Clock: Send + Sync {
    /// Time since this clock's start; never goes backwards.
    fn now(&self) -> Duration;
}

/// The process's monotonic clock ([`Instant`]).
#[derive(Debug)]
pub(crate) struct SystemClock {
    start: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }
}
