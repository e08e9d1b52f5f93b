//! Per-session state: the policy, the engines (created lazily, one per
//! source), the cache of table facts, the caller and the audit sink.
//!
//! A session lives as long as one server process (or one CLI command).
//! Building it touches neither the network nor the keyring; the first call
//! that needs a source creates its engine, and a source that cannot be
//! created (a missing secret, a bad entry) fails only the calls that use it.
//! Table columns and default partitions are cached per session, so `max_pt`
//! is resolved once per table. The semantic catalog and the key that signs
//! `query_table` cursors are also fixed per session: loaded (or drawn) once
//! when the session starts, never per call. The scan and row ledgers keep
//! the session's spent budgets per source; the rate limiter, the result
//! cache (when policy switches it on) and the clock they read are per
//! session too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::config::{ConfigError, Connection};
use crate::engine::{ColumnInfo, Safeguards, SharedEngine};
use crate::error::{ErrorCode, ToolError};
use crate::guard::TableFacts;
use crate::policy::{Policy, SourceRules};
use crate::semantic::{self, CursorKey, SemanticCatalog};

use super::budget::{RowLedger, ScanLedger};
use super::cache::ResultCache;
use super::clock::{Clock, SystemClock};
use super::rate::RateLimiter;
use super::record::{AuditSink, Caller};

/// Makes the engine of one source; called at most once per source and
/// session (until it succeeds).
pub trait EngineFactory: Send + Sync {
    /// Build the engine for connection `name` (without connecting), with
    /// the database-side safeguards policy sets for it.
    fn create(
        &self,
        name: &str,
        connection: &Connection,
        safeguards: Safeguards,
    ) -> Result<SharedEngine, ToolError>;
}

/// The state behind every tool call of one session.
pub struct Session {
    policy: Policy,
    factory: Arc<dyn EngineFactory>,
    audit: Arc<dyn AuditSink>,
    caller: RwLock<Caller>,
    engines: Mutex<HashMap<String, SharedEngine>>,
    columns: Mutex<HashMap<(String, String), Vec<ColumnInfo>>>,
    partitions: Mutex<HashMap<(String, String), String>>,
    catalog: Result<SemanticCatalog, Vec<ConfigError>>,
    cursor_key: CursorKey,
    scanned: ScanLedger,
    rows: RowLedger,
    rate: RateLimiter,
    cache: Option<Arc<ResultCache>>,
    clock: Arc<dyn Clock>,
    /// Calls of this session allowed to run at once, when capped (team
    /// mode, where one session serves one identity's every client).
    running: Option<(usize, tokio::sync::Semaphore)>,
}

impl Session {
    /// A session over `policy`, making engines with `factory` and auditing
    /// to `audit`.
    pub fn new(policy: Policy, factory: Arc<dyn EngineFactory>, audit: Arc<dyn AuditSink>) -> Self {
        let identity = policy.identity();
        let caller = Caller {
            session_id: uuid::Uuid::new_v4().to_string(),
            client_name: None,
            client_version: None,
            user_id: identity.user_id.clone(),
            roles: identity.roles.clone(),
            policy_sha256: policy.config().policy_sha256.clone(),
            token_id: None,
        };
        // Session start (`cli::session`) already checked the catalog against
        // this policy; should a caller skip that, only the semantic tools
        // fail (with the problems logged).
        let catalog = semantic::check_catalog(&policy);
        let rate = RateLimiter::new(policy.rate_limits());
        let cache = policy
            .result_cache()
            .map(|bounds| Arc::new(ResultCache::new(bounds)));
        Self {
            policy,
            factory,
            audit,
            caller: RwLock::new(caller),
            engines: Mutex::new(HashMap::new()),
            columns: Mutex::new(HashMap::new()),
            partitions: Mutex::new(HashMap::new()),
            catalog,
            cursor_key: CursorKey::random(),
            scanned: ScanLedger::default(),
            rows: RowLedger::default(),
            rate,
            cache,
            clock: Arc::new(SystemClock::default()),
            running: None,
        }
    }

