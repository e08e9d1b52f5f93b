//! The MaxCompute engine: REST client, request signing, SQL instances and
//! the instance tunnel, behind the [`Engine`] trait.
//!
//! Phases, one file each: [`endpoint`] (addresses), [`sign`] (V2/V4
//! signatures), [`client`] + [`retry`] (one HTTP client, retries),
//! [`error`] (typed errors → [`ErrorCode`]), [`metadata`] (schemas,
//! partitions, project), [`job_sql`] (the only SQL a job carries),
//! [`instance`] (jobs: create, long-poll, result, terminate, offline or on
//! MaxQA), [`maxqa`] (connection lookup, fallback header, result
//! descriptor), [`tunnel`] + [`stream`] (record download and decoding),
//! [`result_csv`] (inline CSV), [`result_inline`] (typing it by the
//! descriptor; caps in `engine/result.rs`), [`cache`] (brief reuse), and
//! [`query`] (run and estimate, with deadline and cancellation).
//!
//! The one idea: building an engine never touches the network, and the
//! agent's text only ever reaches MaxCompute as a gate-rendered `<Query>`:
//! a job carries a [`JobSql`], made only from a `CheckedQuery` or by the
//! engine's own `MAX_PT` builder. The job's settings come from
//! connections.yaml plus the forced read-only and no-full-scan settings,
//! on MaxQA as offline.
//!
//! [`ErrorCode`]: crate::error::ErrorCode

mod cache;
mod client;
mod endpoint;
mod error;
mod instance;
mod job_sql;
mod maxqa;
mod metadata;
mod query;
mod result_csv;
mod result_inline;
mod retry;
mod sign;
pub mod stream;
mod tunnel;
mod types;

use std::collections::BTreeMap;

use tokio::sync::OnceCell;

use crate::config::{Acceleration, AccelerationMode, MaxComputeConnection, ResultRead};
use crate::error::{ErrorCode, ToolError};
use crate::guard::CheckedQuery;
use crate::secrets::MaxComputeKeys;

use super::{
    BoxFuture, ColumnInfo, CostEstimate, Engine, EngineResult, PageRequest, PartitionPage,
    ProbeReport, QueryResult, RunContext,
};
use client::RestClient;
use endpoint::Endpoint;
use job_sql::JobSql;
use metadata::TableRef;
use sign::SignatureVersion;

/// Partitions per `list_partitions` page when the caller names no size.
const DEFAULT_PARTITION_PAGE: usize = 100;
/// Most partitions per `list_partitions` page.
const MAX_PARTITION_PAGE: usize = 1000;
/// Time for the `MAX_PT` job: it reads metadata only, but may queue behind
/// other jobs on a busy quota.
const MAX_PT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// A partition value is a short string (MaxCompute caps it at 256 bytes).
const MAX_PARTITION_VALUE_BYTES: u64 = 1024;
/// How long a cost estimate is reused for the identical job: long enough
/// for an agent's retries and a run right after its estimate, short enough
/// that new data is soon seen.
const ESTIMATE_TTL: std::time::Duration = std::time::Duration::from_secs(300);
/// How long a table's newest partition is reused: a new day's partition
/// appears once a day, and an agent asks many questions a minute.
const NEWEST_PARTITION_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// Most entries of each cache.
const CACHE_ENTRIES: usize = 256;

/// A MaxCompute project as a sqlwarden engine.
pub struct MaxComputeEngine {
    name: String,
    client: RestClient,
    /// The connection's own job settings (forced ones are added per job).
    settings: BTreeMap<String, String>,
    configured_tunnel: Option<String>,
    tunnel: OnceCell<Endpoint>,
    /// MaxQA settings from connections.yaml.
    acceleration: Acceleration,
    /// Where rows are read from.
    result_read: ResultRead,
    /// The MaxQA connection, once looked up.
    maxqa: tokio::sync::Mutex<Option<maxqa::Connection>>,
    /// Cost estimates by (settings, SQL), for identical questions.
    estimates: cache::TtlCache<(String, String), CostEstimate>,
    /// Newest partition holding data, by table.
    newest: cache::TtlCache<String, Option<String>>,
}

