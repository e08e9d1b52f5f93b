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
mod tests;
