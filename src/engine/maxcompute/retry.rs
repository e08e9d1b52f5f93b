//! When to retry a MaxCompute request, and how long to wait first.
//!
//! A pure decision over what happened (status, ODPS code, `Retry-After`,
//! whether the request was even sent) and the attempt number; the client
//! does the sleeping. What is retried: 5xx answers for idempotent methods,
//! throttling codes (`QPSExceeded` and friends) and 409 with `Retry-After`
//! for every method (the server refused before doing anything), and
//! connection failures before the request left (nothing was sent). A `POST`
//! that got a 5xx is *not* retried: the instance it created may exist, and a
//! second one would be billed again.

use std::time::Duration;

use super::error::THROTTLE_CODES;

/// Most attempts of one request, the first included.
const MAX_ATTEMPTS: u32 = 4;
/// First backoff; doubled each attempt.
const BASE_DELAY: Duration = Duration::from_millis(200);
/// Longest backoff between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(5);
/// Longest `Retry-After` honoured; a server asking for longer is treated as
/// down, because a tool call should not hang for minutes.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// What one attempt ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome<'a> {
    /// The server answered with an error.
    Answered {
        /// HTTP status.
        status: u16,
        /// ODPS `Code`, if the body had one.
        code: &'a str,
        /// `Retry-After`, in seconds, if sent.
        retry_after: Option<u64>,
    },
    /// The connection could not be made, so the request was never sent.
    NotSent,
    /// The connection broke or timed out after the request may have been sent.
    Broken,
}

/// The decision for one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Wait this long, then send the request again.
    RetryAfter(Duration),
    /// Stop and report the failure.
    GiveUp,
}

/// Decide what to do after attempt `attempt` (1-based) of a request with
/// `method` ended in `outcome`. `jitter` in `[0, 1)` spreads clients apart.
pub(crate) fn decide(method: &str, attempt: u32, outcome: &Outcome<'_>, jitter: f64) -> Verdict {
    if attempt >= MAX_ATTEMPTS {
        return Verdict::GiveUp;
    }
    let idempotent = matches!(method, "GET" | "HEAD" | "PUT" | "DELETE");
    let retry = match outcome {
        Outcome::Answered {
            status,
            code,
            retry_after,
        } => {
            if let Some(seconds) =
                retry_after.filter(|_| *status == 409 || *status == 429 || *status == 503)
            {
                let wait = Duration::from_secs(seconds);
                return if wait > MAX_RETRY_AFTER {
                    Verdict::GiveUp
                } else {
                    Verdict::RetryAfter(wait)
                };
            }
            THROTTLE_CODES.contains(code) || (*status >= 500 && idempotent)
        }
        Outcome::NotSent => true,
        Outcome::Broken => idempotent,
    };
    if retry {
        Verdict::RetryAfter(backoff(attempt, jitter))
    } else {
        Verdict::GiveUp
    }
}

/// Exponential backoff with "equal jitter": half fixed, half random.
fn backoff(attempt: u32, jitter: f64) -> Duration {
    let exp = BASE_DELAY.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(MAX_DELAY);
    let half = capped / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// A cheap random number in `[0, 1)` for jitter (not for anything secret).
pub(crate) fn jitter() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64;
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
