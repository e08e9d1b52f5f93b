//! Running and estimating a checked query: the job's life from creation to
//! rows, under the query's deadline and the caller's cancellation.
//!
//! Every network step races the deadline and the cancel token. Once an
//! instance exists (or may exist: a create request still in flight is given
//! a moment to answer), an interruption terminates it before
//! `QUERY_TIMEOUT` is returned, so no job keeps running (and billing) after
//! sqlwarden has given up on it. Rows come from the instance tunnel, or
//! from the `?result` CSV when the tunnel is refused.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_util::sync::CancellationToken;

use crate::engine::{CostEstimate, EngineResult, QueryResult, ResultColumn, RunContext};
use crate::error::{ErrorCode, ToolError};
use crate::guard::CheckedQuery;

use super::endpoint::Endpoint;
use super::error::McError;
use super::instance::{self, TaskKind};
use super::job_sql::JobSql;
use super::result_csv;
use super::result_rows::ResultBuilder;
use super::tunnel;
use super::MaxComputeEngine;

/// How long a terminate request may take: it is one small PUT, and the
/// caller is already past its deadline.
const TERMINATE_TIMEOUT: Duration = Duration::from_secs(10);
/// Rows MaxCompute puts in an inline `?result` at most (§4.4).
const INLINE_RESULT_ROWS: usize = 10_000;
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
        let deadline = Instant::now() + budget;
        let cancel = &ctx.cancel;
        let settings = self.job_settings(sql.names_a_schema());
        let body = instance::job_xml(TaskKind::Sql, sql, &settings);
        let id = self.create_bounded(deadline, cancel, body).await?;
        let progress = ctx.progress.as_ref();
        let wait = instance::wait(&self.client, &id, progress, budget);
        self.bounded(deadline, cancel, Some(&id), wait).await?;
        let mut result = self
            .bounded(deadline, cancel, Some(&id), self.read_rows(&id, caps))
            .await?;
        result
            .engine_metadata
            .insert("instance_id".into(), Value::String(id));
        Ok(result)
    }

    /// Estimate `query` with a `SQLCost` job.
    pub(super) async fn estimate_query(&self, query: &CheckedQuery) -> EngineResult<CostEstimate> {
        let deadline = Instant::now() + query.timeout();
        // Estimates have no caller cancellation; only the deadline stops them.
        let cancel = CancellationToken::new();
        let sql = JobSql::checked(query);
        let settings = self.job_settings(sql.names_a_schema());
        let body = instance::job_xml(TaskKind::SqlCost, &sql, &settings);
        let id = self.create_bounded(deadline, &cancel, body).await?;
        let wait = instance::wait(&self.client, &id, None, query.timeout());
        self.bounded(deadline, &cancel, Some(&id), wait).await?;
        let payload = self
            .bounded(deadline, &cancel, None, instance::result(&self.client, &id))
            .await?;
        let text = if payload.base64 {
            result_csv::decode_base64(&payload.text)
                .map_err(|e| McError::Protocol(e.to_string()).to_tool_error(&self.name))?
        } else {
            payload.text
        };
        let cost = instance::parse_cost(&text).map_err(|e| e.to_tool_error(&self.name))?;
        let price = cost.input_bytes as f64 / GIB * cost.complexity * UNIT_PRICE_CNY_PER_GIB;
        let mut details = serde_json::Map::new();
        details.insert("instance_id".into(), json!(id));
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
        Ok(CostEstimate {
            input_bytes: Some(cost.input_bytes),
            estimated_rows: None,
            cost: Some(cost.complexity),
            plan: text,
            details,
        })
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
        deadline: Instant,
        cancel: &CancellationToken,
        body: String,
    ) -> EngineResult<String> {
        let create = instance::create(&self.client, body);
        tokio::pin!(create);
        let interrupt = tokio::select! {
            result = &mut create => return result.map_err(|e| e.to_tool_error(&self.name)),
            () = sleep_until(deadline) => Interrupt::Timeout,
            () = cancel.cancelled() => Interrupt::Cancelled,
        };
        match timeout(TERMINATE_TIMEOUT, create).await {
            Ok(Ok(id)) => {
                let terminated = self.terminate(&id).await;
                Err(interrupted(interrupt, Some((&id, terminated))))
            }
            _ => Err(interrupted(interrupt, None)),
        }
    }

    /// Race `work` against the deadline and `cancel`; on interruption
    /// terminate `instance` (when there is one) and report why.
    async fn bounded<T>(
        &self,
        deadline: Instant,
        cancel: &CancellationToken,
        instance: Option<&str>,
        work: impl Future<Output = Result<T, McError>>,
    ) -> EngineResult<T> {
        let interrupt = tokio::select! {
            result = work => return result.map_err(|e| e.to_tool_error(&self.name)),
            () = sleep_until(deadline) => Interrupt::Timeout,
            () = cancel.cancelled() => Interrupt::Cancelled,
        };
        let terminated = match instance {
            Some(id) => Some((id, self.terminate(id).await)),
            None => None,
        };
        Err(interrupted(interrupt, terminated))
    }

    /// Terminate an instance; `Err` holds why it could not be confirmed.
    async fn terminate(&self, id: &str) -> Result<(), TerminateFailed> {
        match timeout(TERMINATE_TIMEOUT, instance::terminate(&self.client, id)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                tracing::warn!(instance = id, %error, "terminating a MaxCompute instance failed");
                Err(TerminateFailed::Refused(error))
            }
            Err(_) => {
                tracing::warn!(instance = id, "terminating a MaxCompute instance timed out");
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

    /// The rows of a finished instance: the tunnel first, `?result` when
    /// the tunnel refuses.
    async fn read_rows(&self, id: &str, caps: Caps) -> Result<QueryResult, McError> {
        match self.read_tunnel(id, caps).await {
            Err(error) if tunnel::refused(&error) => {
                tracing::info!(instance = id, %error, "instance tunnel refused; reading ?result");
                self.read_inline(id, caps).await
            }
            other => other,
        }
    }

    async fn read_tunnel(&self, id: &str, caps: Caps) -> Result<QueryResult, McError> {
        let rows = caps.limit.saturating_add(1);
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

    async fn read_inline(&self, id: &str, caps: Caps) -> Result<QueryResult, McError> {
        let payload = instance::result(&self.client, id).await?;
        if payload.format != "csv" {
            return Err(McError::Protocol(format!(
                "`?result` is `{}`, not CSV",
                payload.format
            )));
        }
        let table = result_csv::parse_result(&payload.text, payload.base64)
            .map_err(|e| McError::Protocol(format!("`?result` CSV: {e}")))?;
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
        let server_capped = table.rows.len() >= INLINE_RESULT_ROWS;
        for row in table.rows {
            let row = row
                .into_iter()
                .map(|v| v.map_or(Value::Null, Value::String))
                .collect();
            if !builder.push(row) {
                break;
            }
        }
        if server_capped && (builder.len() as u64) < caps.limit.saturating_add(1) {
            builder.mark_row_limit();
        }
        let mut result = builder.finish();
        let meta = &mut result.engine_metadata;
        meta.insert("result_source".into(), json!("result_csv"));
        meta.insert("inline_result_row_cap".into(), json!(INLINE_RESULT_ROWS));
        Ok(result)
    }
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
