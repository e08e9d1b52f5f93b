//! `estimate`: PostgreSQL's plan for a checked query, never executed.
//!
//! Runs `EXPLAIN (FORMAT JSON)` for the numbers and `EXPLAIN` for the plan
//! text, both inside the caller's read-only transaction. `ANALYZE` is never
//! used: it would run the query. The statement is the gate's rendered SQL
//! behind a fixed prefix, sent through the extended protocol like any query.

use serde_json::Value;
use tokio_postgres::Transaction;

use crate::engine::CostEstimate;
use crate::error::ToolError;

/// The planner's estimate for `sql`.
///
/// A plan spells out the constants the planner folded, as long as the
/// query made them, so each form is dropped as soon as it is read: the
/// JSON before the text is fetched, each text row as it is appended.
pub(crate) async fn estimate(
    tx: &Transaction<'_>,
    sql: &str,
) -> Result<Result<CostEstimate, ToolError>, tokio_postgres::Error> {
    let plan_json: Value = tx
        .query_one(format!("EXPLAIN (FORMAT JSON) {sql}").as_str(), &[])
        .await?
        .try_get(0)?;
    let mut estimate = match from_plan(&plan_json) {
        Ok(estimate) => estimate,
        Err(e) => return Ok(Err(e)),
    };
    drop(plan_json);
    let mut plan_text = String::new();
    for row in tx.query(format!("EXPLAIN {sql}").as_str(), &[]).await? {
        if !plan_text.is_empty() {
            plan_text.push('\n');
        }
        plan_text.push_str(row.try_get::<_, &str>(0)?);
    }
    estimate.plan = plan_text;
    Ok(Ok(estimate))
}

/// Read the top plan node's total cost and row estimate (the plan text is
/// added by the caller).
fn from_plan(plan_json: &Value) -> Result<CostEstimate, ToolError> {
    let top = plan_json
        .get(0)
        .and_then(|p| p.get("Plan"))
        .ok_or_else(|| ToolError::internal("EXPLAIN (FORMAT JSON) returned no top plan node"))?;
    let mut details = serde_json::Map::new();
    for key in ["Node Type", "Startup Cost", "Plan Width"] {
        if let Some(value) = top.get(key) {
            details.insert(key.to_lowercase().replace(' ', "_"), value.clone());
        }
    }
    Ok(CostEstimate {
        input_bytes: None,
        estimated_rows: top.get("Plan Rows").and_then(Value::as_f64),
        cost: top.get("Total Cost").and_then(Value::as_f64),
        plan: String::new(),
        details,
    })
}

#[cfg(test)]
mod tests;
