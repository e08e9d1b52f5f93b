//! The engine contract: what sqlwarden needs from a database, and nothing
//! about MCP.
//!
//! An [`Engine`] runs only a [`CheckedQuery`] (which only the gate can make),
//! reads metadata by binding identifiers as parameters, and maps its own
//! errors to [`ErrorCode`](crate::error::ErrorCode)s. Engines connect lazily:
//! building one never touches the network.

pub mod maxcompute;
pub mod postgres;
pub(crate) mod result;
mod rows;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::ToolError;
use crate::guard::CheckedQuery;
pub use crate::policy::Safeguards;
pub use rows::Rows;

/// A boxed future, so that [`Engine`] stays object-safe.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What engines return.
pub(crate) type EngineResult<T> = Result<T, ToolError>;

/// A database sqlwarden can query.
pub trait Engine: Send + Sync {
    /// Run a checked query, streaming rows until the query's row and byte
    /// caps are reached; cancel the backend query when `ctx.cancel` fires or
    /// the query's timeout passes.
    fn run<'a>(
        &'a self,
        query: &'a CheckedQuery,
        ctx: RunContext,
    ) -> BoxFuture<'a, EngineResult<QueryResult>>;

    /// The engine's estimate for a checked query, without running it.
    fn estimate<'a>(&'a self, query: &'a CheckedQuery)
        -> BoxFuture<'a, EngineResult<CostEstimate>>;

    /// Every column of a table (not only allowed ones; callers filter), or
    /// `None` when the table does not exist. `table` is a policy key.
    fn table_columns<'a>(
        &'a self,
        table: &'a str,
    ) -> BoxFuture<'a, EngineResult<Option<Vec<ColumnInfo>>>>;

    /// The newest partition value of `field` that holds data, or `None` when
    /// the table is empty.
    fn max_partition<'a>(
        &'a self,
        table: &'a str,
        field: &'a str,
    ) -> BoxFuture<'a, EngineResult<Option<String>>>;

    /// Partitions of a table, newest first, one page at a time.
    fn list_partitions<'a>(
        &'a self,
        table: &'a str,
        page: PageRequest,
    ) -> BoxFuture<'a, EngineResult<PartitionPage>>;

    /// What the login can do, for `sqlwarden check`.
    fn probe<'a>(&'a self) -> BoxFuture<'a, EngineResult<ProbeReport>>;
}

/// A shared engine handle.
pub type SharedEngine = Arc<dyn Engine>;

/// Per-call context for [`Engine::run`].
#[derive(Clone, Default)]
pub struct RunContext {
    /// Fires when the client cancels the call.
    pub cancel: CancellationToken,
    /// Receives progress while a long job runs.
    pub progress: Option<ProgressSink>,
}

/// A callback for progress reports.
pub(crate) type ProgressSink = Arc<dyn Fn(Progress) + Send + Sync>;

/// One progress report of a running job.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    /// Work done so far, in `total` units.
    pub(crate) done: f64,
    /// Total work, when known.
    pub total: Option<f64>,
    /// A short status line, for example `running (stage 2 of 3)`.
    pub message: String,
}

/// A column of a result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResultColumn {
    /// Column name as the database reports it.
    pub name: String,
    /// Database type name.
    #[serde(rename = "type")]
    pub type_name: String,
}

/// Why a result holds fewer rows than the query produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Truncation {
    /// More rows existed than the applied limit.
    RowLimit,
    /// The total byte cap was reached.
    ResultBytes,
}

/// Rows of a query, rendered to JSON without loss.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueryResult {
    /// Columns in order.
    pub columns: Vec<ResultColumn>,
    /// Rows as arrays in column order, held as their compact JSON.
    pub rows: Rows,
    /// Why rows were cut, if they were.
    pub truncation: Option<Truncation>,
    /// How many cells were cut to the per-cell byte cap.
    pub cells_truncated: u64,
    /// Bytes of rendered row data returned.
    pub bytes: u64,
    /// Engine-specific facts (for example a MaxCompute instance id).
    pub engine_metadata: serde_json::Map<String, serde_json::Value>,
}

/// A table column, as `describe_table` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Database type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The database's own comment, if any (untrusted data).
    pub comment: Option<String>,
    /// Whether it is a partition key.
    pub partition_key: bool,
    /// Whether it is part of the primary key.
    pub primary_key: bool,
}

/// An engine's cost estimate.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CostEstimate {
    /// Estimated bytes scanned, when the engine says.
    pub input_bytes: Option<u64>,
    /// Estimated rows, when the engine says.
    pub(crate) estimated_rows: Option<f64>,
    /// The engine's abstract cost (Postgres total cost, MaxCompute complexity).
    pub cost: Option<f64>,
    /// The engine's plan or report, as text (untrusted data).
    pub(crate) plan: String,
    /// Engine-specific facts.
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// One page request.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Opaque marker from the previous page.
    pub marker: Option<String>,
    /// Most entries to return.
    pub limit: u32,
}

/// One page of partitions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PartitionPage {
    /// Partition specs, newest first, for example `pt=20240101`.
    pub partitions: Vec<String>,
    /// Marker for the next page, if any.
    pub next_marker: Option<String>,
}

/// What `sqlwarden check` learns about a connection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProbeReport {
    /// Server version string.
    pub server_version: String,
    /// The login name the engine is connected as.
    pub login: String,
    /// Ways the login could write or escape policy; empty is good.
    pub write_capabilities: Vec<String>,
    /// Other warnings (for example full scans allowed).
    pub warnings: Vec<String>,
}
