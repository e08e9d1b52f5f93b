//! SQL instances: create (run the task in the background), status views
//! (`bare`, `?instancestatus`, `?taskstatus`, `?source`, `?result`),
//! terminate, and the tunnel download sessions of a finished instance.
//!
//! It does not parse SQL or encode records (`exec.rs`, `tunnel.rs`). The
//! one idea: an instance is `Running` until its task settles or a client
//! terminates it, and whichever comes first wins, so a terminate that
//! races a finishing query is still seen as a cancellation.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::body::Body;
use axum::http::Response;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::exec::{self, ResultSet};
use super::job::{Job, TaskKind};
use super::reply::{cdata, esc, rfc1123, set_header, xml, OdpsError};
use super::JobTime;
use super::{lock, Shared};

/// The `?result` CSV holds at most this many rows (the service's
/// `READ_TABLE_MAX_ROW` cap).
const RESULT_ROW_CAP: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskStatus {
    Running,
    Success,
    Failed,
    Cancelled,
}

impl TaskStatus {
    fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Running => "Running",
            TaskStatus::Success => "Success",
            TaskStatus::Failed => "Failed",
            TaskStatus::Cancelled => "Cancelled",
        }
    }
}

#[derive(Debug, Clone)]
enum Output {
    None,
    Rows(Arc<ResultSet>),
    Text(String),
}

#[derive(Debug)]
struct Instance {
    id: String,
    project: String,
    job: Job,
    task: TaskStatus,
    output: Output,
    start: i64,
    end: Option<i64>,
    terminate_requested: bool,
    downloads: BTreeSet<String>,
    mode: Mode,
}

/// How an instance was submitted and where it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// An offline job on `/projects/{p}/instances`.
    Offline,
    /// A MaxQA job on `/mcqa/projects/{p}/instances`, on this quota, with
    /// the query cookie its answers carry.
    Maxqa {
        /// The interactive quota.
        quota: String,
        /// The `x-odps-mcqa-query-cookie` value.
        cookie: String,
    },
    /// Submitted to MaxQA, which could not run it; the service ran it
    /// offline on the fallback quota (empty: the project's default).
    FellBack {
        /// `FallbackQuota` of the `x-odps-fallback-infos` header.
        quota: String,
    },
}

/// What tests can see of an instance.
#[derive(Debug, Clone)]
pub struct InstanceRecord {
    /// Instance id.
    pub id: String,
    /// Project.
    pub project: String,
    /// `SQL` or `SQLCost`.
    pub task_type: String,
    /// Task name.
    pub task_name: String,
    /// The SQL as sent.
    pub query: String,
    /// The decoded `settings` the client sent.
    pub settings: BTreeMap<String, String>,
    /// `Running` or `Terminated`.
    pub status: String,
    /// `Running`, `Success`, `Failed` or `Cancelled`.
    pub task_status: String,
    /// A client sent a terminate request.
    pub terminate_requested: bool,
    /// The failure text, for a failed task.
    pub failure: Option<String>,
    /// How it was submitted and ran.
    pub mode: Mode,
}

/// All instances of one emulator.
#[derive(Debug, Default)]
pub struct Instances {
    map: HashMap<String, Instance>,
    order: Vec<String>,
}

impl Instances {
    /// Records in creation order.
    pub fn records(&self) -> Vec<InstanceRecord> {
        self.order
            .iter()
            .filter_map(|id| self.map.get(id))
            .map(|i| InstanceRecord {
                id: i.id.clone(),
                project: i.project.clone(),
                task_type: i.job.kind.as_str().into(),
                task_name: i.job.task_name.clone(),
                query: i.job.query.clone(),
                settings: i.job.settings.clone(),
                status: instance_status(i).into(),
                task_status: i.task.as_str().into(),
                terminate_requested: i.terminate_requested,
                failure: match (&i.output, i.task) {
                    (Output::Text(t), TaskStatus::Failed) => Some(t.clone()),
                    _ => None,
                },
                mode: i.mode.clone(),
            })
            .collect()
    }
}

fn instance_status(i: &Instance) -> &'static str {
    if i.task == TaskStatus::Running {
        "Running"
    } else {
        "Terminated"
    }
}

/// Characters XML 1.0 allows in text.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c >= ' '
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn new_id(maxqa: bool) -> String {
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S%3f");
    let tail = uuid::Uuid::new_v4().simple().to_string();
    // MaxQA ids end in `_mcqa`; the SDKs route by that suffix.
    let suffix = if maxqa { "_mcqa" } else { "" };
    format!("{stamp}g{}{suffix}", &tail[..10])
}

