//! Progress of a PostgreSQL query that runs longer than a second: every
//! second, the time it has run and the rows fetched so far, to the
//! caller's [`ProgressSink`] (MCP `notifications/progress` when the client
//! sent a `progressToken`). MaxCompute reports its job stages instead.
//!
//! The count is the only thing reported about the rows: never their
//! contents.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::engine::{Progress, ProgressSink};

/// How long a query runs before the first report, and the time between
/// reports.
pub(crate) const EVERY: Duration = Duration::from_secs(1);

/// Drive `work` to its end, reporting to `sink` (when there is one) every
/// [`EVERY`] while it runs, with the rows `rows` has counted so far.
pub(crate) async fn report<T>(
    work: impl Future<Output = T>,
    sink: Option<&ProgressSink>,
    rows: &AtomicU64,
) -> T {
    let Some(sink) = sink else {
        return work.await;
    };
    let started = Instant::now();
    let mut ticks = tokio::time::interval_at(started + EVERY, EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = ticks.tick() => sink(progress(started.elapsed(), rows.load(Ordering::Relaxed))),
        }
    }
}

/// One report: the elapsed seconds are the progress value (it must grow
/// with every report; the row count may stand still while the server
/// works).
fn progress(elapsed: Duration, rows: u64) -> Progress {
    let seconds = elapsed.as_secs_f64().floor();
    Progress {
        done: seconds,
        total: None,
        message: format!("running for {seconds:.0} s, {rows} row(s) fetched so far"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
