//! Fault injection, switchable at runtime from a test: 5xx answers,
//! `QPSExceeded`, slow responses, broken tunnel streams, instances that
//! never finish, tasks that fail, partition listings without statistics,
//! a spent tunnel-session budget, and MaxQA refusals, fallbacks and
//! expired connections.
//!
//! It does not act on requests itself; the router and the instance and
//! tunnel code ask it what to do. The one idea: every fault is a rule the
//! test sets and can count down, so a test states exactly which requests
//! go wrong and the rest behave normally.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::reply::OdpsError;

/// What a matching request gets instead of its normal answer.
#[derive(Debug, Clone)]
enum Action {
    /// An error answer with this status and `Code`.
    Error(u16, &'static str, &'static str),
    /// The normal answer, after a delay.
    Delay(Duration),
}

#[derive(Debug, Clone)]
struct Rule {
    /// Substring of `path?query` as received.
    pattern: String,
    /// Requests still affected; `None` = until cleared.
    remaining: Option<u32>,
    action: Action,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    hang_instances: bool,
    fail_next_task: Option<String>,
    truncate_tunnel: bool,
    corrupt_tunnel_crc: bool,
    refuse_tunnel_downloads: bool,
    hide_partition_stats: bool,
    tunnel_sessions_left: Option<u32>,
    connection_api_missing: bool,
    mcqa_unsupported: bool,
    mcqa_conn_expiries: u32,
    mcqa_refusals: u32,
}

/// The fault switches of one emulator (cheap to clone; clones share state).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

/// What the router must do with a request before handling it.
#[derive(Debug)]
pub struct Verdict {
    /// Sleep this long first.
    pub delay: Option<Duration>,
    /// Answer this error instead of handling the request.
    pub error: Option<OdpsError>,
}

impl Faults {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A panic while holding this lock can only come from a test thread;
        // recover the data rather than poisoning every later request.
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    fn add(&self, pattern: &str, remaining: Option<u32>, action: Action) {
        self.with(|s| {
            s.rules.push(Rule {
                pattern: pattern.into(),
                remaining,
                action,
            })
        });
    }

    /// The next `n` requests whose `path?query` contains `pattern` get
    /// `status` (500 `InternalServerError`, 502/503/504
    /// `ServiceUnavailable`).
    pub fn server_errors(&self, pattern: &str, n: u32, status: u16) {
        let code = if status == 500 {
            "InternalServerError"
        } else {
            "ServiceUnavailable"
        };
        let msg = "ODPS-0010000:System internal error - injected fault";
        self.add(pattern, Some(n), Action::Error(status, code, msg));
    }

    /// The next `n` matching requests get 429 `QPSExceeded`.
    pub fn qps_exceeded(&self, pattern: &str, n: u32) {
        let msg = "ODPS-0420061:Request rejected - QPS exceeded the limit of this project";
        self.add(pattern, Some(n), Action::Error(429, "QPSExceeded", msg));
    }

    /// Every matching request is answered `delay` late, until cleared.
    pub fn delay(&self, pattern: &str, delay: Duration) {
        self.add(pattern, None, Action::Delay(delay));
    }

    /// New instances stay `Running` until terminated.
    pub fn hang_instances(&self, on: bool) {
        self.with(|s| s.hang_instances = on);
    }

    /// The next task fails with `message` (an `ODPS-...` text).
    pub fn fail_next_task(&self, message: &str) {
        self.with(|s| s.fail_next_task = Some(message.into()));
    }

    /// Tunnel record streams stop halfway, without the footer.
    pub fn truncate_tunnel(&self, on: bool) {
        self.with(|s| s.truncate_tunnel = on);
    }

    /// The first record checksum of every tunnel stream is wrong.
    pub fn corrupt_tunnel_crc(&self, on: bool) {
        self.with(|s| s.corrupt_tunnel_crc = on);
    }

    /// Tunnel download sessions are refused with `InvalidArgument`, as for
    /// instances the tunnel cannot serve; clients fall back to `?result`.
    pub fn refuse_tunnel_downloads(&self, on: bool) {
        self.with(|s| s.refuse_tunnel_downloads = on);
    }

    /// Partition listings leave out `PartitionSize` and
    /// `PartitionRecordCount`, as for tables without statistics.
    pub fn hide_partition_stats(&self, on: bool) {
        self.with(|s| s.hide_partition_stats = on);
    }

