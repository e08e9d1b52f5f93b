//! Call rate limits: `rate_limits.per_session` for every call of a session
//! and `rate_limits.tools.<tool>` for one tool, checked by the pipeline
//! before a call does any work (argument parsing, policy, gate, engine).
//!
//! Each window a limit sets (`per_second`, `per_minute`, `per_hour`) is a
//! token bucket: it holds up to N tokens, refills continuously at N per
//! window, and a call takes one token from every bucket that applies to it
//! (the session's and its tool's). So N calls may come at once, and over
//! time no more than N per window get through.
//!
//! Refused calls: a refused call takes no token from the buckets that had
//! room (so hammering one tool never eats into the session's limit or other
//! tools'), but it does cost the bucket that refused it one token, down to
//! at most one window of debt (-N). That is the choice between two bad
//! extremes. If refusals were free, an agent retrying in a tight loop would
//! get every call through the moment a token appears and spam the audit log
//! at no cost; if every refusal counted without bound, an agent that
//! hammered for a while could lock itself out for hours. With bounded debt,
//! an agent that keeps calling while refused stays refused, and one that
//! stops, or waits as long as the hint says, is served again: at worst one
//! window plus one token's time after its last refused call. The retry time
//! in the hint is exact for a caller that waits it out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::{RateLimit, RateLimits};
use crate::error::{ErrorCode, ToolError};

/// The rate limits of one session, with their buckets.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Buckets of the session-wide limit.
    session: Mutex<Vec<Bucket>>,
    /// Buckets of each limited tool.
    tools: HashMap<String, Mutex<Vec<Bucket>>>,
}

/// One window of one limit.
#[derive(Debug, Clone)]
struct Bucket {
    /// Calls per window.
    calls: u64,
    /// The window's length.
    window: Duration,
    /// `second`, `minute` or `hour`, for messages.
    unit: &'static str,
    /// Tokens left; negative after refused calls (debt).
    tokens: f64,
    /// Clock reading when `tokens` was last brought up to date.
    updated: Duration,
}

/// Which limit refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Session,
    Tool,
}

impl Bucket {
    fn new(calls: u64, window: Duration, unit: &'static str) -> Self {
        Self {
            calls,
            window,
            unit,
            tokens: calls as f64,
            updated: Duration::ZERO,
        }
    }

    /// Seconds it takes to earn one token.
    fn seconds_per_token(&self) -> f64 {
        self.window.as_secs_f64() / self.calls as f64
    }

    /// Add the tokens earned since the last update, up to a full bucket.
    fn refill(&mut self, now: Duration) {
        let elapsed = now.saturating_sub(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed / self.seconds_per_token()).min(self.calls as f64);
        self.updated = now;
    }

    fn has_room(&self) -> bool {
        self.tokens >= 1.0
    }

    /// Charge a refused call: one token of debt, at most one window's worth.
    fn charge_refusal(&mut self) {
        self.tokens = (self.tokens - 1.0).max(-(self.calls as f64));
    }

    /// Time until one token is available.
    fn retry_after(&self) -> Duration {
        let missing = (1.0 - self.tokens).max(0.0);
        Duration::from_secs_f64(missing * self.seconds_per_token())
    }
}

fn buckets(limit: &RateLimit) -> Vec<Bucket> {
    [
        (limit.per_second, 1, "second"),
        (limit.per_minute, 60, "minute"),
        (limit.per_hour, 3600, "hour"),
    ]
    .into_iter()
    .filter_map(|(calls, secs, unit)| {
        calls
            .filter(|&c| c > 0)
            .map(|c| Bucket::new(c, Duration::from_secs(secs), unit))
    })
    .collect()
}

impl RateLimiter {
    /// The limiter for `limits` (every bucket full).
    pub(crate) fn new(limits: &RateLimits) -> Self {
        Self {
            session: Mutex::new(limits.per_session.as_ref().map(buckets).unwrap_or_default()),
            tools: limits
                .tools
                .iter()
                .map(|(tool, limit)| (tool.clone(), Mutex::new(buckets(limit))))
                .collect(),
        }
    }

