//! Running and estimating a checked query: the job's life from creation to
//! rows, under the query's deadline and the caller's cancellation.
//!
//! A query runs on MaxQA when the connection asks for it, offline
//! otherwise, or offline when MaxQA refuses it before an instance exists
//! (nothing ran, so nothing runs twice); once an instance exists, only the
//! service's own fallback applies. Waiting is long polls of
//! `?instancestatus`; rows come inline (the MaxQA status answer, or one
//! `?result`) when `result_read` allows and they fit, otherwise through the
//! instance tunnel, with `?result` when the tunnel refuses or its session
//! budget is spent.
//!
//! Every network step races the deadline and the cancel token. Once an
//! instance exists (or may exist: a create request still in flight is given
//! a moment to answer), an interruption terminates it before
//! `QUERY_TIMEOUT` is returned, so no job keeps running (and billing) after
//! sqlwarden has given up on it.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_util::sync::CancellationToken;

use crate::config::{AccelerationMode, ResultRead};
use crate::engine::result::ResultBuilder;
use crate::engine::{CostEstimate, EngineResult, QueryResult, ResultColumn, RunContext};
use crate::error::{ErrorCode, ToolError};
use crate::guard::CheckedQuery;

use super::endpoint::Endpoint;
use super::error::McError;
use super::instance::{self, Created, InstanceRef, Submit, TaskKind, TaskOutcome};
use super::job_sql::JobSql;
use super::maxqa::{self, ResultDescriptor, SelectStatus};
use super::result_csv;
use super::result_inline;
use super::tunnel;
use super::types::McType;
use super::MaxComputeEngine;

/// How long a terminate request may take: it is one small PUT, and the
/// caller is already past its deadline.
const TERMINATE_TIMEOUT: Duration = Duration::from_secs(10);
/// Rows MaxCompute puts in an inline `?result` at most (§4.4).
const INLINE_RESULT_ROWS: u64 = 10_000;
/// Pay-as-you-go price of standard SQL, CNY per GiB scanned per unit of
/// complexity (public cloud list price, docs/maxcompute-rest.md §4.6).
/// Subscription (CU) projects pay nothing per query; the estimate then only
/// ranks queries.
pub(crate) const UNIT_PRICE_CNY_PER_GIB: f64 = 0.3;
/// Bytes per GiB, the unit the price is quoted in.
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The row and byte caps a result is read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Caps {
    /// Rows the caller gets; one more is read to prove truncation.
    pub(super) limit: u64,
    /// Bytes one cell may hold.
    pub(super) max_cell_bytes: u64,
    /// Bytes of row data in all.
    pub(super) max_result_bytes: u64,
}

impl Caps {
    /// The caps of a checked query.
    pub(super) fn of(query: &CheckedQuery) -> Self {
        Self {
            limit: query.applied_limit(),
            max_cell_bytes: query.max_cell_bytes(),
            max_result_bytes: query.max_result_bytes(),
        }
    }

    /// Rows to read: the limit plus the one that proves truncation.
    fn rows(&self) -> u64 {
        self.limit.saturating_add(1)
    }

    /// Whether those rows fit an inline result.
    fn fit_inline(&self) -> bool {
        self.rows() <= INLINE_RESULT_ROWS
    }
}

/// Why a terminate request did not confirm that the instance stopped.
#[derive(Debug, thiserror::Error)]
enum TerminateFailed {
    /// MaxCompute answered with an error, or could not be reached.
    #[error("{0}")]
    Refused(McError),
    /// No answer in time.
    #[error("the terminate request timed out")]
    TimedOut,
}

/// Why a step stopped before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interrupt {
    Timeout,
    Cancelled,
}

/// One job's bounds: when it must end, who may cancel it, where progress
/// goes.
struct Bounds<'a> {
    deadline: Instant,
    budget: Duration,
    cancel: &'a CancellationToken,
    progress: Option<&'a crate::engine::ProgressSink>,
}

/// Why a job was not created.
enum CreateError {
    /// The service answered the submission with a refusal (4xx): no
    /// instance exists.
    Refused(McError),
    /// Anything else (interrupted, network, 5xx): reported as is.
    Failed(ToolError),
}

/// What ran, for the result's metadata.
struct Execution {
    mode: &'static str,
    quota: Option<String>,
    fallback: Option<&'static str>,
}

