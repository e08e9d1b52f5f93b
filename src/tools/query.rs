//! The query tools: `run_select_sql` and `estimate_query_cost`, and the
//! shared step that runs a checked query and describes its result.
//!
//! Both tools take the same path through the gate: prepare (parse, resolve
//! and allow tables), gather table facts from the session cache or the
//! engine, check and rewrite. Only then does the engine see anything, and it
//! sees the gate's rendering, never the agent's text.
//!
//! [`run_admitted`] is the one step every row-returning tool ends in
//! (`run_select_sql`, `preview_table`, `query_table`, `run_metric_query`),
//! so none of them can skip what it enforces, in this order: the session
//! row budget (the row limit is clamped to what is left, or the query is
//! refused), the result cache (a fresh entry is served without the engine
//! or the scan budget), the scan budget (see [`super::budget`]), the engine.

use serde_json::json;

use crate::engine::{QueryResult, SharedEngine, Truncation};
use crate::error::ToolError;
use crate::guard::{CheckedQuery, Gate};

use crate::policy::EffectiveLimits;

use super::args::{positive_limit, SqlArgs};
use super::budget;
use super::cache::CacheKey;
use super::envelope::{CallFacts, SessionRows, ToolSuccess};
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
    let source = facts.source.clone().unwrap_or_default();
    let ran = run_admitted(session, &source, &limits, &engine, checked, ctx, facts).await?;
    Ok(query_success(facts, &ran.checked, ran.result))
}

/// A query that ran (or was served from the cache).
pub(crate) struct Ran {
    /// The query as admitted: its row limit may have been lowered to the
    /// session row budget's remainder.
    pub checked: CheckedQuery,
    /// Its rows.
    pub result: QueryResult,
}

/// Admit a checked query against its source's row and scan budgets, then
/// serve it from the result cache or run it: the one way every tool (raw
/// SQL, preview, metrics, structured reads) sends a query to an engine, so
/// none can skip a budget or the cache's rules.
pub(crate) async fn run_admitted(
    session: &Session,
    source: &str,
    limits: &EffectiveLimits,
    engine: &SharedEngine,
    mut checked: CheckedQuery,
    ctx: &CallContext,
    facts: &mut CallFacts,
) -> Result<Ran, ToolError> {
    let reservation =
        session
            .rows()
            .reserve(source, limits.max_session_rows, checked.applied_limit())?;
    let limited = checked.cap_rows(reservation.granted());
    facts.applied_limit = Some(checked.applied_limit());
    let cache = cache_slot(session, source, &checked);
    let cached = cache
        .as_ref()
        .and_then(|(key, _)| session.result_cache()?.get(key, session.now()));
    let result = match cached {
        Some(hit) => {
            facts.cache_age = Some(hit.age);
            hit.result
        }
        None => {
            budget::admit(session.scanned(), source, limits, engine, &checked).await?;
            let result = engine.run(&checked, ctx.run_context()).await?;
            if let (Some((key, ttl)), Some(store)) = (cache, session.result_cache()) {
                store.put(key, &result, ttl, session.now());
            }
            result
        }
    };
    reservation.settle(result.rows.len() as u64);
    facts.session_rows = limits.max_session_rows.map(|max| {
        let used = session.rows().used(source);
        SessionRows {
            max_session_rows: max,
            used,
            remaining: max.saturating_sub(used),
            limited_this_call: limited,
        }
    });
    Ok(Ran { checked, result })
}

/// The cache key and time to live of `checked`, when the session caches
/// results and every table the query reads has a TTL.
fn cache_slot(
    session: &Session,
    source: &str,
    checked: &CheckedQuery,
) -> Option<(CacheKey, std::time::Duration)> {
    session.result_cache()?;
    let rules = session.policy().source(source)?;
    let ttl = rules.cache_ttl(checked.tables_used())?;
    let policy = session.policy();
    let key = CacheKey::new(
        source,
        checked,
        policy.identity(),
        &policy.config().policy_sha256,
    );
    Some((key, ttl))
}

