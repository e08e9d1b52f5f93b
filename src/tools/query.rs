//! The query tools: `run_select_sql` and `estimate_query_cost`, and the
//! shared step that runs a checked query and describes its result.
//!
//! Both tools take the same path through the gate: prepare (parse, resolve
//! and allow tables), gather table facts from the session cache or the
//! engine, check and rewrite. Only then does the engine see anything, and it
//! sees the gate's rendering, never the agent's text.

use serde_json::json;

use crate::engine::{QueryResult, SharedEngine, Truncation};
use crate::error::ToolError;
use crate::guard::{CheckedQuery, Gate};

use super::args::{positive_limit, SqlArgs};
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
    let (engine, checked) = check(session, &args, facts).await?;
    let result = engine.run(&checked, ctx.run_context()).await?;
    Ok(query_success(facts, &checked, result))
}

/// `estimate_query_cost`: the gate plus the engine's estimate, no execution.
pub(crate) async fn estimate_query_cost(
    session: &Session,
    args: SqlArgs,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let (engine, checked) = check(session, &args, facts).await?;
    let estimate = engine.estimate(&checked).await?;
    Ok(ToolSuccess {
        summary: format!(
            "source `{}`: estimate only, nothing ran (estimated rows {}, cost {})",
            facts.source.as_deref().unwrap_or("?"),
            estimate
                .estimated_rows
                .map_or("unknown".into(), |r| r.to_string()),
            estimate.cost.map_or("unknown".into(), |c| c.to_string()),
        ),
        // The rewritten SQL stays in the audit record: it spells out row
        // policies and identity attributes the agent has no need to see.
        data: json!({ "estimate": estimate }),
    })
}

/// Gate the agent's SQL: the engine to run it on and the checked query.
async fn check(
    session: &Session,
    args: &SqlArgs,
    facts: &mut CallFacts,
) -> Result<(SharedEngine, CheckedQuery), ToolError> {
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
    Ok((engine, checked))
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