/// How a MaxQA attempt ended.
enum MaxqaRun {
    /// The query ran (on MaxQA, or offline through the service's fallback).
    Ran(QueryResult),
    /// MaxQA did not accept the query and no instance exists.
    NotAccepted(McError),
}

impl MaxComputeEngine {
    /// Run `query`: create the job, wait for it, read its rows.
    pub(super) async fn run_query(
        &self,
        query: &CheckedQuery,
        ctx: RunContext,
    ) -> EngineResult<QueryResult> {
        self.run_sql(
            &JobSql::checked(query),
            Caps::of(query),
            query.timeout(),
            &ctx,
        )
        .await
    }

    /// Run `sql` as a job and read its rows under `caps`. A [`JobSql`] is
    /// either the gate's rendering or the engine's own `MAX_PT`.
    pub(super) async fn run_sql(
        &self,
        sql: &JobSql<'_>,
        caps: Caps,
        budget: Duration,
        ctx: &RunContext,
    ) -> EngineResult<QueryResult> {
        if self.result_read == ResultRead::Inline && !caps.fit_inline() {
            return Err(McError::InlineTooSmall { rows: caps.rows() }.to_tool_error(&self.name));
        }
        let bounds = Bounds {
            deadline: Instant::now() + budget,
            budget,
            cancel: &ctx.cancel,
            progress: ctx.progress.as_ref(),
        };
        let mut settings = self.job_settings(sql.names_a_schema());
        let mut fallback = None;
        if self.acceleration.mode == AccelerationMode::Maxqa {
            let body = instance::job_xml(TaskKind::Sql, sql, &settings);
            match self.run_maxqa(&bounds, &body, caps).await? {
                MaxqaRun::Ran(result) => return Ok(result),
                MaxqaRun::NotAccepted(why) if self.acceleration.fallback => {
                    tracing::info!(connection = %self.name, %why, "MaxQA did not accept the query; running it offline");
                    fallback = Some("client");
                    // The offline job runs on the fallback quota, as the
                    // service's own fallback would.
                    if let Some(quota) = &self.acceleration.fallback_quota {
                        settings.insert("odps.task.wlm.quota".into(), quota.clone());
                    }
                }
                MaxqaRun::NotAccepted(why) => {
                    return Err(McError::Maxqa(why.to_string()).to_tool_error(&self.name))
                }
            }
        }
        let body = instance::job_xml(TaskKind::Sql, sql, &settings);
        let created = match self.create_bounded(&bounds, Submit::Offline, body).await {
            Ok(created) => created,
            Err(CreateError::Refused(error)) => return Err(error.to_tool_error(&self.name)),
            Err(CreateError::Failed(error)) => return Err(error),
        };
        let execution = Execution {
            mode: "offline",
            quota: settings.get("odps.task.wlm.quota").cloned(),
            fallback,
        };
        self.finish_offline(created, &bounds, caps, execution).await
    }

    /// Try the query on MaxQA: find the connection (looked up once, and
    /// once more when a cached one is refused), submit, wait, read.
    async fn run_maxqa(
        &self,
        bounds: &Bounds<'_>,
        body: &str,
        caps: Caps,
    ) -> EngineResult<MaxqaRun> {
        let mut refreshed = false;
        loop {
            let (conn, fresh) = match race(bounds, self.maxqa_connection(refreshed)).await {
                Ok(Ok(found)) => found,
                Ok(Err(error)) => return Ok(MaxqaRun::NotAccepted(error)),
                Err(why) => return Err(interrupted(why, None)),
            };
            if !conn.interactive() {
                return Ok(MaxqaRun::NotAccepted(McError::Maxqa(format!(
                    "quota `{}` is not an interactive quota",
                    conn.quota
                ))));
            }
            let fallback = self
                .acceleration
                .fallback
                .then(|| maxqa::fallback_header(self.fallback_quota().as_deref()));
            let submit = Submit::Maxqa {
                conn: &conn.conn_info,
                fallback: fallback.as_deref(),
            };
            match self.create_bounded(bounds, submit, body.to_owned()).await {
                Ok(created) if created.instance.is_maxqa() => {
                    return self
                        .finish_maxqa(created, bounds, caps, conn.quota)
                        .await
                        .map(MaxqaRun::Ran)
                }
                Ok(created) => {
                    // The service ran it offline itself (the id is not a
                    // MaxQA one): wait and read it as an offline job.
                    let execution = Execution {
                        mode: "offline",
                        quota: self.fallback_quota(),
                        fallback: Some("server"),
                    };
                    return self
                        .finish_offline(created, bounds, caps, execution)
                        .await
                        .map(MaxqaRun::Ran);
                }
                Err(CreateError::Refused(error)) if fresh || refreshed => {
                    return Ok(MaxqaRun::NotAccepted(error))
                }
                Err(CreateError::Refused(error)) => {
                    tracing::info!(connection = %self.name, %error, "MaxQA refused a cached connection; looking it up again");
                    refreshed = true;
                }
                Err(CreateError::Failed(error)) => return Err(error),
            }
        }
    }

