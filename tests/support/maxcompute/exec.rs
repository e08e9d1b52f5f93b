//! Running a task's SQL: translate, resolve `MAX_PT`, run on the backing
//! store, type the result columns, and render results (CSV) and cost
//! estimates (JSON) as the service does.
//!
//! It does not track instance state (see `instances.rs`). The one idea: a
//! result column that is a plain table column keeps its declared
//! MaxCompute type (found through PostgreSQL's table oid and attribute
//! number); computed columns get the MaxCompute type of their PostgreSQL
//! type.

use std::collections::{BTreeMap, HashMap};

use serde_json::json;
use tokio_postgres::error::SqlState;

use super::catalog::Catalog;
use super::sql::{self, TaskFailure};
use super::store::Store;
use super::types::McType;
use super::value::{self, Value};

/// What a task runs: its SQL text in a project with the job's settings.
#[derive(Debug, Clone, Copy)]
pub struct Task<'a> {
    /// The project the instance runs in.
    pub project: &'a str,
    /// The job's `settings` JSON, decoded.
    pub settings: &'a BTreeMap<String, String>,
    /// The SQL text as sent.
    pub query: &'a str,
}

/// A result column.
#[derive(Debug, Clone)]
pub struct ResultColumn {
    /// Column name (`_cN` for unnamed expressions, as MaxCompute names them).
    pub name: String,
    /// MaxCompute type.
    pub ty: McType,
}

/// A finished query's result.
#[derive(Debug, Clone, Default)]
pub struct ResultSet {
    /// Columns in order.
    pub columns: Vec<ResultColumn>,
    /// Rows, each in column order.
    pub rows: Vec<Vec<Value>>,
}

/// Run a SQL task's query.
pub async fn run_query(
    store: &Store,
    catalog: &Catalog,
    task: &Task<'_>,
) -> Result<ResultSet, TaskFailure> {
    let translated = translate(store, catalog, task).await?;
    let (columns, rows) = store
        .run_query(&translated.pg_sql)
        .await
        .map_err(|e| pg_failure(&e))?;
    let oids: Vec<u32> = columns.iter().filter_map(|c| c.table_oid).collect();
    let origins = store
        .column_origins(&oids)
        .await
        .map_err(|e| pg_failure(&e))?;
    let mut result_columns = Vec::with_capacity(columns.len());
    for c in &columns {
        let declared = c
            .table_oid
            .zip(c.column_id)
            .and_then(|key| origins.get(&key))
            .and_then(|o| {
                catalog
                    .tables
                    .values()
                    .find(|t| t.spec.id.pg_schema() == o.pg_schema && t.spec.id.name == o.table)
                    .and_then(|t| t.column_type(&o.column).cloned())
            });
        let ty = declared
            .or_else(|| McType::from_pg(&c.ty))
            .ok_or_else(|| {
                TaskFailure(format!(
                    "ODPS-0130071:[1,1] Semantic analysis exception - result column {} has a type the emulator cannot return ({})",
                    c.name, c.ty
                ))
            })?;
        result_columns.push(ResultColumn {
            name: c.name.clone(),
            ty,
        });
    }
    let mut typed_rows = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut row = Vec::with_capacity(columns.len());
        for (i, col) in result_columns.iter().enumerate() {
            let raw = value::cell(r, i).map_err(|e| pg_failure(&e))?;
            let v = value::shape(&col.ty, raw)
                .map_err(|e| TaskFailure(format!("ODPS-0010000:System internal error - {e}")))?;
            row.push(v);
        }
        typed_rows.push(row);
    }
    Ok(ResultSet {
        columns: result_columns,
        rows: typed_rows,
    })
}

