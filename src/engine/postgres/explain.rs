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
pub(crate) async fn estimate(
    tx: &Transaction<'_>,
    sql: &str,
) -> Result<Result<CostEstimate, ToolError>, tokio_postgres::Error> {
    let json_row = tx
        .query_one(format!("EXPLAIN (FORMAT JSON) {sql}").as_str(), &[])
        .await?;
    let text_rows = tx.query(format!("EXPLAIN {sql}").as_str(), &[]).await?;
    let plan_json: Value = json_row.try_get(0)?;
    let plan_text = text_rows
        .iter()
        .map(|r| r.try_get::<_, String>(0))
        .collect::<Result<Vec<_>, _>>()?
        .join("\n");
    Ok(from_plan(&plan_json, plan_text))
}

/// Read the top plan node's total cost and row estimate.
fn from_plan(plan_json: &Value, plan_text: String) -> Result<CostEstimate, ToolError> {
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
        plan: plan_text,
        details,
    })
}

#[cfg(test)]
mod tests;