    /// The MaxQA connection: cached, or looked up (`refresh` forces it);
    /// `true` with it when it was looked up just now.
    pub(super) async fn maxqa_connection(
        &self,
        refresh: bool,
    ) -> Result<(maxqa::Connection, bool), McError> {
        let mut slot = self.maxqa.lock().await;
        if let (false, Some(conn)) = (refresh, slot.as_ref()) {
            return Ok((conn.clone(), false));
        }
        let conn =
            maxqa::lookup(&self.client, self.acceleration.interactive_quota.as_deref()).await?;
        *slot = Some(conn.clone());
        Ok((conn, true))
    }

    /// The quota a fallen-back job runs on, when one is configured.
    fn fallback_quota(&self) -> Option<String> {
        self.acceleration
            .fallback_quota
            .clone()
            .or_else(|| self.settings.get("odps.task.wlm.quota").cloned())
    }

    /// Wait for a MaxQA job and read its rows: inline from the final status
    /// answer when they are whole (or enough) and typed, else the tunnel.
    async fn finish_maxqa(
        &self,
        created: Created,
        bounds: &Bounds<'_>,
        caps: Caps,
        quota: String,
    ) -> EngineResult<QueryResult> {
        let mut inst = created.instance;
        let outcome = match created.finished {
            Some(outcome) => outcome,
            None => self.await_outcome(&mut inst, bounds).await?,
        };
        let outcome = outcome
            .succeeded(&inst.id)
            .map_err(|e| e.to_tool_error(&self.name))?;
        let descriptor = outcome
            .descriptor
            .as_deref()
            .map(ResultDescriptor::parse)
            .transpose()
            .map_err(|e| e.to_tool_error(&self.name))?;
        let inline = match (&descriptor, &outcome.result) {
            (Some(descriptor), Some(payload)) if descriptor.status != SelectStatus::No => Some(
                self.typed_inline(payload, descriptor, caps)
                    .map_err(|e| e.to_tool_error(&self.name))?,
            ),
            _ => None,
        };
        let result = match (self.result_read, inline) {
            (ResultRead::Inline, Some((result, _))) | (ResultRead::Auto, Some((result, true))) => {
                result
            }
            (read, inline) => {
                let tunnel = self.read_tunnel(&inst.id, caps);
                match (self.bounded(bounds, Some(&inst), tunnel).await, inline) {
                    (Ok(result), _) => result,
                    // The tunnel is out of reach; the inline rows (marked
                    // truncated when they are not all) are still an honest
                    // answer.
                    (Err(error), Some((result, _)))
                        if read == ResultRead::Auto && budget_or_refusal(&error) =>
                    {
                        tracing::info!(instance = %inst.id, "tunnel unavailable; answering with the inline rows");
                        result
                    }
                    (Err(BoundedError::Failed(error)), _) if tunnel::budget_spent(&error) => {
                        return Err(
                            McError::TunnelBudget(error.to_string()).to_tool_error(&self.name)
                        )
                    }
                    (Err(error), _) => return Err(error.into_tool_error(&self.name)),
                }
            }
        };
        Ok(self.finished(
            result,
            &inst,
            Execution {
                mode: "maxqa",
                quota: Some(quota),
                fallback: None,
            },
        ))
    }