/// Estimate a query's cost: the bytes of every table scan, bounded by the
/// partitions its `WHERE` pins (see `prune.rs`), as the `SQLCost` JSON.
pub async fn estimate(
    store: &Store,
    catalog: &Catalog,
    task: &Task<'_>,
) -> Result<String, TaskFailure> {
    let translated = translate(store, catalog, task).await?;
    let mut input: i64 = 0;
    for scan in &translated.scans {
        input += store
            .scan_bytes(&scan.table, &scan.predicates)
            .await
            .map_err(|e| pg_failure(&e))?;
    }
    Ok(
        json!({"Cost": {"SQL": {"Input": input.to_string(), "UDF": "0", "Complexity": "1.0"}}})
            .to_string(),
    )
}

async fn translate(
    store: &Store,
    catalog: &Catalog,
    task: &Task<'_>,
) -> Result<sql::Translated, TaskFailure> {
    let (statement, ctx) = sql::parse(task.query, task.project, task.settings)?;
    let ctx = &ctx;
    let mut max_pts = HashMap::new();
    for arg in sql::max_pt_tables(&statement) {
        let parts: Vec<String> = arg.split('.').map(String::from).collect();
        let table = sql::resolve(&parts, ctx).and_then(|id| catalog.tables.get(&id));
        let Some(table) = table else {
            return Err(TaskFailure(format!(
                "ODPS-0130131:[1,1] Table not found - table {arg} cannot be resolved"
            )));
        };
        let Some(first) = table.spec.partition_keys.first() else {
            return Err(TaskFailure(format!(
                "ODPS-0130071:[1,1] Semantic analysis exception - max_pt: table {arg} is not partitioned"
            )));
        };
        if let Some(v) = store
            .max_first_partition(&table.spec.id, &first.name)
            .await
            .map_err(|e| pg_failure(&e))?
        {
            max_pts.insert(arg, v);
        }
    }
    sql::translate(statement, ctx, catalog, &max_pts)
}

/// A PostgreSQL error as the task failure MaxCompute would report.
fn pg_failure(e: &tokio_postgres::Error) -> TaskFailure {
    let Some(db) = e.as_db_error() else {
        return TaskFailure(format!("ODPS-0010000:System internal error - {e}"));
    };
    let msg = db.message();
    let code = db.code();
    // The name PostgreSQL quotes (`column "x" does not exist`) or puts
    // before the argument list (`function f(bigint) does not exist`).
    let quoted = msg.split('"').nth(1);
    let called = msg
        .strip_prefix("function ")
        .and_then(|m| m.split('(').next());
    TaskFailure(if *code == SqlState::UNDEFINED_FUNCTION {
        let name = called.unwrap_or(msg);
        format!("ODPS-0130071:[1,1] Semantic analysis exception - function or view '{name}' cannot be resolved")
    } else if *code == SqlState::UNDEFINED_COLUMN {
        let name = quoted.unwrap_or(msg);
        format!("ODPS-0130071:[1,1] Semantic analysis exception - column {name} cannot be resolved")
    } else if *code == SqlState::SYNTAX_ERROR {
        format!("ODPS-0130161:[1,1] Parse exception - {msg}")
    } else if code.code().starts_with("42") {
        format!("ODPS-0130071:[1,1] Semantic analysis exception - {msg}")
    } else {
        format!("ODPS-0123131:User defined function exception - runtime error: {msg}")
    })
}

/// The `?result` CSV: a header row of names, `\N` for NULL, text quoted.
pub fn to_csv(result: &ResultSet) -> String {
    let mut out = String::new();
    let header: Vec<String> = result.columns.iter().map(|c| quote(&c.name)).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for row in &result.rows {
        let cells: Vec<String> = result
            .columns
            .iter()
            .zip(row)
            .map(|(c, v)| match v.csv_text() {
                None => "\\N".to_string(),
                Some(t) if is_textual(&c.ty) => quote(&t),
                Some(t) => t,
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn is_textual(ty: &McType) -> bool {
    matches!(
        ty,
        McType::String
            | McType::Varchar(_)
            | McType::Char(_)
            | McType::Binary
            | McType::Array(_)
            | McType::Map(..)
            | McType::Struct(_)
    )
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}