/// Whether instance `id` is still running (unknown ids are not).
pub fn is_running(shared: &Shared, id: &str) -> bool {
    lock(&shared.instances)
        .map
        .get(id)
        .is_some_and(|i| i.task == TaskStatus::Running)
}

/// `POST /projects/{p}/instances` (or `/mcqa/…`): record the job, start
/// its task, answer 201 with `Location` (and the query cookie for MaxQA).
/// `failure`, when given, fails the task at once with that text.
pub fn create(
    shared: &Arc<Shared>,
    project: &str,
    job: Job,
    mode: Mode,
    failure: Option<String>,
) -> Response<Body> {
    let maxqa = matches!(mode, Mode::Maxqa { .. });
    let id = new_id(maxqa);
    let time = if maxqa {
        shared.config.maxqa_job
    } else {
        shared.config.offline_job
    };
    let cookie = match &mode {
        Mode::Maxqa { cookie, .. } => Some(cookie.clone()),
        _ => None,
    };
    let instance = Instance {
        id: id.clone(),
        project: project.into(),
        job: job.clone(),
        task: TaskStatus::Running,
        output: Output::None,
        start: now(),
        end: None,
        terminate_requested: false,
        downloads: BTreeSet::new(),
        mode,
    };
    {
        let mut all = lock(&shared.instances);
        all.map.insert(id.clone(), instance);
        all.order.push(id.clone());
    }
    if let Some(failure) = failure.or_else(|| shared.faults.take_task_failure()) {
        settle(shared, &id, TaskStatus::Failed, Output::Text(failure));
    } else if !shared.faults.hangs() {
        let shared = shared.clone();
        let project = project.to_string();
        let run_id = id.clone();
        tokio::spawn(async move { run(shared, project, run_id, job, time).await });
    }
    let mut resp = super::reply::respond(201, "application/xml", Vec::new());
    let plane = if maxqa { "/mcqa" } else { "" };
    let location = format!(
        "http://{}/api{plane}/projects/{project}/instances/{id}",
        shared.addr
    );
    set_header(&mut resp, "location", &location);
    if let Some(cookie) = cookie {
        set_header(&mut resp, "x-odps-mcqa-query-cookie", &cookie);
    }
    resp
}

async fn run(shared: Arc<Shared>, project: String, id: String, job: Job, time: JobTime) {
    let settles_at = tokio::time::Instant::now() + time.total();
    let task = exec::Task {
        project: &project,
        settings: &job.settings,
        query: &job.query,
    };
    // A snapshot: tables created while the query runs are not seen, as on
    // the real service where compilation fixes the plan.
    let catalog = lock(&shared.catalog).clone();
    let (status, output) = match job.kind {
        TaskKind::Sql => match exec::run_query(&shared.store, &catalog, &task).await {
            Ok(rows) => (TaskStatus::Success, Output::Rows(Arc::new(rows))),
            Err(f) => (TaskStatus::Failed, Output::Text(f.0)),
        },
        TaskKind::SqlCost => match exec::estimate(&shared.store, &catalog, &task).await {
            Ok(json) => (TaskStatus::Success, Output::Text(json)),
            Err(f) => (TaskStatus::Failed, Output::Text(f.0)),
        },
    };
    tokio::time::sleep_until(settles_at).await;
    settle(&shared, &id, status, output);
}

/// Finish a task unless a terminate got there first.
fn settle(shared: &Shared, id: &str, status: TaskStatus, output: Output) {
    {
        let mut all = lock(&shared.instances);
        if let Some(i) = all.map.get_mut(id) {
            if i.task == TaskStatus::Running {
                i.task = status;
                i.output = output;
                i.end = Some(now());
            }
        }
    }
    shared.changed.notify_waiters();
}

/// The instance `id` of `project` (an id under another project is not
/// found, as on the service).
fn find<'a>(all: &'a Instances, project: &str, id: &str) -> Result<&'a Instance, OdpsError> {
    all.map
        .get(id)
        .filter(|i| i.project.eq_ignore_ascii_case(project))
        .ok_or_else(|| not_found(id))
}

fn find_mut<'a>(
    all: &'a mut Instances,
    project: &str,
    id: &str,
) -> Result<&'a mut Instance, OdpsError> {
    all.map
        .get_mut(id)
        .filter(|i| i.project.eq_ignore_ascii_case(project))
        .ok_or_else(|| not_found(id))
}

fn not_found(id: &str) -> OdpsError {
    OdpsError::not_found(format!(
        "ODPS-0420111:Instance not found - instance {id} does not exist"
    ))
}

