//! The session budgets: the scan budget (`max_scan_bytes` per query and
//! `max_session_scan_bytes` per session, checked against the engine's
//! estimate before a query runs) and the row budget (`max_session_rows`:
//! rows all query tools together may return from a source in a session).
//!
//! What it does not do: estimate anything itself, or look at the SQL. The
//! engine's `estimate` of the gate's rendering is the only input; when a
//! budget is set and that estimate fails or reports no input bytes (every
//! PostgreSQL estimate: `EXPLAIN` knows rows and cost, not bytes), the query
//! is refused. A budget is never enforced by running blind.
//!
//! The one idea: admission reserves. The estimate of an admitted query is
//! added to the session's total under the same lock that checked it, before
//! the query is sent, so two concurrent calls cannot both squeeze under the
//! session budget, and a query that fails after it was sent (a timeout, a
//! cancellation) still counts: it may have scanned.
//!
//! The row budget works the same way: a query reserves its row limit,
//! clamped to what is left, before it runs, and gives back what it did not
//! return once it is done (all of it when it fails). So concurrent calls
//! cannot overdraw it either, and a query that returns 3 rows of an allowed
//! 100 costs 3. Rows served from the result cache count like any others;
//! the scan budget is not charged for them (nothing was scanned).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::engine::SharedEngine;
use crate::error::{ErrorCode, ToolError};
use crate::guard::CheckedQuery;
use crate::policy::EffectiveLimits;

/// Estimated bytes admitted so far in one session, per source.
#[derive(Debug, Default)]
pub(crate) struct ScanLedger {
    spent: Mutex<HashMap<String, u64>>,
}

/// Where a source's session budget stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionBudget {
    /// Estimated bytes of the queries admitted so far.
    pub(crate) spent: u64,
    /// `max_session_scan_bytes`, if set.
    pub limit: Option<u64>,
}

impl SessionBudget {
    /// Bytes the session may still scan, when it has a budget.
    pub(crate) fn remaining(&self) -> Option<u64> {
        self.limit.map(|l| l.saturating_sub(self.spent))
    }
}

impl ScanLedger {
    /// Where `source`'s session budget stands under `limits`.
    pub(crate) fn budget(&self, source: &str, limits: &EffectiveLimits) -> SessionBudget {
        let spent = self
            .spent
            .lock()
            .map(|s| s.get(source).copied().unwrap_or(0))
            .unwrap_or_else(|poisoned| poisoned.into_inner().get(source).copied().unwrap_or(0));
        SessionBudget {
            spent,
            limit: limits.max_session_scan_bytes,
        }
    }

    /// Admit a query estimated at `bytes` against both budgets, and reserve
    /// the bytes in the session total when it is admitted.
    fn reserve(&self, source: &str, limits: &EffectiveLimits, bytes: u64) -> Result<(), ToolError> {
        if let Some(max) = limits.max_scan_bytes {
            if bytes > max {
                return Err(over_query_budget(source, bytes, max));
            }
        }
        let mut spent = self
            .spent
            .lock()
            .map_err(|_| ToolError::internal("scan ledger lock poisoned"))?;
        let total = spent.entry(source.to_string()).or_insert(0);
        if let Some(max) = limits.max_session_scan_bytes {
            if total.saturating_add(bytes) > max {
                return Err(over_session_budget(source, bytes, *total, max));
            }
        }
        *total = total.saturating_add(bytes);
        Ok(())
    }
}

/// Rows returned (or reserved by queries in flight) in one session, per
/// source.
#[derive(Debug, Default)]
pub(crate) struct RowLedger {
    used: Mutex<HashMap<String, u64>>,
}

/// Rows reserved for one query; what is not [`settle`](Self::settle)d is
/// given back when it is dropped (a failed or cancelled query).
#[derive(Debug)]
pub(crate) struct RowReservation<'a> {
    ledger: &'a RowLedger,
    source: String,
    /// Rows the query may return.
    granted: u64,
    /// Rows still held (0 once settled, or when no budget is set).
    held: u64,
}

impl RowLedger {
    /// Rows counted against `source` so far.
    pub(crate) fn used(&self, source: &str) -> u64 {
        let used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        used.get(source).copied().unwrap_or(0)
    }

    /// Reserve up to `wanted` rows of `source`'s budget `max`: the
    /// reservation grants `wanted` or what is left, whichever is less. With
    /// nothing left the query is refused; with no budget everything is
    /// granted and nothing is counted.
    pub(crate) fn reserve(
        &self,
        source: &str,
        max: Option<u64>,
        wanted: u64,
    ) -> Result<RowReservation<'_>, ToolError> {
        let Some(max) = max else {
            return Ok(RowReservation {
                ledger: self,
                source: source.to_string(),
                granted: wanted,
                held: 0,
            });
        };
        let mut used = self
            .used
            .lock()
            .map_err(|_| ToolError::internal("row ledger lock poisoned"))?;
        let total = used.entry(source.to_string()).or_insert(0);
        let left = max.saturating_sub(*total);
        if left == 0 {
            return Err(rows_exhausted(source, max));
        }
        let granted = wanted.min(left);
        *total += granted;
        Ok(RowReservation {
            ledger: self,
            source: source.to_string(),
            granted,
            held: granted,
        })
    }

    fn give_back(&self, source: &str, rows: u64) {
        if rows == 0 {
            return;
        }
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(total) = used.get_mut(source) {
            *total = total.saturating_sub(rows);
        }
    }
}