impl MaxComputeEngine {
    /// An engine for connection `name`. Never touches the network. Fails
    /// with `CREDENTIALS_MISSING` when `keys` is `None` or empty, and with
    /// `BACKEND_ERROR` when the endpoint in connections.yaml is unusable.
    pub fn new(
        name: &str,
        connection: &MaxComputeConnection,
        keys: Option<MaxComputeKeys>,
    ) -> Result<Self, ToolError> {
        let keys = keys
            .filter(|k| !k.access_key_id.is_empty() && !k.access_key_secret.expose().is_empty())
            .ok_or_else(|| missing_keys(name))?;
        let service = Endpoint::parse(&connection.endpoint).map_err(|e| bad_endpoint(name, &e))?;
        let region = connection
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| service.region_from_host());
        let version = match region {
            Some(region) => SignatureVersion::V4 { region },
            None => SignatureVersion::V2,
        };
        let schema = connection.schema.clone().filter(|s| !s.is_empty());
        let client = RestClient::new(service, keys, version, connection.project.clone(), schema)
            .map_err(ToolError::internal)?;
        Ok(Self {
            name: name.to_owned(),
            client,
            settings: connection.settings.clone(),
            configured_tunnel: connection.tunnel_endpoint.clone().filter(|t| !t.is_empty()),
            tunnel: OnceCell::new(),
            acceleration: connection.acceleration.clone(),
            result_read: connection.result_read,
            maxqa: tokio::sync::Mutex::new(None),
            estimates: cache::TtlCache::new(ESTIMATE_TTL, CACHE_ENTRIES),
            newest: cache::TtlCache::new(NEWEST_PARTITION_TTL, CACHE_ENTRIES),
        })
    }

    /// Names of the tables in `project` (in `schema`, for 3-tier projects),
    /// sorted. The engine does not know the policy: callers show only the
    /// tables it allows.
    pub async fn list_tables(
        &self,
        project: &str,
        schema: Option<&str>,
    ) -> EngineResult<Vec<String>> {
        let listing = metadata::Listing::Tables { project, schema };
        metadata::list_names(&self.client, listing)
            .await
            .map_err(|e| e.to_tool_error(&self.name))
    }

    /// Names of the schemas of a 3-tier `project`, sorted. Callers filter
    /// by policy, as for [`Self::list_tables`].
    pub async fn list_schemas(&self, project: &str) -> EngineResult<Vec<String>> {
        metadata::list_names(&self.client, metadata::Listing::Schemas { project })
            .await
            .map_err(|e| e.to_tool_error(&self.name))
    }

    fn table_ref(&self, table: &str) -> Result<TableRef, ToolError> {
        TableRef::parse(table, self.client.project()).ok_or_else(|| {
            ToolError::new(
                ErrorCode::InvalidArgument,
                format!("`{table}` is not a MaxCompute table name"),
                "Name tables as `project.table` or `project.schema.table`, as keyed in policy.yaml",
            )
        })
    }

    async fn columns(&self, table: &str) -> EngineResult<Option<Vec<ColumnInfo>>> {
        let table = self.table_ref(table)?;
        metadata::table_columns(&self.client, &table)
            .await
            .map_err(|e| e.to_tool_error(&self.name))
    }

    async fn partitions(&self, table: &str) -> EngineResult<Vec<metadata::PartitionEntry>> {
        let table_ref = self.table_ref(table)?;
        metadata::all_partitions(&self.client, &table_ref)
            .await
            .map_err(|e| e.to_tool_error(&self.name))?
            .ok_or_else(|| {
                ToolError::new(
                    ErrorCode::BackendError,
                    format!("Table `{table}` does not exist in MaxCompute"),
                    format!(
                        "Check the table key in policy.yaml for source `{}`",
                        self.name
                    ),
                )
            })
    }

    /// The table's `MAX_PT`, after checking that `field` is its first
    /// partition key: the newest first-level partition that holds data
    /// (empty partitions are skipped). Read from the partition listing's
    /// record counts and sizes, without a job; only when the listing
    /// cannot say does a `MAX_PT` job run. Kept briefly per table.
    async fn newest_partition(&self, table: &str, field: &str) -> EngineResult<Option<String>> {
        let table_ref = self.table_ref(table)?;
        let key = format!("{}/{}", table_ref.qualified(), field.to_ascii_lowercase());
        if let Some(newest) = self.newest.get(&key) {
            return Ok(newest);
        }
        let not_found = || {
            ToolError::new(
                ErrorCode::BackendError,
                format!("Table `{table}` does not exist in MaxCompute"),
                format!(
                    "Check the table key in policy.yaml for source `{}`",
                    self.name
                ),
            )
        };
        let columns = metadata::table_columns(&self.client, &table_ref)
            .await
            .map_err(|e| e.to_tool_error(&self.name))?
            .ok_or_else(not_found)?;
        let first_key = columns
            .iter()
            .find(|c| c.partition_key)
            .map(|c| c.name.as_str());
        if !first_key.is_some_and(|key| key.eq_ignore_ascii_case(field)) {
            let fix = match first_key {
                Some(key) => {
                    format!("Set `default_partition.field: {key}` for `{table}` in policy.yaml")
                }
                None => format!(
                    "`{table}` is not partitioned; remove its `default_partition` from policy.yaml"
                ),
            };
            return Err(ToolError::new(
                ErrorCode::BackendError,
                format!("`{field}` is not the first partition key of `{table}`"),
                fix,
            ));
        }
        let entries = metadata::all_partitions(&self.client, &table_ref)
            .await
            .map_err(|e| e.to_tool_error(&self.name))?
            .ok_or_else(not_found)?;
        let newest = match metadata::newest_with_data(&entries) {
            metadata::NewestWithData::Value(value) => Some(value),
            metadata::NewestWithData::Empty => None,
            metadata::NewestWithData::Unknown => self.max_pt_job(&table_ref).await?,
        };
        self.newest.put(key, newest.clone());
        Ok(newest)
    }

    /// Run `SELECT MAX_PT('…')`, for when partition statistics cannot say.
    async fn max_pt_job(&self, table_ref: &TableRef) -> EngineResult<Option<String>> {
        let sql = JobSql::max_pt(table_ref)?;
        let caps = query::Caps {
            limit: 1,
            max_cell_bytes: MAX_PARTITION_VALUE_BYTES,
            max_result_bytes: MAX_PARTITION_VALUE_BYTES * 2,
        };
        let result = self
            .run_sql(&sql, caps, MAX_PT_TIMEOUT, &RunContext::default())
            .await?;
        Ok(result
            .rows
            .first()
            .and_then(|row| row.into_iter().next())
            .and_then(|value| match value {
                serde_json::Value::String(text) => Some(text),
                _ => None,
            }))
    }

    async fn partition_page(&self, table: &str, page: PageRequest) -> EngineResult<PartitionPage> {
        let offset = match page.marker.as_deref() {
            None | Some("") => 0,
            Some(marker) => marker.parse::<usize>().map_err(|_| {
                ToolError::new(
                    ErrorCode::InvalidArgument,
                    "The partition page marker is not one sqlwarden gave out",
                    "Pass the `next_marker` of the previous page unchanged, or none for the first page",
                )
            })?,
        };
        let size = match usize::try_from(page.limit).unwrap_or(MAX_PARTITION_PAGE) {
            0 => DEFAULT_PARTITION_PAGE,
            n => n.min(MAX_PARTITION_PAGE),
        };
        let entries = self.partitions(table).await?;
        let end = offset.saturating_add(size).min(entries.len());
        let partitions = entries
            .get(offset.min(end)..end)
            .unwrap_or_default()
            .iter()
            .map(metadata::PartitionEntry::spec)
            .collect();
        Ok(PartitionPage {
            partitions,
            next_marker: (end < entries.len()).then(|| end.to_string()),
        })
    }

    async fn probe_project(&self) -> EngineResult<ProbeReport> {
        let info = metadata::project_info(&self.client)
            .await
            .map_err(|e| e.to_tool_error(&self.name))?;
        let mut warnings = vec![
            "MaxCompute does not report what the access key may write; sqlwarden forces `odps.sql.read.only=true` on every job, so give the key read-only permissions as well".to_owned(),
        ];
        if info
            .properties
            .get("odps.sql.allow.fullscan")
            .map(String::as_str)
            == Some("true")
        {
            warnings.push("The project allows full scans (`odps.sql.allow.fullscan=true`); sqlwarden forces it off for its own jobs".into());
        }
        let schemas_on = info
            .properties
            .get("odps.schema.model.enabled")
            .map(String::as_str)
            == Some("true");
        if schemas_on && self.client.schema().is_none() {
            warnings.push(format!("The project uses schemas; set `schema` for `{}` in connections.yaml or key tables as `project.schema.table`", self.name));
        }
        let region = info
            .region
            .map(|r| format!(", region {r}"))
            .unwrap_or_default();
        let owner = info
            .owner
            .map(|o| format!(", owner {o}"))
            .unwrap_or_default();
        let maxqa = match self.acceleration.mode {
            AccelerationMode::Off => String::new(),
            AccelerationMode::Maxqa => self.probe_maxqa(&mut warnings).await,
        };
        Ok(ProbeReport {
            server_version: format!("MaxCompute project `{}`{region}{owner}{maxqa}", info.name),
            login: format!("access key {}", self.client.masked_key_id()),
            write_capabilities: Vec::new(),
            warnings,
        })
    }
}

