//! Audit records of refused credentials: who knocked with what, without
//! letting a flood of bad tokens grow the log without bound.
//!
//! A request whose credential is refused leaves one `auth_refused` record:
//! the reason (`expired`, `revoked`, …), the token's id when it is known
//! for sure (a static token found in the store; a JWT whose signature
//! verified), and the remote address; never the token. A request with no
//! credential at all leaves none: it is every MCP client's first probe,
//! before OAuth discovery.
//!
//! Records are rate-limited per remote IP: at most
//! `limits.refused_auth_records_per_minute` per address per minute, and
//! ten times that for all addresses together. Refusals beyond the limit
//! are counted, not recorded; the address's next record carries the count
//! in `suppressed` (the refusals it stands for besides its own). Once a
//! minute the addresses whose minute is over and that still have
//! refusals counted get one record each, and shutdown writes what is left,
//! so no count is lost. At most [`MAX_ADDRESSES`] addresses are tracked;
//! while the table is full, refusals from new addresses are counted
//! together, in records without `remote_addr`. So the log grows by at most
//! eleven times the limit per minute, whatever is sent.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::audit::{AuditRecord, Outcome};
use crate::tools::AuditSink;

/// The tool name of the records.
pub(crate) const TOOL_NAME: &str = "auth_refused";

/// The span the limits count over.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);

/// How many times the per-address limit all addresses may write together.
const OVERALL_FACTOR: u32 = 10;

/// Most addresses tracked at once (a bound on memory).
const MAX_ADDRESSES: usize = 1024;

/// One refused credential, as the front door saw it.
#[derive(Debug, Clone)]
pub(crate) struct Refused {
    /// The reason's stable name, such as `expired`.
    pub(crate) failure: String,
    /// The refusal's message (fixed text, never the token).
    pub(crate) message: String,
    /// The token's id, when known for sure.
    pub(crate) token_id: Option<String>,
    /// Where the request came from.
    pub(crate) peer: SocketAddr,
}

/// One address's count in its current window.
struct Tally {
    started: Instant,
    written: u32,
    /// Refusals counted since the address's last record.
    suppressed: u64,
    /// The last of them, for the record that reports them.
    last: Refused,
}

/// The counts, under one lock.
struct Counts {
    started: Instant,
    written: u32,
    /// `None`: addresses that found the table full.
    by_address: HashMap<Option<IpAddr>, Tally>,
}

/// Writes `auth_refused` records, within the limits.
pub(crate) struct RefusalAudit {
    audit: Arc<dyn AuditSink>,
    policy_sha256: String,
    per_address: u32,
    counts: Mutex<Counts>,
}

impl RefusalAudit {
    /// Records to `audit`, at most `per_address` per address per
    /// [`WINDOW`] (`0`: none).
    pub(crate) fn new(audit: Arc<dyn AuditSink>, policy_sha256: String, per_address: u32) -> Self {
        Self {
            audit,
            policy_sha256,
            per_address,
            counts: Mutex::new(Counts {
                started: Instant::now(),
                written: 0,
                by_address: HashMap::new(),
            }),
        }
    }

    /// Record `refused`, or count it when its address (or everyone) has
    /// had as many records as allowed this window.
    pub(crate) fn refused(&self, refused: Refused) {
        self.refused_at(refused, Instant::now());
    }

    /// [`Self::refused`] at `now`.
    fn refused_at(&self, refused: Refused, now: Instant) {
        if self.per_address == 0 {
            return;
        }
        let record = {
            let mut counts = self.lock();
            counts.roll(now);
            let ip = refused.peer.ip();
            let key = if counts.by_address.len() < MAX_ADDRESSES
                || counts.by_address.contains_key(&Some(ip))
            {
                Some(ip)
            } else {
                None
            };
            let overall_left = counts.written < self.overall();
            let tally = counts.by_address.entry(key).or_insert_with(|| Tally {
                started: now,
                written: 0,
                suppressed: 0,
                last: refused.clone(),
            });
            if now.duration_since(tally.started) >= WINDOW {
                tally.started = now;
                tally.written = 0;
            }
            if overall_left && tally.written < self.per_address {
                tally.written += 1;
                let suppressed = std::mem::take(&mut tally.suppressed);
                counts.written += 1;
                Some((refused, suppressed, key.is_some()))
            } else {
                tally.suppressed += 1;
                tally.last = refused;
                None
            }
        };
        if let Some((refused, suppressed, addressed)) = record {
            self.write(&refused, suppressed, addressed);
        }
    }

    /// Write one record for each address whose window is over (every
    /// address, when `all`) and that has refusals counted but not yet
    /// recorded, within the overall limit unless `all`; forget addresses
    /// with nothing pending whose window is over.
    pub(crate) fn sweep(&self, all: bool) {
        self.sweep_at(all, Instant::now());
    }

    /// [`Self::sweep`] at `now`.
    fn sweep_at(&self, all: bool, now: Instant) {
        let mut due = Vec::new();
        {
            let mut counts = self.lock();
            counts.roll(now);
            let overall = self.overall();
            let mut written = counts.written;
            counts.by_address.retain(|key, tally| {
                let over = now.duration_since(tally.started) >= WINDOW;
                if tally.suppressed > 0 && (all || (over && written < overall)) {
                    written += 1;
                    // The last counted refusal is the record; the rest are
                    // what it stands for besides.
                    due.push((tally.last.clone(), tally.suppressed - 1, key.is_some()));
                    tally.suppressed = 0;
                    tally.started = now;
                    tally.written = 1;
                    return true;
                }
                !over || tally.suppressed > 0
            });
            counts.written = written;
        }
        for (refused, suppressed, addressed) in due {
            self.write(&refused, suppressed, addressed);
        }
    }

    fn overall(&self) -> u32 {
        self.per_address.saturating_mul(OVERALL_FACTOR)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self, refused: &Refused, suppressed: u64, addressed: bool) {
        let mut record = AuditRecord::new(TOOL_NAME, "", "", &self.policy_sha256);
        record.outcome = Outcome::Denied;
        record.deny_reason = Some(refused.message.clone());
        record.token_id.clone_from(&refused.token_id);
        record.auth_failure = Some(refused.failure.clone());
        record.remote_addr = addressed.then(|| refused.peer.to_string());
        record.suppressed = Some(suppressed);
        if let Err(e) = self.audit.append(&mut record) {
            // The request is refused either way; the operator learns the
            // log could not take the record.
            tracing::warn!(error = %e, "could not audit a refused credential");
        }
    }
}

impl Counts {
    /// Start a new overall window when the last one is over.
    fn roll(&mut self, now: Instant) {
        if now.duration_since(self.started) >= WINDOW {
            self.started = now;
            self.written = 0;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