/// `PUT /projects/{p}/instances/{id}` with `<Status>Terminated</Status>`.
pub fn terminate(
    shared: &Shared,
    project: &str,
    id: &str,
    body: &str,
    plane: Plane<'_>,
) -> Result<Response<Body>, OdpsError> {
    if super::job::requested_status(body).as_deref() != Some("Terminated") {
        return Err(OdpsError::new(
            400,
            "InvalidStateSetting",
            "ODPS-0420031:Invalid state setting - only Terminated can be set",
        ));
    }
    {
        let mut all = lock(&shared.instances);
        let i = find_mut(&mut all, project, id)?;
        check_plane(i, plane)?;
        i.terminate_requested = true;
        if i.task == TaskStatus::Running {
            i.task = TaskStatus::Cancelled;
            i.output = Output::Text("ODPS-0110999:Instance has been terminated by user".into());
            i.end = Some(now());
        }
    }
    shared.changed.notify_waiters();
    Ok(super::reply::respond(200, "application/xml", Vec::new()))
}

/// The plane a view was asked on, with what MaxQA calls carry.
#[derive(Debug, Clone, Copy)]
pub enum Plane<'a> {
    /// `/projects/{p}/instances/{id}`.
    Offline,
    /// `/mcqa/projects/{p}/instances/{id}`, with the request's
    /// `x-odps-mcqa-query-cookie`, if any.
    Maxqa {
        /// The cookie the client echoed.
        cookie: Option<&'a str>,
    },
}

/// Check that a `/mcqa` call names a MaxQA instance and echoes its cookie.
fn check_plane(i: &Instance, plane: Plane<'_>) -> Result<(), OdpsError> {
    let Plane::Maxqa { cookie } = plane else {
        return Ok(());
    };
    match &i.mode {
        Mode::Maxqa { cookie: expected, .. } if cookie == Some(expected.as_str()) => Ok(()),
        Mode::Maxqa { .. } => Err(OdpsError::new(
            400,
            "InvalidParameter",
            "ODPS-0420031:Invalid parameter - x-odps-mcqa-query-cookie is missing or does not belong to this query",
        )),
        // A job the service ran offline instead is still served on `/mcqa`
        // (pyodps keeps polling there).
        Mode::FellBack { .. } => Ok(()),
        Mode::Offline => Err(not_found(&i.id)),
    }
}

/// The `<Task>` of a finished instance with its result: `descriptor`
/// adds the MaxQA `ResultDescriptor` (types, and `TRUNCATED` past
/// `inline_rows`).
fn task_result_xml(i: &Instance, descriptor: bool, inline_rows: usize) -> String {
    let kind = i.job.kind.as_str();
    let cap = if descriptor {
        inline_rows
    } else {
        RESULT_ROW_CAP
    };
    let mut descriptor_xml = String::new();
    let (format, text) = match &i.output {
        Output::None => ("text", String::new()),
        Output::Text(t) => ("text", t.clone()),
        Output::Rows(rows) => {
            let capped = ResultSet {
                columns: rows.columns.clone(),
                rows: rows.rows.iter().take(cap).cloned().collect(),
            };
            if descriptor {
                let status = if rows.rows.len() > cap {
                    "TRUNCATED"
                } else {
                    "FULL"
                };
                let columns: Vec<serde_json::Value> = rows
                    .columns
                    .iter()
                    .map(|c| serde_json::json!({"Name": c.name, "Type": c.ty.to_string()}))
                    .collect();
                let json = serde_json::json!({
                    "IsSelect": true,
                    "SelectResultStatus": status,
                    "Schema": {"Columns": columns},
                });
                descriptor_xml = format!(
                    "<ResultDescriptor>{}</ResultDescriptor>",
                    cdata(&json.to_string())
                );
            }
            ("csv", exec::to_csv(&capped))
        }
    };
    // Text XML cannot carry (control characters) goes base64-encoded,
    // which the protocol marks with `Transform="Base64"`.
    let (transform, payload) = if text.chars().all(xml_char) {
        ("", cdata(&text))
    } else {
        (" Transform=\"Base64\"", BASE64.encode(text.as_bytes()))
    };
    format!(
        "<Task Type=\"{kind}\"><Name>{}</Name><Result Format=\"{format}\"{transform}>{payload}</Result><Status>{}</Status>{descriptor_xml}</Task>",
        esc(&i.job.task_name),
        i.task.as_str()
    )
}