    /// Admit one call of `tool` at clock reading `now`, or refuse it with
    /// `RATE_LIMIT_EXCEEDED` and the time to wait.
    pub(crate) fn admit(&self, tool: &str, now: Duration) -> Result<(), ToolError> {
        // Lock order is always session, then tool, so concurrent calls
        // cannot deadlock; holding both makes check-and-take atomic.
        let mut session = self
            .session
            .lock()
            .map_err(|_| ToolError::internal("rate limiter lock poisoned"))?;
        let mut tool_buckets = match self.tools.get(tool) {
            Some(b) => Some(
                b.lock()
                    .map_err(|_| ToolError::internal("rate limiter lock poisoned"))?,
            ),
            None => None,
        };
        let mut all: Vec<(Scope, &mut Bucket)> = session
            .iter_mut()
            .map(|b| (Scope::Session, b))
            .chain(
                tool_buckets
                    .iter_mut()
                    .flat_map(|b| b.iter_mut())
                    .map(|b| (Scope::Tool, b)),
            )
            .collect();
        for (_, bucket) in all.iter_mut() {
            bucket.refill(now);
        }
        if all.iter().all(|(_, b)| b.has_room()) {
            for (_, bucket) in all.iter_mut() {
                bucket.tokens -= 1.0;
            }
            return Ok(());
        }
        let mut worst: Option<(Scope, Bucket)> = None;
        for (scope, bucket) in all.iter_mut() {
            if !bucket.has_room() {
                bucket.charge_refusal();
                if worst
                    .as_ref()
                    .is_none_or(|(_, w)| bucket.retry_after() > w.retry_after())
                {
                    worst = Some((*scope, bucket.clone()));
                }
            }
        }
        let Some((scope, bucket)) = worst else {
            return Err(ToolError::internal(
                "rate limiter refused with no full bucket",
            ));
        };
        Err(refusal(tool, scope, &bucket))
    }
}