    /// The project may open `n` more instance-tunnel download sessions in
    /// the current window (the service allows 200 per 5 minutes); after
    /// that, sessions are refused with 429 until cleared.
    pub fn tunnel_session_budget(&self, n: u32) {
        self.with(|s| s.tunnel_sessions_left = Some(n));
    }

    /// `GET /connection/mcqa` answers `MethodNotAllowed` (older servers);
    /// clients then ask the quota API.
    pub fn connection_api_missing(&self, on: bool) {
        self.with(|s| s.connection_api_missing = on);
    }

    /// MaxQA cannot run the next queries: with the fallback header the
    /// service runs them offline instead; without it the task fails with
    /// `ODPS-1850001`.
    pub fn mcqa_unsupported(&self, on: bool) {
        self.with(|s| s.mcqa_unsupported = on);
    }

    /// Every MaxQA connection handed out so far expires: the next `/mcqa`
    /// submission with an old `x-odps-mcqa-conn` is refused, and a fresh
    /// lookup is needed.
    pub fn expire_mcqa_connections(&self) {
        self.with(|s| s.mcqa_conn_expiries += 1);
    }

    /// The generation of MaxQA connections that are valid now.
    pub fn mcqa_conn_generation(&self) -> u32 {
        self.with(|s| s.mcqa_conn_expiries)
    }

    /// The next `n` MaxQA submissions are refused (HTTP 400) before any
    /// instance exists, as when the interactive quota is unavailable.
    pub fn refuse_mcqa_submissions(&self, n: u32) {
        self.with(|s| s.mcqa_refusals = n);
    }

    /// Whether partition statistics are hidden.
    pub fn partition_stats_hidden(&self) -> bool {
        self.with(|s| s.hide_partition_stats)
    }

    /// Take one tunnel session from the budget; `false` when it is spent.
    pub fn take_tunnel_session(&self) -> bool {
        self.with(|s| match s.tunnel_sessions_left.as_mut() {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        })
    }

    /// Whether the connection API is missing.
    pub fn connection_api_is_missing(&self) -> bool {
        self.with(|s| s.connection_api_missing)
    }

    /// Whether MaxQA refuses to run queries itself.
    pub fn mcqa_is_unsupported(&self) -> bool {
        self.with(|s| s.mcqa_unsupported)
    }

    /// Whether this MaxQA submission is refused, consuming one refusal.
    pub fn take_mcqa_refusal(&self) -> bool {
        self.with(|s| {
            let refuse = s.mcqa_refusals > 0;
            s.mcqa_refusals = s.mcqa_refusals.saturating_sub(1);
            refuse
        })
    }

    /// Switch every fault off.
    pub fn clear(&self) {
        self.with(|s| *s = State::default());
    }

    /// Apply the request rules to `target` (`path?query`), counting down.
    pub fn verdict(&self, target: &str) -> Verdict {
        self.with(|s| {
            let mut verdict = Verdict {
                delay: None,
                error: None,
            };
            for rule in s.rules.iter_mut() {
                if !target.contains(&rule.pattern) || rule.remaining == Some(0) {
                    continue;
                }
                match &rule.action {
                    Action::Delay(d) => verdict.delay = Some(*d),
                    Action::Error(status, code, msg) if verdict.error.is_none() => {
                        verdict.error = Some(OdpsError::new(*status, code, *msg));
                    }
                    Action::Error(..) => continue,
                }
                if let Some(n) = rule.remaining.as_mut() {
                    *n -= 1;
                }
            }
            s.rules.retain(|r| r.remaining != Some(0));
            verdict
        })
    }

    /// Whether a new instance should hang.
    pub fn hangs(&self) -> bool {
        self.with(|s| s.hang_instances)
    }

    /// The injected failure for the next task, consumed.
    pub fn take_task_failure(&self) -> Option<String> {
        self.with(|s| s.fail_next_task.take())
    }

    /// `(truncate, corrupt_crc)` for a tunnel stream.
    pub fn tunnel_damage(&self) -> (bool, bool) {
        self.with(|s| (s.truncate_tunnel, s.corrupt_tunnel_crc))
    }

    /// Whether download sessions are refused.
    pub fn downloads_refused(&self) -> bool {
        self.with(|s| s.refuse_tunnel_downloads)
    }
}
