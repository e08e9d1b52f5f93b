//! The query tools: `run_select_sql` and `estimate_query_cost`.
//!
//! Both take the agent's SQL through the same gate step
//! ([`super::run`]); `run_select_sql` then runs it, `estimate_query_cost`
//! asks the engine for its estimate instead.

use serde_json::json;

use crate::engine::result::cut_string;
use crate::error::ToolError;
use crate::policy::EffectiveLimits;

use super::args::{positive_limit, SqlArgs};
use super::budget;
use super::call::{Call, Handler};
use super::envelope::ToolSuccess;
use super::run::GateInput;

/// `run_select_sql`: one validated, rewritten, limited SELECT.
pub(crate) struct RunSelectSql;

impl Handler for RunSelectSql {
    type Args = SqlArgs;

    async fn run(mut call: Call<'_>, args: SqlArgs) -> Result<ToolSuccess, ToolError> {
        let limit = positive_limit(args.limit)?;
        let rules = call.source(args.source.as_deref())?;
        call.query(
            &rules,
            GateInput::Sql {
                sql: &args.sql,
                limit,
            },
        )
        .await
    }
}

/// `estimate_query_cost`: the gate plus the engine's estimate, no execution.
///
/// The engine estimates from statistics over whole tables, rows that the
/// caller's row policies hide included, and its plan spells out the
/// rewritten predicates. So when any table the query reads is under a row
/// policy that applies to the caller, the row estimate, the cost (which
/// grows with it) and the plan are withheld; the bytes scanned stay, as the
/// scan budget needs them.
pub(crate) struct EstimateQueryCost;

impl Handler for EstimateQueryCost {
    type Args = SqlArgs;

    async fn run(mut call: Call<'_>, args: SqlArgs) -> Result<ToolSuccess, ToolError> {
        let limit = positive_limit(args.limit)?;
        let rules = call.source(args.source.as_deref())?;
        let gated = call
            .gate(
                &rules,
                GateInput::Sql {
                    sql: &args.sql,
                    limit,
                },
            )
            .await?;
        let session = call.session;
        let (checked, limits, source) = (&gated.checked, &gated.limits, gated.source.as_str());
        let policed: Vec<&str> = checked
            .tables_used()
            .iter()
            .filter(|table| !rules.row_policies(table).is_empty())
            .map(String::as_str)
            .collect();
        let mut estimate = gated.engine.estimate(checked).await?;
        call.facts.truncated = cut_plan(&mut estimate.plan, limits.max_result_bytes);
        let budget = session.scanned().budget(source, limits);
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
            rows: None,
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
                    "within_budget": within_budget(estimate.input_bytes, limits, remaining),
                    "max_session_rows": limits.max_session_rows,
                    "session_rows_used": session.rows().used(source),
                },
            }),
        })
    }
}

/// Cut a plan longer than `max_bytes` (a plan spells out constants the
/// planner computed, as long as the query made them), on a character
/// boundary, saying where it was cut. Whether it was cut.
fn cut_plan(plan: &mut String, max_bytes: u64) -> bool {
    let max = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    if !cut_string(plan, max) {
        return false;
    }
    let at = plan.len();
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