    /// Wait for an offline job and read its rows: inline from one
    /// `?result` when `result_read: inline`, else the tunnel.
    async fn finish_offline(
        &self,
        created: Created,
        bounds: &Bounds<'_>,
        caps: Caps,
        execution: Execution,
    ) -> EngineResult<QueryResult> {
        let mut inst = created.instance;
        let mut outcome = created.finished;
        if outcome.is_none() {
            let snapshot = inst.clone();
            let wait = instance::wait(&self.client, &mut inst, bounds.progress, bounds.budget);
            outcome = self
                .bounded(bounds, Some(&snapshot), wait)
                .await
                .map_err(|e| e.into_tool_error(&self.name))?;
        }
        let result = if self.result_read == ResultRead::Inline {
            let outcome = match outcome {
                Some(outcome) => outcome,
                None => {
                    let snapshot = inst.clone();
                    let read = instance::result(&self.client, &mut inst);
                    self.bounded(bounds, Some(&snapshot), read)
                        .await
                        .map_err(|e| e.into_tool_error(&self.name))?
                }
            };
            let outcome = outcome
                .succeeded(&inst.id)
                .map_err(|e| e.to_tool_error(&self.name))?;
            self.untyped_inline(&outcome, caps)
                .map_err(|e| e.to_tool_error(&self.name))?
        } else {
            match outcome {
                Some(outcome) => outcome
                    .succeeded(&inst.id)
                    .map(drop)
                    .map_err(|e| e.to_tool_error(&self.name))?,
                None => {
                    let snapshot = inst.clone();
                    let check = instance::check_success(&self.client, &mut inst);
                    self.bounded(bounds, Some(&snapshot), check)
                        .await
                        .map_err(|e| e.into_tool_error(&self.name))?
                }
            }
            let snapshot = inst.clone();
            let read = self.read_rows(&mut inst, caps);
            self.bounded(bounds, Some(&snapshot), read)
                .await
                .map_err(|e| e.into_tool_error(&self.name))?
        };
        Ok(self.finished(result, &inst, execution))
    }

    /// Wait for an instance and return its task outcome, asking `?result`
    /// when the final status answer did not carry it.
    async fn await_outcome(
        &self,
        inst: &mut InstanceRef,
        bounds: &Bounds<'_>,
    ) -> EngineResult<TaskOutcome> {
        let snapshot = inst.clone();
        let wait = instance::wait(&self.client, inst, bounds.progress, bounds.budget);
        let waited = self
            .bounded(bounds, Some(&snapshot), wait)
            .await
            .map_err(|e| e.into_tool_error(&self.name))?;
        match waited {
            Some(outcome) => Ok(outcome),
            None => {
                let read = instance::result(&self.client, inst);
                self.bounded(bounds, Some(&snapshot), read)
                    .await
                    .map_err(|e| e.into_tool_error(&self.name))
            }
        }
    }

    /// Add what ran to a result's metadata.
    fn finished(
        &self,
        mut result: QueryResult,
        inst: &InstanceRef,
        execution: Execution,
    ) -> QueryResult {
        let meta = &mut result.engine_metadata;
        meta.insert("instance_id".into(), Value::String(inst.id.clone()));
        meta.insert("execution_mode".into(), json!(execution.mode));
        if let Some(quota) = execution.quota {
            meta.insert("quota".into(), json!(quota));
        }
        if let Some(fallback) = execution.fallback {
            meta.insert("maxqa_fallback".into(), json!(fallback));
        }
        result
    }

