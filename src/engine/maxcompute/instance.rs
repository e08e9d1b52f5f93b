//! SQL instances: create a `SQL` or `SQLCost` task, poll it with backoff,
//! read its `?result`, terminate it (docs/maxcompute-rest.md §4.1–4.4, §4.6).
//!
//! The settings a job carries are built here and only here: the
//! connection's `settings` from connections.yaml, the schema settings a
//! 3-tier project needs, and on top, always, `odps.sql.read.only=true` and
//! `odps.sql.allow.fullscan=false`. Nothing the agent sends can reach them:
//! the SQL text goes in `<Query>`, and the gate has refused `SET`.
//! Deadlines and cancellation are the caller's; this module polls until the
//! instance ends.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;

use crate::engine::{Progress, ProgressSink};

use super::client::{Call, Plane, RestClient};
use super::endpoint::Resource;
use super::error::McError;
use super::job_sql::JobSql;

/// Settings forced on every job, after the connection's own.
pub(crate) const FORCED_SETTINGS: [(&str, &str); 2] = [
    ("odps.sql.read.only", "true"),
    ("odps.sql.allow.fullscan", "false"),
];

/// First wait between two status polls: short, because a small query may
/// finish within milliseconds of its first status check and a fixed longer
/// wait would dominate the call; doubling ([`POLL_GROWTH`]) keeps the number
/// of polls of a long job close to what a longer first wait gives.
const FIRST_POLL: Duration = Duration::from_millis(1);
/// Factor by which the wait between polls grows.
const POLL_GROWTH: f64 = 2.0;
/// Longest wait between two polls: long jobs do not need finer progress, and
/// each poll costs a request against the project's QPS quota.
const MAX_POLL: Duration = Duration::from_secs(3);

/// Which task a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskKind {
    /// Run the query.
    Sql,
    /// Estimate the query's cost without running it.
    SqlCost,
}

impl TaskKind {
    fn element(self) -> &'static str {
        match self {
            Self::Sql => "SQL",
            Self::SqlCost => "SQLCost",
        }
    }

    fn task_name(self) -> &'static str {
        match self {
            Self::Sql => "AnonymousSQLTask",
            Self::SqlCost => "AnonymousSQLCostTask",
        }
    }
}

/// The settings of one job: the connection's own `settings`, the schema
/// settings, and the forced ones last (so nothing can override them).
///
/// `odps.default.schema` is sent when the connection names a schema. The
/// two namespace switches are sent only when the query names a table as
/// `project.schema.table` (`namespace`): with them on, MaxCompute reads a
/// two-part `a.b` as `schema.table`, which would misread `project.table`.
pub(crate) fn job_settings(
    connection: &BTreeMap<String, String>,
    schema: Option<&str>,
    namespace: bool,
) -> BTreeMap<String, String> {
    let mut settings = connection.clone();
    if namespace {
        // pyodps sends these for SQL in a schema context (§1.3).
        settings.insert("odps.sql.allow.namespace.schema".into(), "true".into());
        settings.insert("odps.namespace.schema".into(), "true".into());
    }
    if let Some(schema) = schema {
        settings.insert("odps.default.schema".into(), schema.into());
    }
    for (key, value) in FORCED_SETTINGS {
        settings.insert(key.into(), value.into());
    }
    settings
}

/// The `<Instance>` document that creates a job.
pub(crate) fn job_xml(
    kind: TaskKind,
    sql: &JobSql<'_>,
    settings: &BTreeMap<String, String>,
) -> String {
    // A BTreeMap of strings always serialises.
    let settings_json = serde_json::to_string(settings).unwrap_or_else(|_| "{}".into());
    let query = format!("{};", sql.text().trim().trim_end_matches(';').trim_end());
    let esc = |text: &str| quick_xml::escape::escape(text).into_owned();
    format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Instance><Job><Priority>9</Priority><Tasks>",
            "<{el}><Name>{name}</Name><Config>",
            "<Property><Name>settings</Name><Value>{settings}</Value></Property>",
            "<Property><Name>uuid</Name><Value>{uuid}</Value></Property>",
            "</Config><Query>{query}</Query></{el}>",
            "</Tasks><DAG><RunMode>Sequence</RunMode></DAG></Job></Instance>"
        ),
        el = kind.element(),
        name = kind.task_name(),
        settings = esc(&settings_json),
        uuid = uuid::Uuid::new_v4(),
        query = esc(&query),
    )
}