/// The read-only views of an instance, chosen by query flag.
pub fn view(
    shared: &Shared,
    project: &str,
    id: &str,
    params: &BTreeMap<String, String>,
    plane: Plane<'_>,
) -> Result<Response<Body>, OdpsError> {
    let all = lock(&shared.instances);
    let i = find(&all, project, id)?;
    check_plane(i, plane)?;
    let maxqa = matches!(plane, Plane::Maxqa { .. });
    let inline_rows = shared.config.mcqa_inline_rows;
    let kind = i.job.kind.as_str();
    let body = if params.contains_key("source") {
        super::job::render(&i.job)
    } else if params.contains_key("taskstatus") {
        format!(
            "<Instance><Status>{}</Status><Tasks><Task Type=\"{kind}\"><Name>{}</Name><StartTime>{}</StartTime><EndTime>{}</EndTime><Status>{}</Status><Histories/></Task></Tasks></Instance>",
            instance_status(i),
            esc(&i.job.task_name),
            rfc1123(i.start),
            i.end.map(rfc1123).unwrap_or_default(),
            i.task.as_str()
        )
    } else if params.contains_key("result") {
        format!(
            "<Instance><Tasks>{}</Tasks></Instance>",
            task_result_xml(i, maxqa, inline_rows)
        )
    } else if maxqa && params.contains_key("instancestatus") && i.task != TaskStatus::Running {
        // A MaxQA status answer carries the result once the job ended.
        format!(
            "<Instance><Name>{}</Name><Owner>{}</Owner><StartTime>{}</StartTime><EndTime>{}</EndTime><Status>{}</Status><Tasks>{}</Tasks></Instance>",
            esc(&i.id),
            esc(&shared.config.owner),
            rfc1123(i.start),
            i.end.map(rfc1123).unwrap_or_default(),
            instance_status(i),
            task_result_xml(i, true, inline_rows)
        )
    } else {
        format!(
            "<Instance><Name>{}</Name><Owner>{}</Owner><StartTime>{}</StartTime><EndTime>{}</EndTime><Status>{}</Status></Instance>",
            esc(&i.id),
            esc(&shared.config.owner),
            rfc1123(i.start),
            i.end.map(rfc1123).unwrap_or_default(),
            instance_status(i)
        )
    };
    let mut resp = xml(body);
    set_header(&mut resp, "x-odps-owner", &shared.config.owner);
    set_header(&mut resp, "x-odps-start-time", &rfc1123(i.start));
    if let Some(end) = i.end {
        set_header(&mut resp, "x-odps-end-time", &rfc1123(end));
    }
    if let (true, Mode::Maxqa { cookie, .. }) = (maxqa, &i.mode) {
        set_header(&mut resp, "x-odps-mcqa-query-cookie", cookie);
    }
    Ok(resp)
}

/// A finished SQL instance's rows, for the tunnel.
fn rows_of(i: &Instance) -> Result<Arc<ResultSet>, OdpsError> {
    if i.task == TaskStatus::Running {
        return Err(OdpsError::new(
            400,
            "InstanceNotTerminate",
            format!(
                "ODPS-0420031:Instance not terminated - instance {} is still running",
                i.id
            ),
        ));
    }
    match &i.output {
        Output::Rows(rows) => Ok(rows.clone()),
        _ => Err(OdpsError::invalid(format!(
            "ODPS-0420031:Invalid argument - instance {} has no select result",
            i.id
        ))),
    }
}

/// Tunnel `POST …/instances/{id}?downloads`: open a download session.
pub fn open_download(
    shared: &Shared,
    project: &str,
    id: &str,
) -> Result<(String, Arc<ResultSet>), OdpsError> {
    if shared.faults.downloads_refused() {
        return Err(OdpsError::invalid(
            "ODPS-0420031:Invalid argument - the instance tunnel cannot serve this instance",
        ));
    }
    if !shared.faults.take_tunnel_session() {
        // The service allows 200 download sessions per project per 5
        // minutes; the code here is the emulator's (the real one is
        // unconfirmed), HTTP 429 without `Retry-After`.
        return Err(OdpsError::new(
            429,
            "DownloadSessionLimitExceeded",
            "ODPS-0420061:Request rejected - the project opened too many instance tunnel download sessions in the last 5 minutes",
        ));
    }
    let mut all = lock(&shared.instances);
    let i = find_mut(&mut all, project, id)?;
    let rows = rows_of(i)?;
    let download_id = uuid::Uuid::new_v4().simple().to_string();
    i.downloads.insert(download_id.clone());
    Ok((download_id, rows))
}

/// Tunnel `GET …?downloadid=…`: the session's rows.
pub fn download(
    shared: &Shared,
    project: &str,
    id: &str,
    download_id: &str,
) -> Result<Arc<ResultSet>, OdpsError> {
    let all = lock(&shared.instances);
    let i = find(&all, project, id)?;
    if !i.downloads.contains(download_id) {
        return Err(OdpsError::not_found(format!(
            "ODPS-0420111:Download session not found - {download_id}"
        )));
    }
    rows_of(i)
}
