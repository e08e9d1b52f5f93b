//! The query tools: `run_select_sql` and `estimate_query_cost`, and the
//! shared step that runs a checked query and describes its result.
//!
//! Both tools take the same path through the gate: prepare (parse, resolve
//! and allow tables), gather table facts from the session cache or the
//! engine, check and rewrite. Only then does the engine see anything, and it
//! sees the gate's rendering, never the agent's text. On a source with a
//! scan budget, `run_select_sql` is admitted by the estimate first (see
//! [`super::budget`]).

use serde_json::json;

use crate::engine::{QueryResult, SharedEngine, Truncation};
use crate::error::ToolError;
use crate::guard::{CheckedQuery, Gate};

use crate::policy::EffectiveLimits;

use super::args::{positive_limit, SqlArgs};
use super::budget;
use super::envelope::{CallFacts, ToolSuccess};
use super::pipeline::CallContext;
use super::session::Session;

/// `run_select_sql`: one validated, rewritten, limited SELECT.
pub(crate) async fn run_select_sql(
    session: &Session,
    args: SqlArgs,
    ctx: &CallContext,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let (engine, checked, limits) = check(session, &args, facts).await?;
    let source = facts.source.as_deref().unwrap_or_default();
    let result = run_admitted(session, source, &limits, &engine, &checked, ctx).await?;
    Ok(query_success(facts, &checked, result))
}

/// Admit a checked query against its source's scan budget, then run it:
/// the one way every tool (raw SQL, preview, metrics, structured reads)
/// sends a query to an engine, so none can skip the budget.
pub(crate) async fn run_admitted(
    session: &Session,
    source: &str,
    limits: &EffectiveLimits,
    engine: &SharedEngine,
    checked: &CheckedQuery,
    ctx: &CallContext,
) -> Result<QueryResult, ToolError> {
    budget::admit(session.scanned(), source, limits, engine, checked).await?;
    engine.run(checked, ctx.run_context()).await
}

/// `estimate_query_cost`: the gate plus the engine's estimate, no execution.
pub(crate) async fn estimate_query_cost(
    session: &Session,
    args: SqlArgs,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let (engine, checked, limits) = check(session, &args, facts).await?;
    let estimate = engine.estimate(&checked).await?;
    let source = facts.source.as_deref().unwrap_or("?");
    let budget = session.scanned().budget(source, &limits);
    let remaining = budget.remaining();
    let budget_line = match (limits.max_scan_bytes, remaining) {
        (None, None) => "no scan budget".to_string(),
        (per_query, session_left) => format!(
            "scan budget: {} per query, {} left this session",
            per_query.map_or("unlimited".into(), budget::human_bytes),
            session_left.map_or("unlimited".into(), budget::human_bytes),
        ),
    };
    Ok(ToolSuccess {
        summary: format!(
            "source `{source}`: estimate only, nothing ran (estimated rows {}, cost {}, bytes scanned {}; {budget_line})",
            estimate
                .estimated_rows
                .map_or("unknown".into(), |r| r.to_string()),
            estimate.cost.map_or("unknown".into(), |c| c.to_string()),
            estimate
                .input_bytes
                .map_or("unknown".into(), budget::human_bytes),
        ),
        // The rewritten SQL stays in the audit record: it spells out row
        // policies and identity attributes the agent has no need to see.
        data: json!({
            "estimate": estimate,
            "budget": {
                "max_scan_bytes": limits.max_scan_bytes,
                "max_session_scan_bytes": limits.max_session_scan_bytes,
                "session_scanned_bytes": budget.spent,
                "session_remaining_bytes": remaining,
                "within_budget": within_budget(estimate.input_bytes, &limits, remaining),
            },
        }),
    })
}

/// Whether `run_select_sql` would admit a query with this estimate: `null`
/// when no budget is set, `false` when one is set and the bytes are unknown
/// (a budgeted source fails closed).
fn within_budget(
    input_bytes: Option<u64>,
    limits: &EffectiveLimits,
    remaining: Option<u64>,
) -> Option<bool> {
    if !budget::budgeted(limits) {
        return None;
    }
    Some(input_bytes.is_some_and(|bytes| {
        limits.max_scan_bytes.is_none_or(|max| bytes <= max)
            && remaining.is_none_or(|left| bytes <= left)
    }))
}

/// Gate the agent's SQL: the engine to run it on, the checked query and the
/// source's limits (for the scan budget).
async fn check(
    session: &Session,
    args: &SqlArgs,
    facts: &mut CallFacts,
) -> Result<(SharedEngine, CheckedQuery, EffectiveLimits), ToolError> {
    let limit = positive_limit(args.limit)?;
    let rules = session.source(args.source.as_deref())?;
    facts.source = Some(rules.name.to_string());
    let gate = Gate::new(&rules);
    let prepared = gate.prepare(&args.sql)?;
    facts.tables_used = prepared.tables().to_vec();
    let engine = session.engine(rules.name)?;
    let table_facts = session
        .table_facts(&rules, &engine, prepared.tables())
        .await?;
    let checked = gate.check(prepared, &table_facts, limit)?;
    note_checked(facts, &checked);
    Ok((engine, checked, rules.limits.clone()))
}

/// Copy what the gate decided into the call's facts.
pub(crate) fn note_checked(facts: &mut CallFacts, checked: &CheckedQuery) {
    facts.tables_used = checked.tables_used().to_vec();
    facts.columns_used = checked.columns_used().to_vec();
    facts.applied_limit = Some(checked.applied_limit());
    facts.partitions_used = checked.partitions_used().clone();
    facts.rewritten_sql = Some(checked.sql().to_string());
}

/// Describe a query result: the envelope data and the summary line.
pub(crate) fn query_success(
    facts: &mut CallFacts,
    checked: &CheckedQuery,
    result: QueryResult,
) -> ToolSuccess {
    let rows = result.rows.len() as u64;
    facts.row_count = Some(rows);
    facts.truncated = result.truncation.is_some() || result.cells_truncated > 0;
    let truncation = match result.truncation {
        Some(Truncation::RowLimit) => "yes (more rows exist than the applied limit)",
        Some(Truncation::ResultBytes) => "yes (result byte cap reached)",
        None if result.cells_truncated > 0 => "cells only (long values were cut)",
        None => "no",
    };
    let partitions = if checked.partitions_used().is_empty() {
        "none".to_string()
    } else {
        checked
            .partitions_used()
            .iter()
            .map(|(t, p)| format!("{t}={p}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    ToolSuccess {
        summary: format!(
            "source `{}`: {rows} row(s), truncated: {truncation}, applied limit {}, default partitions: {partitions}",
            facts.source.as_deref().unwrap_or("?"),
            checked.applied_limit(),
        ),
        data: json!({
            "columns": result.columns,
            "rows": result.rows,
            "truncation": result.truncation,
            "cells_truncated": result.cells_truncated,
            "engine": result.engine_metadata,
        }),
    }
}