fn refusal(tool: &str, scope: Scope, bucket: &Bucket) -> ToolError {
    // Whole seconds, rounded up, and never 0: "retry in 0 seconds" would
    // invite exactly the tight loop the limit is there to stop.
    let wait = bucket.retry_after().as_secs_f64().ceil().max(1.0) as u64;
    let (message, hint) = match scope {
        Scope::Session => (
            format!(
                "This session may make at most {} tool call(s) per {} (`rate_limits.per_session` in `policy.yaml`), and that limit is reached",
                bucket.calls, bucket.unit
            ),
            format!(
                "Retry in {wait} second(s). Calls made while refused count against the limit, so calling sooner only pushes the retry time further out"
            ),
        ),
        Scope::Tool => (
            format!(
                "`{tool}` may be called at most {} time(s) per {} (`rate_limits.tools.{tool}` in `policy.yaml`), and that limit is reached",
                bucket.calls, bucket.unit
            ),
            format!(
                "Retry `{tool}` in {wait} second(s); other tools are not affected. Calls made while refused count against the limit, so calling sooner only pushes the retry time further out"
            ),
        ),
    };
    ToolError::new(ErrorCode::RateLimitExceeded, message, hint)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn limiter(yaml: &str) -> RateLimiter {
        RateLimiter::new(&serde_saphyr::from_str::<RateLimits>(yaml).unwrap())
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// How many of `n` calls at `now` are admitted.
    fn admitted(l: &RateLimiter, tool: &str, n: usize, now: Duration) -> usize {
        (0..n).filter(|_| l.admit(tool, now).is_ok()).count()
    }

    #[test]
    fn no_limits_admit_everything() {
        let l = limiter("{}");
        assert_eq!(admitted(&l, "run_select_sql", 10_000, secs(0.0)), 10_000);
    }

    #[test]
    fn a_burst_of_n_passes_then_calls_are_refused_with_a_retry_time() {
        let l = limiter("tools: {run_select_sql: {per_minute: 3}}");
        assert_eq!(admitted(&l, "run_select_sql", 3, secs(0.0)), 3);
        let e = l.admit("run_select_sql", secs(0.0)).unwrap_err();
        assert_eq!(e.code, ErrorCode::RateLimitExceeded);
        assert!(
            e.message.contains("at most 3 time(s) per minute"),
            "{}",
            e.message
        );
        // One token of debt after the refusal: two tokens to earn, 20 s each.
        assert!(
            e.hint.contains("Retry `run_select_sql` in 40 second(s)"),
            "{}",
            e.hint
        );
        // Another tool is not limited.
        assert!(l.admit("list_sources", secs(0.0)).is_ok());
    }

    #[test]
    fn a_caller_that_waits_as_told_is_served() {
        let l = limiter("tools: {run_select_sql: {per_second: 2}}");
        assert_eq!(admitted(&l, "run_select_sql", 2, secs(0.0)), 2);
        let e = l.admit("run_select_sql", secs(0.0)).unwrap_err();
        assert!(e.hint.contains("in 1 second(s)"), "{}", e.hint);
        // Told 1 s; at 0.74 s the bucket has earned back too little.
        assert!(l.admit("run_select_sql", secs(0.74)).is_err());
        assert!(l.admit("run_select_sql", secs(0.74 + 1.0)).is_ok());
    }

    #[test]
    fn hammering_stays_refused_but_never_locks_out_for_more_than_a_window() {
        let l = limiter("tools: {run_select_sql: {per_minute: 10}}");
        assert_eq!(admitted(&l, "run_select_sql", 10, secs(0.0)), 10);
        // A tight loop for a minute gets nothing through, not even when
        // tokens trickle in: each refusal spends the token just earned.
        let mut through = 0;
        for i in 0..6000 {
            if l.admit("run_select_sql", secs(f64::from(i) * 0.01)).is_ok() {
                through += 1;
            }
        }
        assert_eq!(through, 0);
        // The debt is capped at one window: one window and one token's time
        // after the last refusal, calls pass again.
        assert!(l.admit("run_select_sql", secs(60.0 + 65.9)).is_err());
        assert!(l.admit("run_select_sql", secs(60.0 + 65.9 + 67.0)).is_ok());
    }

    #[test]
    fn the_session_limit_covers_every_tool_and_tool_refusals_do_not_spend_it() {
        let l = limiter("per_session: {per_minute: 5}\ntools: {run_select_sql: {per_minute: 2}}");
        assert_eq!(admitted(&l, "run_select_sql", 50, secs(0.0)), 2);
        // 48 refusals of run_select_sql cost the session nothing.
        assert_eq!(admitted(&l, "list_sources", 3, secs(0.0)), 3);
        let e = l.admit("describe_table", secs(0.0)).unwrap_err();
        assert!(
            e.message.contains("This session may make at most 5"),
            "{}",
            e.message
        );
        assert!(e.hint.starts_with("Retry in "), "{}", e.hint);
        // A call refused by the session limit takes no token of its tool.
        let l = limiter("per_session: {per_second: 1}\ntools: {preview_table: {per_minute: 2}}");
        assert!(l.admit("preview_table", secs(0.0)).is_ok());
        assert!(l.admit("preview_table", secs(0.0)).is_err());
        assert!(l.admit("preview_table", secs(3.0)).is_ok());
    }

    #[test]
    fn every_window_holds_on_its_own() {
        let l = limiter("tools: {query_table: {per_second: 5, per_minute: 7}}");
        assert_eq!(admitted(&l, "query_table", 5, secs(0.0)), 5);
        assert!(l
            .admit("query_table", secs(0.0))
            .unwrap_err()
            .message
            .contains("per second"));
        assert_eq!(admitted(&l, "query_table", 10, secs(2.0)), 2);
        let e = l.admit("query_table", secs(3.0)).unwrap_err();
        assert!(e.message.contains("per minute"), "{}", e.message);
    }
}