    /// Estimate `query` with a `SQLCost` job (offline: whether MaxQA takes
    /// `SQLCost` is unconfirmed), reusing an estimate of the identical job
    /// from this session.
    pub(super) async fn estimate_query(&self, query: &CheckedQuery) -> EngineResult<CostEstimate> {
        let sql = JobSql::checked(query);
        let settings = self.job_settings(sql.names_a_schema());
        let key = (
            serde_json::to_string(&settings).unwrap_or_default(),
            sql.text().to_owned(),
        );
        if let Some(mut cached) = self.estimates.get(&key) {
            cached.details.insert("cached".into(), json!(true));
            return Ok(cached);
        }
        // Estimates have no caller cancellation; only the deadline stops them.
        let cancel = CancellationToken::new();
        let bounds = Bounds {
            deadline: Instant::now() + query.timeout(),
            budget: query.timeout(),
            cancel: &cancel,
            progress: None,
        };
        let body = instance::job_xml(TaskKind::SqlCost, &sql, &settings);
        let created = match self.create_bounded(&bounds, Submit::Offline, body).await {
            Ok(created) => created,
            Err(CreateError::Refused(error)) => return Err(error.to_tool_error(&self.name)),
            Err(CreateError::Failed(error)) => return Err(error),
        };
        let mut inst = created.instance;
        let outcome = match created.finished {
            Some(outcome) => outcome,
            None => self.await_outcome(&mut inst, &bounds).await?,
        };
        let payload = outcome
            .succeeded(&inst.id)
            .map_err(|e| e.to_tool_error(&self.name))?
            .result
            .ok_or_else(|| {
                McError::Protocol("SQLCost result is empty".into()).to_tool_error(&self.name)
            })?;
        let text = if payload.base64 {
            result_csv::decode_base64(&payload.text)
                .map_err(|e| McError::Protocol(e.to_string()).to_tool_error(&self.name))?
        } else {
            payload.text
        };
        let cost = instance::parse_cost(&text).map_err(|e| e.to_tool_error(&self.name))?;
        let price = cost.input_bytes as f64 / GIB * cost.complexity * UNIT_PRICE_CNY_PER_GIB;
        let mut details = Map::new();
        details.insert("instance_id".into(), json!(inst.id));
        details.insert("complexity".into(), json!(cost.complexity));
        details.insert("udf_count".into(), json!(cost.udf));
        details.insert(
            "estimated_price_cny".into(),
            json!((price * 10_000.0).round() / 10_000.0),
        );
        details.insert(
            "price_formula".into(),
            json!(format!("input_bytes / 2^30 * complexity * {UNIT_PRICE_CNY_PER_GIB} CNY (pay-as-you-go standard SQL list price; subscription projects are not billed per query)")),
        );
        let estimate = CostEstimate {
            input_bytes: Some(cost.input_bytes),
            estimated_rows: None,
            cost: Some(cost.complexity),
            plan: text,
            details,
        };
        self.estimates.put(key, estimate.clone());
        Ok(estimate)
    }

    fn job_settings(&self, namespace: bool) -> BTreeMap<String, String> {
        instance::job_settings(&self.settings, self.client.schema(), namespace)
    }

    /// Create a job, racing the deadline and `cancel`. When interrupted
    /// while the create request is in flight, MaxCompute may already have
    /// made the instance: wait briefly for its id and terminate it, so no
    /// job outlives the call.
    async fn create_bounded(
        &self,
        bounds: &Bounds<'_>,
        submit: Submit<'_>,
        body: String,
    ) -> Result<Created, CreateError> {
        let create = instance::create(&self.client, submit, body);
        tokio::pin!(create);
        let interrupt = tokio::select! {
            result = &mut create => return result.map_err(|error| match error {
                McError::Service { status: 400..=499, .. } => CreateError::Refused(error),
                other => CreateError::Failed(other.to_tool_error(&self.name)),
            }),
            () = sleep_until(bounds.deadline) => Interrupt::Timeout,
            () = bounds.cancel.cancelled() => Interrupt::Cancelled,
        };
        let error = match timeout(TERMINATE_TIMEOUT, create).await {
            Ok(Ok(created)) => {
                let terminated = self.terminate(&created.instance).await;
                interrupted(interrupt, Some((&created.instance.id, terminated)))
            }
            _ => interrupted(interrupt, None),
        };
        Err(CreateError::Failed(error))
    }

    /// Race `work` against the deadline and `cancel`; on interruption
    /// terminate `instance` (when there is one) and report why.
    async fn bounded<T>(
        &self,
        bounds: &Bounds<'_>,
        instance: Option<&InstanceRef>,
        work: impl Future<Output = Result<T, McError>>,
    ) -> Result<T, BoundedError> {
        let why = match race(bounds, work).await {
            Ok(result) => return result.map_err(BoundedError::Failed),
            Err(why) => why,
        };
        let terminated = match instance {
            Some(inst) => Some((inst.id.as_str(), self.terminate(inst).await)),
            None => None,
        };
        Err(BoundedError::Interrupted(interrupted(why, terminated)))
    }