/// `estimate_query_cost`: the gate plus the engine's estimate, no execution.
///
/// The engine estimates from statistics over whole tables, rows that the
/// caller's row policies hide included, and its plan spells out the
/// rewritten predicates. So when any table the query reads is under a row
/// policy that applies to the caller, the row estimate, the cost (which
/// grows with it) and the plan are withheld; the bytes scanned stay, as the
/// scan budget needs them.
pub(crate) async fn estimate_query_cost(
    session: &Session,
    args: SqlArgs,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let (engine, checked, limits) = check(session, &args, facts).await?;
    let rules = session.source(facts.source.as_deref())?;
    let policed: Vec<&str> = checked
        .tables_used()
        .iter()
        .filter(|table| !rules.row_policies(table).is_empty())
        .map(String::as_str)
        .collect();
    let mut estimate = engine.estimate(&checked).await?;
    facts.truncated = cut_plan(&mut estimate.plan, limits.max_result_bytes);
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
    let bytes = estimate
        .input_bytes
        .map_or("unknown".into(), budget::human_bytes);
    let (numbers, shown) = if policed.is_empty() {
        (
            format!(
                "estimated rows {}, cost {}, bytes scanned {bytes}",
                estimate
                    .estimated_rows
                    .map_or("unknown".into(), |r| r.to_string()),
                estimate.cost.map_or("unknown".into(), |c| c.to_string()),
            ),
            json!(estimate),
        )
    } else {
        let tables = policed.join("`, `");
        (
            format!("bytes scanned {bytes}; rows, cost and plan withheld: `{tables}` is under a row policy"),
            json!({
                "input_bytes": estimate.input_bytes,
                "estimated_rows": null,
                "cost": null,
                "plan": null,
                "withheld": format!(
                    "The row estimate, cost and plan are withheld because `{tables}` is under a row policy: the engine's statistics count the rows the policy hides. Run the query with a small `limit`, or count with run_select_sql."
                ),
            }),
        )
    };
    Ok(ToolSuccess {
        summary: format!(
            "source `{source}`: estimate only, nothing ran ({numbers}; {budget_line})"
        ),
        // The rewritten SQL stays in the audit record: it spells out row
        // policies and identity attributes the agent has no need to see.
        data: json!({
            "estimate": shown,
            "budget": {
                "max_scan_bytes": limits.max_scan_bytes,
                "max_session_scan_bytes": limits.max_session_scan_bytes,
                "session_scanned_bytes": budget.spent,
                "session_remaining_bytes": remaining,
                "within_budget": within_budget(estimate.input_bytes, &limits, remaining),
                "max_session_rows": limits.max_session_rows,
                "session_rows_used": session.rows().used(source),
            },
        }),
    })
}

/// Cut a plan longer than `max_bytes` (a plan spells out constants the
/// planner computed, as long as the query made them), on a character
/// boundary, saying where it was cut. Whether it was cut.
fn cut_plan(plan: &mut String, max_bytes: u64) -> bool {
    let max = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    if plan.len() <= max {
        return false;
    }
    let mut at = max;
    while !plan.is_char_boundary(at) {
        at -= 1;
    }
    plan.truncate(at);
    plan.push_str(&format!(
        "\n… (plan cut at {at} bytes, the result cap `max_result_bytes`)"
    ));
    true
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
    let budget_cut = facts.session_rows.filter(|r| r.limited_this_call);
    let truncation = match (result.truncation, budget_cut) {
        (Some(Truncation::RowLimit), Some(rows)) => format!(
            "yes (the applied limit was lowered to the {} row(s) left of this session's row budget of {} for this source, `max_session_rows`, and more rows exist)",
            checked.applied_limit(),
            rows.max_session_rows
        ),
        (Some(Truncation::RowLimit), None) => {
            "yes (more rows exist than the applied limit)".to_string()
        }
        (Some(Truncation::ResultBytes), _) => "yes (result byte cap reached)".to_string(),
        (None, _) if result.cells_truncated > 0 => {
            "cells only (long values were cut)".to_string()
        }
        (None, _) => "no".to_string(),
    };
    let cached = match facts.cache_age {
        Some(age) => format!(
            ", served from the result cache ({:.0} s old)",
            age.as_secs_f64()
        ),
        None => String::new(),
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
            "source `{}`: {rows} row(s), truncated: {truncation}, applied limit {}, default partitions: {partitions}{cached}",
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