fn instance_resource(client: &RestClient, id: &str) -> Resource {
    Resource::new(["projects", client.project(), "instances", id])
}

/// Create a job; returns the instance id.
pub(crate) async fn create(client: &RestClient, body: String) -> Result<String, McError> {
    let resource = Resource::new(["projects", client.project(), "instances"]);
    let call = Call::new(Method::POST, resource, Some(body));
    let response = client.send(Plane::Service, &call).await?;
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| McError::Protocol("instance created without a Location header".into()))
}

#[derive(Debug, Deserialize)]
struct StatusDoc {
    #[serde(rename = "Status", default)]
    status: Option<String>,
    #[serde(rename = "Tasks", default)]
    tasks: Option<TasksDoc>,
}

#[derive(Debug, Default, Deserialize)]
struct TasksDoc {
    #[serde(rename = "Task", default)]
    task: Vec<TaskDoc>,
}

#[derive(Debug, Deserialize)]
struct TaskDoc {
    #[serde(rename = "Name", default)]
    name: Option<String>,
    #[serde(rename = "Status", default)]
    status: Option<String>,
    #[serde(rename = "Result", default)]
    result: Option<ResultDoc>,
}

#[derive(Debug, Deserialize)]
struct ResultDoc {
    #[serde(rename = "@Format", default)]
    format: Option<String>,
    #[serde(rename = "@Transform", default)]
    transform: Option<String>,
    #[serde(rename = "$text", default)]
    text: String,
}

/// An instance's state, from `?taskstatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstanceState {
    /// `Running`, `Suspended` or `Terminated`.
    pub(crate) status: String,
    /// `(task name, task status)` in order.
    pub(crate) tasks: Vec<(String, String)>,
}

impl InstanceState {
    fn terminated(&self) -> bool {
        self.status.eq_ignore_ascii_case("terminated")
    }

    fn failed(&self) -> bool {
        self.tasks
            .iter()
            .any(|(_, s)| !s.eq_ignore_ascii_case("success"))
    }
}

fn parse_state(body: &str) -> Result<InstanceState, McError> {
    let doc: StatusDoc = quick_xml::de::from_str(body)
        .map_err(|e| McError::Protocol(format!("instance status: {e}")))?;
    Ok(InstanceState {
        status: doc.status.unwrap_or_default().trim().to_owned(),
        tasks: doc
            .tasks
            .unwrap_or_default()
            .task
            .into_iter()
            .map(|t| {
                (
                    t.name.unwrap_or_default(),
                    t.status.unwrap_or_default().trim().to_owned(),
                )
            })
            .collect(),
    })
}

/// Poll until the instance terminates; a failed task becomes
/// [`McError::TaskFailed`] with its result text. Progress goes to `sink`.
pub(crate) async fn wait(
    client: &RestClient,
    id: &str,
    sink: Option<&ProgressSink>,
    budget: Duration,
) -> Result<(), McError> {
    let started = Instant::now();
    let mut delay = FIRST_POLL;
    loop {
        let resource = instance_resource(client, id).flag("taskstatus");
        let state = parse_state(&client.text(Plane::Service, &Call::get(resource)).await?)?;
        if state.terminated() {
            if state.failed() {
                let message = result(client, id).await.map(|r| r.text).unwrap_or_default();
                return Err(McError::TaskFailed {
                    message: if message.is_empty() {
                        format!("task status {:?}", state.tasks)
                    } else {
                        message
                    },
                    instance_id: id.to_owned(),
                });
            }
            return Ok(());
        }
        if let Some(sink) = sink {
            let elapsed = started.elapsed().as_secs_f64();
            sink(Progress {
                done: elapsed,
                total: Some(budget.as_secs_f64()),
                message: format!(
                    "MaxCompute instance {id}: {} ({elapsed:.0} s)",
                    state.status.to_ascii_lowercase()
                ),
            });
        }
        tokio::time::sleep(delay).await;
        delay = delay.mul_f64(POLL_GROWTH).min(MAX_POLL);
    }
}