    /// Terminate an instance; `Err` holds why it could not be confirmed.
    async fn terminate(&self, inst: &InstanceRef) -> Result<(), TerminateFailed> {
        match timeout(TERMINATE_TIMEOUT, instance::terminate(&self.client, inst)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                tracing::warn!(instance = %inst.id, %error, "terminating a MaxCompute instance failed");
                Err(TerminateFailed::Refused(error))
            }
            Err(_) => {
                tracing::warn!(instance = %inst.id, "terminating a MaxCompute instance timed out");
                Err(TerminateFailed::TimedOut)
            }
        }
    }

    /// The tunnel endpoint: configured, or discovered once and cached.
    pub(super) async fn tunnel_endpoint(&self) -> Result<&Endpoint, McError> {
        self.tunnel
            .get_or_try_init(|| async {
                match &self.configured_tunnel {
                    Some(text) => Endpoint::parse(text)
                        .map_err(|e| McError::Protocol(format!("`tunnel_endpoint`: {e}"))),
                    None => tunnel::discover(&self.client).await,
                }
            })
            .await
    }

    /// The rows of a finished offline instance: the tunnel first; `?result`
    /// when the tunnel refuses, or when its session budget is spent and
    /// the rows fit inline.
    async fn read_rows(&self, inst: &mut InstanceRef, caps: Caps) -> Result<QueryResult, McError> {
        match self.read_tunnel(&inst.id, caps).await {
            Err(error)
                if tunnel::refused(&error)
                    || (tunnel::budget_spent(&error) && caps.fit_inline()) =>
            {
                tracing::info!(instance = %inst.id, %error, "instance tunnel unavailable; reading ?result");
                let outcome = instance::result(&self.client, inst)
                    .await?
                    .succeeded(&inst.id)?;
                let mut result = self.untyped_inline(&outcome, caps)?;
                if tunnel::budget_spent(&error) {
                    result
                        .engine_metadata
                        .insert("tunnel_budget_spent".into(), json!(true));
                }
                Ok(result)
            }
            Err(error) if tunnel::budget_spent(&error) => {
                Err(McError::TunnelBudget(error.to_string()))
            }
            other => other,
        }
    }

    async fn read_tunnel(&self, id: &str, caps: Caps) -> Result<QueryResult, McError> {
        let rows = caps.rows();
        let endpoint = self.tunnel_endpoint().await?;
        let session = tunnel::open_session(&self.client, endpoint, id, rows).await?;
        let mut builder = builder_for(session.columns.clone(), caps);
        tunnel::download(&self.client, endpoint, id, &session, rows, &mut builder).await?;
        let mut result = builder.finish();
        let meta = &mut result.engine_metadata;
        meta.insert("result_source".into(), json!("instance_tunnel"));
        meta.insert("record_count".into(), json!(session.record_count));
        Ok(result)
    }

    /// Rows of an offline `?result`: CSV without types, every value text.
    fn untyped_inline(&self, outcome: &TaskOutcome, caps: Caps) -> Result<QueryResult, McError> {
        let payload = outcome
            .result
            .as_ref()
            .ok_or_else(|| McError::Protocol("`?result` has no payload".into()))?;
        let table = csv_table(payload)?;
        let columns = table
            .columns
            .into_iter()
            .map(|name| ResultColumn {
                name,
                // The inline result carries no types (§4.4).
                type_name: "string".into(),
            })
            .collect();
        let mut builder = builder_for(columns, caps);
        let server_capped = table.rows.len() as u64 >= INLINE_RESULT_ROWS;
        for row in table.rows {
            let row = row
                .into_iter()
                .map(|v| v.map_or(Value::Null, Value::String))
                .collect();
            if !builder.push(row) {
                break;
            }
        }
        if server_capped && (builder.len() as u64) < caps.rows() {
            builder.mark_row_limit();
        }
        let mut result = builder.finish();
        let meta = &mut result.engine_metadata;
        meta.insert("result_source".into(), json!("result_csv"));
        meta.insert("inline_result_row_cap".into(), json!(INLINE_RESULT_ROWS));
        Ok(result)
    }

    /// Rows of a MaxQA inline result, typed by its descriptor; `true` with
    /// them when they are the answer as the tunnel would give it (every
    /// type inline-safe, and every row needed present).
    fn typed_inline(
        &self,
        payload: &instance::TaskResult,
        descriptor: &ResultDescriptor,
        caps: Caps,
    ) -> Result<(QueryResult, bool), McError> {
        let table = csv_table(payload)?;
        let types: Vec<Option<McType>> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, _)| {
                descriptor
                    .columns
                    .get(i)
                    .and_then(|(_, t)| McType::parse(t).ok())
                    .filter(result_inline::inline_safe)
            })
            .collect();
        let all_safe =
            types.iter().all(Option::is_some) && descriptor.columns.len() == table.columns.len();
        let columns = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, name)| ResultColumn {
                name: name.clone(),
                type_name: match (&types[i], descriptor.columns.get(i)) {
                    (Some(_), Some((_, t))) => t.clone(),
                    _ => "string".into(),
                },
            })
            .collect();
        let enough =
            descriptor.status == SelectStatus::Full || table.rows.len() as u64 >= caps.rows();
        let mut builder = builder_for(columns, caps);
        for row in table.rows {
            let mut values = Vec::with_capacity(row.len());
            for (cell, ty) in row.into_iter().zip(&types) {
                values.push(match (cell, ty) {
                    (None, _) => Value::Null,
                    (Some(text), Some(ty)) => {
                        result_inline::typed_cell(ty, &text).ok_or_else(|| {
                            McError::Protocol(
                                "a MaxQA inline value does not match its column type".into(),
                            )
                        })?
                    }
                    (Some(text), None) => Value::String(text),
                });
            }
            if !builder.push(values) {
                break;
            }
        }
        if !enough && (builder.len() as u64) < caps.rows() {
            builder.mark_row_limit();
        }
        let mut result = builder.finish();
        result
            .engine_metadata
            .insert("result_source".into(), json!("maxqa_inline"));
        Ok((result, all_safe && enough))
    }
}

