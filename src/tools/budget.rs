//! The scan budget: `max_scan_bytes` per query and `max_session_scan_bytes`
//! per session, checked against the engine's estimate before a query runs.
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
    pub spent: u64,
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
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits(query: Option<u64>, session: Option<u64>) -> EffectiveLimits {
        EffectiveLimits {
            default_limit: 10,
            max_limit: 10,
            query_timeout: Duration::from_secs(1),
            max_cell_bytes: 10,
            max_result_bytes: 10,
            max_scan_bytes: query,
            max_session_scan_bytes: session,
        }
    }

    #[test]
    fn bytes_read_in_human_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB (1536 bytes)");
        assert_eq!(
            human_bytes(10 * 1024 * 1024 * 1024),
            "10.0 GiB (10737418240 bytes)"
        );
        assert!(human_bytes(u64::MAX).contains("EiB"));
    }

    #[test]
    fn the_per_query_budget_refuses_without_spending() {
        let ledger = ScanLedger::default();
        let l = limits(Some(1000), Some(5000));
        let e = ledger.reserve("dw", &l, 1001).unwrap_err();
        assert_eq!(e.code, ErrorCode::CostBudgetExceeded);
        assert!(
            e.message.contains("1001 B") && e.message.contains("1000 B"),
            "{}",
            e.message
        );
        assert!(e.hint.contains("partition"), "{}", e.hint);
        assert_eq!(ledger.budget("dw", &l).spent, 0);
        ledger.reserve("dw", &l, 1000).unwrap();
        assert_eq!(ledger.budget("dw", &l).remaining(), Some(4000));
    }

    #[test]
    fn the_session_budget_accumulates_per_source() {
        let ledger = ScanLedger::default();
        let l = limits(None, Some(2500));
        ledger.reserve("dw", &l, 1000).unwrap();
        ledger.reserve("dw", &l, 1500).unwrap();
        let e = ledger.reserve("dw", &l, 1).unwrap_err();
        assert_eq!(e.code, ErrorCode::CostBudgetExceeded);
        assert!(e.message.contains("0 B of its 2.4 KiB"), "{}", e.message);
        // Another source has its own total; a free query still passes.
        ledger.reserve("other", &l, 2500).unwrap();
        ledger.reserve("dw", &l, 0).unwrap();
        assert_eq!(ledger.budget("dw", &l).spent, 2500);
        assert_eq!(ledger.budget("dw", &limits(None, None)).remaining(), None);
    }
}
