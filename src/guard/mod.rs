//! The SQL gate: parse -> validate -> rewrite, on the sqlparser AST.
//!
//! The invariant: **the database sees only what the gate printed.** The
//! agent's text is parsed in the engine's dialect, checked against the
//! source's [`SourceRules`], rewritten (row policies as filtered derived
//! tables, default partitions, the limit) and rendered again; only that
//! rendering reaches an engine, inside a [`CheckedQuery`], which nothing
//! outside this module can construct.
//!
//! Checking happens in two steps because column rules need the tables' real
//! columns: [`Gate::prepare`] parses and resolves table references (so the
//! caller knows which tables to describe), then [`Gate::check`] validates
//! everything else against [`TableFacts`] and rewrites.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::ToolError;
use crate::policy::SourceRules;

/// The gate for one source.
pub struct Gate<'a> {
    rules: &'a SourceRules<'a>,
}

/// A parsed query whose table references are resolved and allowed.
#[derive(Debug)]
pub struct PreparedQuery {
    original_sql: String,
    tables: Vec<String>,
}

/// Facts about the referenced tables that validation needs, gathered from
/// the engine by the caller (and cached per session).
#[derive(Debug, Clone, Default)]
pub struct TableFacts {
    /// Every real column of each referenced table, by policy key.
    pub columns: BTreeMap<String, Vec<String>>,
    /// The resolved default partition value of each referenced table that
    /// has `default_partition` in policy, by policy key.
    pub default_partitions: BTreeMap<String, String>,
}

/// A query that passed the gate: the only thing an engine will run.
#[derive(Debug, Clone)]
pub struct CheckedQuery {
    sql: String,
    original_sql: String,
    tables_used: Vec<String>,
    columns_used: Vec<String>,
    applied_limit: u64,
    partitions_used: BTreeMap<String, String>,
    max_cell_bytes: u64,
    max_result_bytes: u64,
    timeout: Duration,
}

impl<'a> Gate<'a> {
    /// A gate for the source these rules describe.
    pub fn new(rules: &'a SourceRules<'a>) -> Self {
        Self { rules }
    }

    /// Parse `sql` in the source's dialect, require exactly one read-only
    /// query, and resolve and allow every table reference.
    pub fn prepare(&self, sql: &str) -> Result<PreparedQuery, ToolError> {
        todo!("gate helper: {sql} {}", self.rules.name)
    }

    /// Validate columns, functions, joins, partitions and limits, apply row
    /// policies, and render the SQL to run. `requested_limit` is the
    /// caller's `limit` argument, if any.
    pub fn check(
        &self,
        prepared: PreparedQuery,
        facts: &TableFacts,
        requested_limit: Option<u64>,
    ) -> Result<CheckedQuery, ToolError> {
        todo!("gate helper: {prepared:?} {facts:?} {requested_limit:?}")
    }

    /// Build the query `preview_table` runs: the allowed columns of `table`
    /// (newest partition by default), through the same checks as any query.
    pub fn preview(
        &self,
        table: &str,
        facts: &TableFacts,
        requested_limit: Option<u64>,
    ) -> Result<CheckedQuery, ToolError> {
        todo!("gate helper: {table} {facts:?} {requested_limit:?}")
    }
}

impl PreparedQuery {
    /// The policy keys of every table the query reads.
    pub fn tables(&self) -> &[String] {
        &self.tables
    }

    /// The SQL as the agent sent it.
    pub fn original_sql(&self) -> &str {
        &self.original_sql
    }
}

impl CheckedQuery {
    /// A query that skipped the gate, for engine unit tests only.
    #[cfg(test)]
    #[allow(dead_code)] // the engines' unit tests call it
    pub(crate) fn for_engine_tests(
        sql: &str,
        applied_limit: u64,
        max_cell_bytes: u64,
        max_result_bytes: u64,
        timeout: Duration,
    ) -> Self {
        Self {
            sql: sql.into(),
            original_sql: sql.into(),
            tables_used: Vec::new(),
            columns_used: Vec::new(),
            applied_limit,
            partitions_used: BTreeMap::new(),
            max_cell_bytes,
            max_result_bytes,
            timeout,
        }
    }

    /// The rendered, rewritten SQL; what the engine runs. Its `LIMIT` is
    /// [`Self::applied_limit`] + 1 so truncation is detected truthfully.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The SQL as the agent sent it (for the audit record).
    pub fn original_sql(&self) -> &str {
        &self.original_sql
    }

    /// Policy keys of the tables read.
    pub fn tables_used(&self) -> &[String] {
        &self.tables_used
    }

    /// `table.column` of every column read.
    pub fn columns_used(&self) -> &[String] {
        &self.columns_used
    }

    /// The row limit the caller gets.
    pub fn applied_limit(&self) -> u64 {
        self.applied_limit
    }

    /// Partition values chosen by default, by table key.
    pub fn partitions_used(&self) -> &BTreeMap<String, String> {
        &self.partitions_used
    }

    /// Bytes one cell may hold before it is cut.
    pub fn max_cell_bytes(&self) -> u64 {
        self.max_cell_bytes
    }

    /// Bytes of row data the result may hold.
    pub fn max_result_bytes(&self) -> u64 {
        self.max_result_bytes
    }

    /// Time before the engine cancels the query.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}
