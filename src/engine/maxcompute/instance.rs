//! SQL instances: create a `SQL` or `SQLCost` task (offline, or on
//! MaxQA's `/mcqa` resource), wait for it with long polls of
//! `?instancestatus`, read its `?result`, terminate it
//! (docs/maxcompute-rest.md §4.1–4.4, §4.6; docs/maxcompute-maxqa.md §2, §4).
//!
//! The settings a job carries are built here and only here: the
//! connection's `settings` from connections.yaml, the schema settings a
//! 3-tier project needs, and on top, always, `odps.sql.read.only=true` and
//! `odps.sql.allow.fullscan=false`. Nothing the agent sends can reach them:
//! the SQL text goes in `<Query>`, and the gate has refused `SET`.
//! Deadlines and cancellation are the caller's; this module polls until the
//! instance ends. A MaxQA instance (id ending in `_mcqa`) is addressed
//! under `/mcqa`, and every call on it carries the connection header and
//! the latest query cookie.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;

use crate::engine::{Progress, ProgressSink};

use super::client::{Answer, Call, Plane, RestClient};
use super::endpoint::Resource;
use super::error::McError;
use super::job_sql::JobSql;

/// Settings forced on every job, after the connection's own.
pub(crate) const FORCED_SETTINGS: [(&str, &str); 2] = [
    ("odps.sql.read.only", "true"),
    ("odps.sql.allow.fullscan", "false"),
];

/// A status answer that took at least this long was held by the server
/// (a long poll); the next poll may follow almost at once.
const HELD: Duration = Duration::from_millis(500);
/// Gap after a held answer, as the Java SDK's `waitForTerminated(100, …)`.
const HELD_GAP: Duration = Duration::from_millis(100);
/// First gap after an answer the server did not hold; doubled up to
/// [`MAX_GAP`], so a server that never holds is not asked ten times a
/// second.
const FIRST_GAP: Duration = Duration::from_millis(100);
/// Longest gap between two polls of a server that does not hold.
const MAX_GAP: Duration = Duration::from_secs(2);
/// The MaxQA connection header (signed).
pub(crate) const CONN_HEADER: &str = "x-odps-mcqa-conn";
/// The MaxQA query cookie, echoed on every call about one query.
pub(crate) const COOKIE_HEADER: &str = "x-odps-mcqa-query-cookie";
/// The server-side fallback header.
pub(crate) const FALLBACK_HEADER: &str = "x-odps-fallback-infos";
/// The suffix of MaxQA instance ids; the SDKs route by it.
const MAXQA_SUFFIX: &str = "_mcqa";

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

/// Where a job is submitted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Submit<'a> {
    /// `/projects/{p}/instances`.
    Offline,
    /// `/mcqa/projects/{p}/instances` with the connection value, and the
    /// fallback header's JSON when the service may run it offline.
    Maxqa {
        /// `x-odps-mcqa-conn`.
        conn: &'a str,
        /// `x-odps-fallback-infos`.
        fallback: Option<&'a str>,
    },
}

/// A created instance, and what every later call about it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstanceRef {
    /// Instance id.
    pub(crate) id: String,
    /// For a MaxQA instance: the connection value and the latest cookie.
    maxqa: Option<(String, Option<String>)>,
}

impl InstanceRef {
    /// Whether MaxQA runs it (a MaxQA submission the service ran offline
    /// instead gets an ordinary id).
    pub(crate) fn is_maxqa(&self) -> bool {
        self.maxqa.is_some()
    }

    fn resource(&self, client: &RestClient) -> Resource {
        let path = ["projects", client.project(), "instances", &self.id];
        match self.maxqa {
            Some(_) => Resource::new(std::iter::once("mcqa").chain(path)),
            None => Resource::new(path),
        }
    }

    fn call(&self, call: Call) -> Call {
        match &self.maxqa {
            Some((conn, cookie)) => {
                let call = call.header(CONN_HEADER, conn);
                match cookie {
                    Some(cookie) => call.header(COOKIE_HEADER, cookie),
                    None => call,
                }
            }
            None => call,
        }
    }

    fn get(&self, client: &RestClient, flag: &str) -> Call {
        self.call(Call::get(self.resource(client).flag(flag)))
    }

    /// Keep a newer cookie when an answer carries one.
    fn note_cookie(&mut self, answer: &Answer) {
        if let (Some((_, cookie)), Some(new)) = (self.maxqa.as_mut(), answer.header(COOKIE_HEADER))
        {
            *cookie = Some(new.to_owned());
        }
    }
}

/// What creating a job gave.
#[derive(Debug)]
pub(crate) struct Created {
    /// The instance.
    pub(crate) instance: InstanceRef,
    /// The task's outcome, when the service answered with a finished
    /// ("sync") instance.
    pub(crate) finished: Option<TaskOutcome>,
}

/// Create a job. A 201 names the instance in `Location` (and, on MaxQA,
/// sets the query cookie); a 200 carries the finished instance's results.
pub(crate) async fn create(
    client: &RestClient,
    submit: Submit<'_>,
    body: String,
) -> Result<Created, McError> {
    let mut segments = vec!["projects", client.project(), "instances"];
    let mut call_headers = Vec::new();
    if let Submit::Maxqa { conn, fallback } = submit {
        segments.insert(0, "mcqa");
        call_headers.push((CONN_HEADER, conn));
        if let Some(fallback) = fallback {
            call_headers.push((FALLBACK_HEADER, fallback));
        }
    }
    let mut call = Call::new(Method::POST, Resource::new(segments), Some(body));
    for (name, value) in call_headers {
        call = call.header(name, value);
    }
    let answer = client.answer(Plane::Service, &call).await?;
    let id = answer
        .header(reqwest::header::LOCATION.as_str())
        .unwrap_or_default()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| McError::Protocol("instance created without a Location header".into()))?;
    let maxqa = match submit {
        Submit::Maxqa { conn, .. } if id.ends_with(MAXQA_SUFFIX) => Some((
            conn.to_owned(),
            answer.header(COOKIE_HEADER).map(str::to_owned),
        )),
        _ => None,
    };
    let finished = if answer.status == 200 && !answer.body.trim().is_empty() {
        first_task(&answer.body)?
    } else {
        None
    };
    Ok(Created {
        instance: InstanceRef { id, maxqa },
        finished,
    })
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
    #[serde(rename = "ResultDescriptor", default)]
    descriptor: Option<String>,
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