impl MaxComputeEngine {
    /// Look the MaxQA connection up as a query would; say on which quota
    /// queries will run, and warn when it is not an interactive one.
    async fn probe_maxqa(&self, warnings: &mut Vec<String>) -> String {
        let then = if self.acceleration.fallback {
            "queries will run offline"
        } else {
            "queries will fail (`acceleration.fallback` is off)"
        };
        match self.maxqa_connection(true).await {
            Ok((conn, _)) if conn.interactive() => {
                format!("; MaxQA on interactive quota `{}`", conn.quota)
            }
            Ok((conn, _)) => {
                warnings.push(format!(
                    "MaxQA: quota `{}` is not an interactive quota (type `{}`), so {then}; name an interactive quota in `acceleration.interactive_quota`",
                    conn.quota, conn.quota_type
                ));
                String::new()
            }
            Err(error) => {
                warnings.push(format!(
                    "MaxQA: the connection lookup failed ({error}), so {then}; check `acceleration.interactive_quota` and that the project has an interactive quota"
                ));
                String::new()
            }
        }
    }
}

impl Engine for MaxComputeEngine {
    fn run<'a>(
        &'a self,
        query: &'a CheckedQuery,
        ctx: RunContext,
    ) -> BoxFuture<'a, EngineResult<QueryResult>> {
        Box::pin(self.run_query(query, ctx))
    }

    fn estimate<'a>(
        &'a self,
        query: &'a CheckedQuery,
    ) -> BoxFuture<'a, EngineResult<CostEstimate>> {
        Box::pin(self.estimate_query(query))
    }

    fn table_columns<'a>(
        &'a self,
        table: &'a str,
    ) -> BoxFuture<'a, EngineResult<Option<Vec<ColumnInfo>>>> {
        Box::pin(self.columns(table))
    }

    fn max_partition<'a>(
        &'a self,
        table: &'a str,
        field: &'a str,
    ) -> BoxFuture<'a, EngineResult<Option<String>>> {
        Box::pin(self.newest_partition(table, field))
    }

    fn list_partitions<'a>(
        &'a self,
        table: &'a str,
        page: PageRequest,
    ) -> BoxFuture<'a, EngineResult<PartitionPage>> {
        Box::pin(self.partition_page(table, page))
    }

    fn probe<'a>(&'a self) -> BoxFuture<'a, EngineResult<ProbeReport>> {
        Box::pin(self.probe_project())
    }
}

fn missing_keys(name: &str) -> ToolError {
    ToolError::new(
        ErrorCode::CredentialsMissing,
        format!("No MaxCompute access key is stored for `{name}`"),
        format!("Run `sqlwarden auth set {name}`, or set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (plus ALIBABA_CLOUD_SECURITY_TOKEN for STS keys)"),
    )
}

fn bad_endpoint(name: &str, error: &endpoint::EndpointError) -> ToolError {
    ToolError::new(
        ErrorCode::BackendError,
        format!("The MaxCompute endpoint of `{name}` is unusable: {error}"),
        format!("Set `endpoint` of `{name}` in connections.yaml to a URL such as `https://service.cn-hangzhou.maxcompute.aliyun.com/api`"),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
