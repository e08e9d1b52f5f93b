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

fn new_id() -> String {
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S%3f");
    let tail = uuid::Uuid::new_v4().simple().to_string();
    format!("{stamp}g{}", &tail[..10])
}

/// `POST /projects/{p}/instances`: record the job, start its task, answer
/// 201 with `Location`.
pub fn create(shared: &Arc<Shared>, project: &str, job: Job) -> Response<Body> {
    let id = new_id();
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
    };
    {
        let mut all = lock(&shared.instances);
        all.map.insert(id.clone(), instance);
        all.order.push(id.clone());
    }
    if let Some(failure) = shared.faults.take_task_failure() {
        settle(shared, &id, TaskStatus::Failed, Output::Text(failure));
    } else if !shared.faults.hangs() {
        let shared = shared.clone();
        let project = project.to_string();
        let run_id = id.clone();
        tokio::spawn(async move { run(shared, project, run_id, job).await });
    }
    let mut resp = super::reply::respond(201, "application/xml", Vec::new());
    let location = format!(
        "http://{}/api/projects/{project}/instances/{id}",
        shared.addr
    );
    set_header(&mut resp, "location", &location);
    resp
}

async fn run(shared: Arc<Shared>, project: String, id: String, job: Job) {
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
    settle(&shared, &id, status, output);
}

/// Finish a task unless a terminate got there first.
fn settle(shared: &Shared, id: &str, status: TaskStatus, output: Output) {
    let mut all = lock(&shared.instances);
    if let Some(i) = all.map.get_mut(id) {
        if i.task == TaskStatus::Running {
            i.task = status;
            i.output = output;
            i.end = Some(now());
        }
    }
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
) -> Result<Response<Body>, OdpsError> {
    if super::job::requested_status(body).as_deref() != Some("Terminated") {
        return Err(OdpsError::new(
            400,
            "InvalidStateSetting",
            "ODPS-0420031:Invalid state setting - only Terminated can be set",
        ));
    }
    let mut all = lock(&shared.instances);
    let i = find_mut(&mut all, project, id)?;
    i.terminate_requested = true;
    if i.task == TaskStatus::Running {
        i.task = TaskStatus::Cancelled;
        i.output = Output::Text("ODPS-0110999:Instance has been terminated by user".into());
        i.end = Some(now());
    }
    Ok(super::reply::respond(200, "application/xml", Vec::new()))
}

/// The read-only views of an instance, chosen by query flag.
pub fn view(
    shared: &Shared,
    project: &str,
    id: &str,
    params: &BTreeMap<String, String>,
) -> Result<Response<Body>, OdpsError> {
    let all = lock(&shared.instances);
    let i = find(&all, project, id)?;
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
        let (format, text) = match &i.output {
            Output::None => ("text", String::new()),
            Output::Text(t) => ("text", t.clone()),
            Output::Rows(rows) => {
                let capped = ResultSet {
                    columns: rows.columns.clone(),
                    rows: rows.rows.iter().take(RESULT_ROW_CAP).cloned().collect(),
                };
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
            "<Instance><Tasks><Task Type=\"{kind}\"><Name>{}</Name><Result Format=\"{format}\"{transform}>{payload}</Result><Status>{}</Status></Task></Tasks></Instance>",
            esc(&i.job.task_name),
            i.task.as_str()
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