fn parse_doc(body: &str, what: &str) -> Result<StatusDoc, McError> {
    quick_xml::de::from_str(body).map_err(|e| McError::Protocol(format!("{what}: {e}")))
}

fn parse_state(body: &str) -> Result<InstanceState, McError> {
    let doc = parse_doc(body, "instance status")?;
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

/// One task's status and result, as `?result` (and a finished MaxQA
/// status answer) report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskOutcome {
    /// `Success`, `Failed`, `Cancelled`, …
    pub(crate) status: String,
    /// The result payload, when there is one.
    pub(crate) result: Option<TaskResult>,
    /// The MaxQA `ResultDescriptor` JSON, when there is one.
    pub(crate) descriptor: Option<String>,
}

impl TaskOutcome {
    /// The outcome as rows, or the task's failure.
    pub(crate) fn succeeded(self, instance_id: &str) -> Result<Self, McError> {
        if self.status.eq_ignore_ascii_case("success") {
            return Ok(self);
        }
        let message = self
            .result
            .map(|r| r.text)
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| format!("task status {}", self.status));
        Err(McError::TaskFailed {
            message,
            instance_id: instance_id.to_owned(),
        })
    }
}

/// The first task of a status or result document that reports a status.
fn first_task(body: &str) -> Result<Option<TaskOutcome>, McError> {
    let doc = parse_doc(body, "instance result")?;
    Ok(doc
        .tasks
        .unwrap_or_default()
        .task
        .into_iter()
        .find(|t| t.status.is_some() || t.result.is_some())
        .map(|t| TaskOutcome {
            status: t.status.unwrap_or_default().trim().to_owned(),
            result: t.result.map(|r| TaskResult {
                format: r.format.unwrap_or_default().to_ascii_lowercase(),
                base64: r
                    .transform
                    .is_some_and(|t| t.eq_ignore_ascii_case("base64")),
                text: r.text,
            }),
            descriptor: t.descriptor.filter(|d| !d.trim().is_empty()),
        }))
}

/// Wait until the instance terminates, with long polls of
/// `?instancestatus` (the server holds them while the job runs and answers
/// when it ends). Returns the task outcome when the final answer carries
/// it (MaxQA does). Progress goes to `sink`, one report right away and one
/// per answer while the job runs.
pub(crate) async fn wait(
    client: &RestClient,
    instance: &mut InstanceRef,
    sink: Option<&ProgressSink>,
    budget: Duration,
) -> Result<Option<TaskOutcome>, McError> {
    let started = Instant::now();
    let id = instance.id.clone();
    let report = |status: &str| {
        if let Some(sink) = sink {
            let elapsed = started.elapsed().as_secs_f64();
            sink(Progress {
                done: elapsed,
                total: Some(budget.as_secs_f64()),
                message: format!(
                    "MaxCompute instance {id}: {} ({elapsed:.0} s)",
                    status.to_ascii_lowercase()
                ),
            });
        }
    };
    report("submitted");
    let mut gap = FIRST_GAP;
    loop {
        let asked = Instant::now();
        let answer = client
            .answer(Plane::Service, &instance.get(client, "instancestatus"))
            .await?;
        instance.note_cookie(&answer);
        let doc = parse_doc(&answer.body, "instance status")?;
        let status = doc.status.as_deref().unwrap_or_default().trim().to_owned();
        if status.eq_ignore_ascii_case("terminated") {
            return first_task(&answer.body);
        }
        report(&status);
        if asked.elapsed() >= HELD {
            tokio::time::sleep(HELD_GAP).await;
        } else {
            tokio::time::sleep(gap).await;
            gap = (gap * 2).min(MAX_GAP);
        }
    }
}

/// The task states of a finished instance (`?taskstatus`); a failed task
/// becomes [`McError::TaskFailed`] with its result text.
pub(crate) async fn check_success(
    client: &RestClient,
    instance: &mut InstanceRef,
) -> Result<(), McError> {
    let answer = client
        .answer(Plane::Service, &instance.get(client, "taskstatus"))
        .await?;
    instance.note_cookie(&answer);
    let state = parse_state(&answer.body)?;
    if state.terminated() && !state.failed() {
        return Ok(());
    }
    let outcome = result(client, instance).await?;
    outcome.succeeded(&instance.id).map(drop)
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

/// Read the first task's status and result (`?result`).
pub(crate) async fn result(
    client: &RestClient,
    instance: &mut InstanceRef,
) -> Result<TaskOutcome, McError> {
    let answer = client
        .answer(Plane::Service, &instance.get(client, "result"))
        .await?;
    instance.note_cookie(&answer);
    first_task(&answer.body)?
        .ok_or_else(|| McError::Protocol("instance result has no task result".into()))
}

/// Ask MaxCompute to stop an instance (asynchronous on the server).
pub(crate) async fn terminate(client: &RestClient, instance: &InstanceRef) -> Result<(), McError> {
    let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Instance><Status>Terminated</Status></Instance>";
    let call = instance.call(Call::new(
        Method::PUT,
        instance.resource(client),
        Some(body.into()),
    ));
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