    /// Let at most `limit` calls of this session run at once; one more is
    /// refused with `RATE_LIMIT_EXCEEDED` (and audited) rather than queued,
    /// so a client that floods cannot hold work for later.
    pub fn with_call_limit(mut self, limit: usize) -> Self {
        self.running = Some((limit, tokio::sync::Semaphore::new(limit)));
        self
    }

    /// A slot for one call under the session's cap, if it has one.
    pub(crate) fn admit_running(
        &self,
    ) -> Result<Option<tokio::sync::SemaphorePermit<'_>>, ToolError> {
        let Some((limit, slots)) = &self.running else {
            return Ok(None);
        };
        slots.try_acquire().map(Some).map_err(|_| {
            ToolError::new(
                ErrorCode::RateLimitExceeded,
                format!(
                    "`{}` already has {limit} tool call(s) running, the most one identity may run at once",
                    self.policy.identity().user_id
                ),
                "Wait for a running call to finish, then retry; run calls one after another rather than all at once",
            )
        })
    }

    /// Read time from `clock` (rate limits and cache ages) instead of the
    /// system's monotonic clock; tests move it by hand.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Keep results in `cache` (which other sessions may share; its key
    /// holds identity and policy hash, so they never see each other's
    /// results). Only when policy switches the cache on: a session whose
    /// policy leaves it off caches nothing.
    pub fn with_result_cache(mut self, cache: Arc<ResultCache>) -> Self {
        if self.cache.is_some() {
            self.cache = Some(cache);
        }
        self
    }

    /// Record the client's name and version (from `initialize`).
    pub(crate) fn set_client(&self, name: &str, version: &str) {
        if let Ok(mut caller) = self.caller.write() {
            caller.client_name = Some(name.to_string());
            caller.client_version = Some(version.to_string());
        }
    }

    /// The session id written to every audit record.
    pub(crate) fn session_id(&self) -> String {
        self.caller().session_id
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The semantic catalog loaded when the session started.
    pub(crate) fn catalog(&self) -> Result<&SemanticCatalog, ToolError> {
        self.catalog.as_ref().map_err(|errors| {
            let causes: Vec<String> = errors.iter().map(ToString::to_string).collect();
            ToolError::internal(format!(
                "the semantic catalog did not load: {}",
                causes.join("; ")
            ))
        })
    }

    /// The key that signs this session's `query_table` cursors.
    pub(crate) fn cursor_key(&self) -> &CursorKey {
        &self.cursor_key
    }

    pub(crate) fn caller(&self) -> Caller {
        self.caller
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// The estimated bytes this session's queries were admitted to scan.
    pub(crate) fn scanned(&self) -> &ScanLedger {
        &self.scanned
    }

    /// Rows this session's queries returned so far, per source.
    pub(crate) fn rows(&self) -> &RowLedger {
        &self.rows
    }

    /// The session's call rate limits.
    pub(crate) fn rate(&self) -> &RateLimiter {
        &self.rate
    }

    /// The result cache, when policy switches it on.
    pub(crate) fn result_cache(&self) -> Option<&ResultCache> {
        self.cache.as_deref()
    }

    /// The clock rate limits and the cache read.
    pub(crate) fn now(&self) -> std::time::Duration {
        self.clock.now()
    }

    pub(crate) fn audit(&self) -> &dyn AuditSink {
        self.audit.as_ref()
    }

    /// The rules of the source the caller named, or of the only source when
    /// none was named.
    pub(crate) fn source(&self, requested: Option<&str>) -> Result<SourceRules<'_>, ToolError> {
        let names: Vec<&str> = self
            .policy
            .config()
            .connections
            .connections
            .keys()
            .map(String::as_str)
            .collect();
        let name = match (requested, names.as_slice()) {
            (Some(name), _) => name,
            (None, [only]) => only,
            (None, []) => {
                return Err(ToolError::new(
                    ErrorCode::SourceNotFound,
                    "No connection is configured",
                    "Add a connection to `connections.yaml` and run `sqlwarden check`",
                ))
            }
            (None, _) => {
                return Err(ToolError::new(
                    ErrorCode::InvalidArgument,
                    "`source` is required because more than one connection is configured",
                    format!("Pass `source`, one of: {}", backticked(&names)),
                ))
            }
        };
        self.policy.source(name).ok_or_else(|| {
            ToolError::new(
                ErrorCode::SourceNotFound,
                format!("No connection named `{name}` is configured"),
                format!(
                    "Call `list_sources`; the configured sources are: {}",
                    backticked(&names)
                ),
            )
        })
    }

    /// The engine of source `name`, created on first use.
    pub(crate) fn engine(&self, name: &str) -> Result<SharedEngine, ToolError> {
        let mut engines = self
            .engines
            .lock()
            .map_err(|_| ToolError::internal("engine registry lock poisoned"))?;
        if let Some(engine) = engines.get(name) {
            return Ok(engine.clone());
        }
        let connection = self
            .policy
            .config()
            .connections
            .connections
            .get(name)
            .ok_or_else(|| ToolError::internal(format!("source `{name}` has no connection")))?;
        let safeguards = self
            .policy
            .source(name)
            .map(|rules| rules.safeguards())
            .unwrap_or_default();
        let engine = self.factory.create(name, connection, safeguards)?;
        engines.insert(name.to_string(), engine.clone());
        Ok(engine)
    }

    /// Every real column of `table`, from the cache or the engine.
    pub(crate) async fn table_columns(
        &self,
        source: &str,
        engine: &SharedEngine,
        table: &str,
    ) -> Result<Vec<ColumnInfo>, ToolError> {
        let columns = engine.table_columns(table).await?.ok_or_else(|| {
            ToolError::new(
                ErrorCode::BackendError,
                format!("Table `{table}` is allowed by policy but does not exist in `{source}`"),
                "Ask the administrator to fix `policy.yaml`, or pick another table from `list_allowed_tables`",
            )
        })?;
        if let Ok(mut cache) = self.columns.lock() {
            cache.insert((source.to_string(), table.to_string()), columns.clone());
        }
        Ok(columns)
    }

    /// What the gate needs to know about `tables`: their columns, partition
    /// keys and default partitions, each looked up once per session.
    pub(crate) async fn table_facts(
        &self,
        rules: &SourceRules<'_>,
        engine: &SharedEngine,
        tables: &[String],
    ) -> Result<TableFacts, ToolError> {
        let mut facts = TableFacts::default();
        for table in tables {
            let key = (rules.name.to_string(), table.clone());
            let cached = self.columns.lock().ok().and_then(|c| c.get(&key).cloned());
            let columns = match cached {
                Some(columns) => columns,
                None => self.table_columns(rules.name, engine, table).await?,
            };
            let keys: Vec<String> = columns
                .iter()
                .filter(|c| c.partition_key)
                .map(|c| c.name.clone())
                .collect();
            if !keys.is_empty() {
                facts.partition_keys.insert(table.clone(), keys);
            }
            facts
                .columns
                .insert(table.clone(), columns.into_iter().map(|c| c.name).collect());
            let default_partition = rules
                .table(table)
                .and_then(|t| t.default_partition.as_ref());
            if let Some(partition) = default_partition {
                if let Some(value) = self
                    .default_partition(engine, &key, &partition.field)
                    .await?
                {
                    facts.default_partitions.insert(table.clone(), value);
                }
            }
        }
        Ok(facts)
    }

    async fn default_partition(
        &self,
        engine: &SharedEngine,
        key: &(String, String),
        field: &str,
    ) -> Result<Option<String>, ToolError> {
        if let Some(value) = self
            .partitions
            .lock()
            .ok()
            .and_then(|p| p.get(key).cloned())
        {
            return Ok(Some(value));
        }
        let value = engine.max_partition(&key.1, field).await?;
        if let (Some(value), Ok(mut cache)) = (&value, self.partitions.lock()) {
            cache.insert(key.clone(), value.clone());
        }
        Ok(value)
    }
}

/// `a`, `b`: names for a hint.
pub(crate) fn backticked(names: &[&str]) -> String {
    if names.is_empty() {
        return "(none)".into();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