/// A failure of a bounded step: interrupted (already a tool error, with the
/// instance terminated) or failed.
enum BoundedError {
    Interrupted(ToolError),
    Failed(McError),
}

impl BoundedError {
    fn into_tool_error(self, connection: &str) -> ToolError {
        match self {
            Self::Interrupted(error) => error,
            Self::Failed(error) => error.to_tool_error(connection),
        }
    }
}

/// Run `work` unless the deadline passes or `cancel` fires first.
async fn race<T>(bounds: &Bounds<'_>, work: impl Future<Output = T>) -> Result<T, Interrupt> {
    tokio::select! {
        result = work => Ok(result),
        () = sleep_until(bounds.deadline) => Err(Interrupt::Timeout),
        () = bounds.cancel.cancelled() => Err(Interrupt::Cancelled),
    }
}

/// Whether a tunnel failure leaves the inline rows as the better answer.
fn budget_or_refusal(error: &BoundedError) -> bool {
    matches!(error, BoundedError::Failed(e) if tunnel::budget_spent(e) || tunnel::refused(e))
}

fn csv_table(payload: &instance::TaskResult) -> Result<result_csv::CsvTable, McError> {
    if payload.format != "csv" {
        return Err(McError::Protocol(format!(
            "the inline result is `{}`, not CSV",
            payload.format
        )));
    }
    result_csv::parse_result(&payload.text, payload.base64)
        .map_err(|e| McError::Protocol(format!("inline result CSV: {e}")))
}

fn builder_for(columns: Vec<ResultColumn>, caps: Caps) -> ResultBuilder {
    ResultBuilder::new(
        columns,
        caps.limit,
        caps.max_cell_bytes,
        caps.max_result_bytes,
    )
}

fn interrupted(
    why: Interrupt,
    terminated: Option<(&str, Result<(), TerminateFailed>)>,
) -> ToolError {
    let reason = match why {
        Interrupt::Timeout => "The MaxCompute job ran past its time limit",
        Interrupt::Cancelled => "The call was cancelled",
    };
    let (message, hint) = match &terminated {
        Some((id, Ok(()))) => (
            format!("{reason}; instance `{id}` was terminated"),
            "Narrow the query (a partition filter, fewer columns, a smaller LIMIT), or ask the policy owner to raise `query_timeout_seconds`".to_owned(),
        ),
        Some((id, Err(_))) => (
            format!("{reason}; terminating instance `{id}` failed, so it may still be running"),
            format!("Stop it in the MaxCompute console or with `kill {id};` in odpscmd"),
        ),
        None => (
            format!("{reason} before MaxCompute confirmed the job"),
            "Try again; if MaxCompute is slow to accept jobs, ask the policy owner to raise `query_timeout_seconds`".to_owned(),
        ),
    };
    let mut error = ToolError::new(ErrorCode::QueryTimeout, message, hint);
    if let Some((_, Err(cause))) = terminated {
        error = error.with_internal(cause.to_string());
    }
    error
}