/// A task's `?result` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskResult {
    /// `csv` for rows, `text` for messages.
    pub(crate) format: String,
    /// Whether the text is base64 (`Transform="Base64"`).
    pub(crate) base64: bool,
    /// The payload.
    pub(crate) text: String,
}

/// Read the first task's `?result`.
pub(crate) async fn result(client: &RestClient, id: &str) -> Result<TaskResult, McError> {
    let resource = instance_resource(client, id).flag("result");
    parse_result(&client.text(Plane::Service, &Call::get(resource)).await?)
}

fn parse_result(body: &str) -> Result<TaskResult, McError> {
    let doc: StatusDoc = quick_xml::de::from_str(body)
        .map_err(|e| McError::Protocol(format!("instance result: {e}")))?;
    let result = doc
        .tasks
        .unwrap_or_default()
        .task
        .into_iter()
        .find_map(|t| t.result)
        .ok_or_else(|| McError::Protocol("instance result has no task result".into()))?;
    Ok(TaskResult {
        format: result.format.unwrap_or_default().to_ascii_lowercase(),
        base64: result
            .transform
            .is_some_and(|t| t.eq_ignore_ascii_case("base64")),
        text: result.text,
    })
}

/// Ask MaxCompute to stop an instance (asynchronous on the server).
pub(crate) async fn terminate(client: &RestClient, id: &str) -> Result<(), McError> {
    let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Instance><Status>Terminated</Status></Instance>";
    let call = Call::new(
        Method::PUT,
        instance_resource(client, id),
        Some(body.into()),
    );
    client.send(Plane::Service, &call).await.map(drop)
}

/// The figures of a `SQLCost` result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqlCost {
    /// Bytes the query would scan.
    pub(crate) input_bytes: u64,
    /// MaxCompute's complexity factor.
    pub(crate) complexity: f64,
    /// UDFs the query calls.
    pub(crate) udf: u64,
}

#[derive(Debug, Deserialize)]
struct CostDoc {
    #[serde(rename = "Cost")]
    cost: CostInner,
}

#[derive(Debug, Deserialize)]
struct CostInner {
    #[serde(rename = "SQL")]
    sql: CostFigures,
}

#[derive(Debug, Deserialize)]
struct CostFigures {
    #[serde(rename = "Input")]
    input: serde_json::Value,
    #[serde(rename = "Complexity", default)]
    complexity: Option<serde_json::Value>,
    #[serde(rename = "UDF", default)]
    udf: Option<serde_json::Value>,
}

/// Parse `{"Cost":{"SQL":{"Input":"1840","UDF":"0","Complexity":"1.0"}}}`
/// (values are strings on the wire; numbers are accepted too).
pub(crate) fn parse_cost(text: &str) -> Result<SqlCost, McError> {
    let doc: CostDoc = serde_json::from_str(text.trim())
        .map_err(|e| McError::Protocol(format!("SQLCost result: {e}")))?;
    let number = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        other => other.as_f64(),
    };
    let input = number(&doc.cost.sql.input)
        .filter(|n| *n >= 0.0)
        .ok_or_else(|| McError::Protocol("SQLCost result has no input size".into()))?;
    Ok(SqlCost {
        input_bytes: input as u64,
        complexity: doc
            .cost
            .sql
            .complexity
            .as_ref()
            .and_then(number)
            .unwrap_or(1.0),
        udf: doc.cost.sql.udf.as_ref().and_then(number).unwrap_or(0.0) as u64,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