impl RowReservation<'_> {
    /// Rows the query may return.
    pub(crate) fn granted(&self) -> u64 {
        self.granted
    }

    /// The query returned `rows`: keep those, give back the rest.
    pub(crate) fn settle(mut self, rows: u64) {
        let unused = self.held.saturating_sub(rows);
        self.ledger.give_back(&self.source, unused);
        self.held = 0;
    }
}

impl Drop for RowReservation<'_> {
    fn drop(&mut self) {
        self.ledger.give_back(&self.source, self.held);
    }
}

fn rows_exhausted(source: &str, max: u64) -> ToolError {
    ToolError::new(
        ErrorCode::CostBudgetExceeded,
        format!(
            "This session has already received {max} row(s) from `{source}`, its whole row budget (`max_session_rows`), so the query was not run"
        ),
        "Answer from the rows already returned, or let the database aggregate (GROUP BY with count, sum, avg) so an answer needs a few rows instead of many; `run_metric_query` returns one row per group. The budget is per session; only the administrator can raise it in `policy.yaml`",
    )
}

/// Whether `limits` set any scan budget.
pub(crate) fn budgeted(limits: &EffectiveLimits) -> bool {
    limits.max_scan_bytes.is_some() || limits.max_session_scan_bytes.is_some()
}

/// Before `query` runs on `source`: when a budget is set, estimate it and
/// admit it (reserving its bytes) or refuse it. No budget: nothing to do,
/// and no estimate is spent.
pub(crate) async fn admit(
    ledger: &ScanLedger,
    source: &str,
    limits: &EffectiveLimits,
    engine: &SharedEngine,
    query: &CheckedQuery,
) -> Result<(), ToolError> {
    if !budgeted(limits) {
        return Ok(());
    }
    let estimate = engine
        .estimate(query)
        .await
        .map_err(|cause| estimate_failed(source, cause))?;
    let bytes = estimate.input_bytes.ok_or_else(|| no_input_bytes(source))?;
    ledger.reserve(source, limits, bytes)
}

fn over_query_budget(source: &str, bytes: u64, max: u64) -> ToolError {
    ToolError::new(
        ErrorCode::CostBudgetExceeded,
        format!(
            "The query would scan about {} on `{source}`; one query may scan at most {} (`max_scan_bytes`), so it was not run",
            human_bytes(bytes),
            human_bytes(max)
        ),
        BUDGET_HINT,
    )
}

fn over_session_budget(source: &str, bytes: u64, spent: u64, max: u64) -> ToolError {
    ToolError::new(
        ErrorCode::CostBudgetExceeded,
        format!(
            "The query would scan about {} on `{source}`, but this session has {} of its {} budget left (`max_session_scan_bytes`), so it was not run",
            human_bytes(bytes),
            human_bytes(max.saturating_sub(spent)),
            human_bytes(max)
        ),
        BUDGET_HINT,
    )
}

const BUDGET_HINT: &str = "Add partition predicates (call `list_partitions`), select fewer columns, or narrow the query; `estimate_query_cost` shows the estimate and the budget left. If the budget is too small for the work, ask the administrator to raise it in `policy.yaml`";

fn estimate_failed(source: &str, cause: ToolError) -> ToolError {
    let mut refusal = ToolError::new(
        ErrorCode::CostBudgetExceeded,
        format!(
            "`{source}` has a scan budget and the query's cost could not be estimated ({}: {}), so it was not run",
            cause.code, cause.message
        ),
        format!(
            "A budgeted source never runs a query blind. Fix the cause ({}), then try again; `estimate_query_cost` shows whether the estimate works",
            cause.hint
        ),
    );
    refusal.untrusted_detail = cause.untrusted_detail;
    refusal.internal = cause.internal;
    refusal
}

fn no_input_bytes(source: &str) -> ToolError {
    ToolError::new(
        ErrorCode::CostBudgetExceeded,
        format!(
            "`{source}` has a scan budget, but its engine's estimate reports no bytes scanned, so the query was not run"
        ),
        "PostgreSQL estimates (`EXPLAIN`) give rows and cost, never bytes, so `max_scan_bytes` and `max_session_scan_bytes` refuse every query on a PostgreSQL source; ask the administrator to remove them from this source in `policy.yaml` (they are meant for MaxCompute sources)",
    )
}

/// `n` bytes for a reader: `512 B`, `1.5 KiB`, `10.0 GiB`.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {} ({n} bytes)", UNITS[unit])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
