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
//!
//! The eight rules live in submodules: `parse` (one read-only statement),
//! `analyze`, `from`, `columns` and `exprs` (tables, columns and functions,
//! resolved with scope), `predicates` (what WHERE / ON guarantee),
//! `functions` (the allow-lists), `joins` (approved joins), `row_policy` and
//! `rewrite` (row policies and partitions as derived tables, and printing
//! that lexes the way the AST reads) and `limit`.
//!
//! What this module does not do: I/O of any kind. The caller gathers
//! [`TableFacts`] from the engine between `prepare` and `check`.
//!
//! ```
//! use sqlwarden::config::{Config, ConnectionsFile, JoinsFile, PolicyFile};
//! use sqlwarden::guard::{Gate, TableFacts};
//! use sqlwarden::policy::Policy;
//!
//! let connections: ConnectionsFile = serde_saphyr::from_str(
//!     "connections: {crm: {engine: postgres, host: h, dbname: crm, user: ro}}",
//! ).unwrap();
//! let policy: PolicyFile = serde_saphyr::from_str(r#"
//! identity: {user_id: alice, roles: [region_manager], attributes: {regions: [EAST]}}
//! sources:
//!   crm:
//!     tables:
//!       public.orders:
//!         denied_columns: [note]
//!         row_policies: [{role: region_manager, predicate: "region IN (${user.regions})"}]
//! "#).unwrap();
//! let policy = Policy::new(Config {
//!     dir: "/etc/sqlwarden".into(), connections, policy, joins: JoinsFile::default(),
//!     ..Default::default()
//! });
//! let rules = policy.source("crm").unwrap();
//! let gate = Gate::new(&rules);
//!
//! // A comment hides nothing: the database only ever sees the re-rendered AST.
//! let prepared = gate.prepare("SELECT id, amount FROM Orders o /* ; DROP TABLE x */ LIMIT 5").unwrap();
//! let mut facts = TableFacts::default();
//! facts.columns.insert("public.orders".into(), vec!["id".into(), "amount".into(), "region".into(), "note".into()]);
//! let checked = gate.check(prepared, &facts, None).unwrap();
//! assert_eq!(
//!     checked.sql(),
//!     "SELECT id, amount FROM (SELECT id, amount, region FROM public.orders \
//!      WHERE region IN ('EAST')) AS o LIMIT 5"
//! );
//!
//! // A denied column, a catalog table, a second statement: refused.
//! let denied = gate.check(gate.prepare("SELECT note FROM orders").unwrap(), &facts, None);
//! assert_eq!(denied.unwrap_err().code.as_str(), "COLUMN_NOT_ALLOWED");
//! assert_eq!(gate.prepare("SELECT * FROM pg_shadow").unwrap_err().code.as_str(), "SYSTEM_SCHEMA_NOT_ALLOWED");
//! assert_eq!(gate.prepare("SELECT 1 FROM orders; DROP TABLE orders").unwrap_err().code.as_str(), "SQL_MULTIPLE_STATEMENTS");
//! ```

mod analyze;
mod barrier;
mod canonical;
mod columns;
mod dialect;
mod exprs;
mod from;
mod functions;
mod joins;
mod limit;
mod parse;
mod predicates;
mod refusal;
mod rewrite;
mod row_policy;
mod scope;
mod verify;

use std::collections::BTreeMap;
use std::time::Duration;

use sqlparser::ast::{Expr, Query, SelectItem, SetExpr, TableFactor};

use self::analyze::{Analysis, Analyzer};
/// How an engine parses, folds and quotes names; the semantic layer builds
/// its ASTs with the same rules the gate checks them by.
pub(crate) use self::dialect::Flavor;
use self::rewrite::Replacement;
use self::scope::BaseColumn;
use crate::error::ToolError;
use crate::policy::SourceRules;

/// The gate for one source.
pub struct Gate<'a> {
    rules: &'a SourceRules<'a>,
}

/// A parsed query whose table references are resolved and allowed.
#[derive(Debug)]
pub struct PreparedQuery {
    tables: Vec<String>,
    query: Query,
}

/// Facts about the referenced tables that validation needs, gathered from
/// the engine by the caller (and cached per session).
#[derive(Debug, Clone, Default)]
pub struct TableFacts {
    /// Every real column of each referenced table (as the database spells
    /// it, in table order), by the policy key [`PreparedQuery::tables`]
    /// gives. A referenced table missing here fails the check.
    pub columns: BTreeMap<String, Vec<String>>,
    /// The resolved default partition value of each referenced table that
    /// has `default_partition` in policy, by policy key. When a table that
    /// requires a partition filter has none here, a query without its own
    /// partition predicate is refused.
    pub default_partitions: BTreeMap<String, String>,
    /// The partition key columns of each referenced partitioned table, by
    /// policy key (from the engine's schema). `require_partition_filter`
    /// on a table without `default_partition` is satisfied by a predicate
    /// on any of them; a table missing here has no known partition column,
    /// so such a query is refused.
    pub(crate) partition_keys: BTreeMap<String, Vec<String>>,
}

/// A base column that an output column of a checked query copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOf {
    /// The policy key of its table.
    pub table: String,
    /// The column's real name.
    pub column: String,
}

/// A query that passed the gate: the only thing an engine will run.
#[derive(Debug, Clone)]
pub struct CheckedQuery {
    sql: String,
    tables_used: Vec<String>,
    columns_used: Vec<String>,
    applied_limit: u64,
    partitions_used: BTreeMap<String, String>,
    max_cell_bytes: u64,
    max_result_bytes: u64,
    timeout: Duration,
    /// For each output column, what it copies (see
    /// [`Self::output_copies`]); `None` when the columns were not resolved.
    outputs: Option<Vec<Vec<CopyOf>>>,
}

impl<'a> Gate<'a> {
    /// A gate for the source these rules describe.
    pub fn new(rules: &'a SourceRules<'a>) -> Self {
        Self { rules }
    }

    /// Parse `sql` in the source's dialect, require exactly one read-only
    /// query, and resolve and allow every table reference.
    pub fn prepare(&self, sql: &str) -> Result<PreparedQuery, ToolError> {
        let query = parse::parse_query(self.flavor(), sql)?;
        let analysis = Analyzer::new(self.rules, None).run(&query)?;
        Ok(PreparedQuery {
            tables: distinct_keys(&analysis),
            query,
        })
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
        let (checked, query) = self.check_before_recheck(prepared, facts, requested_limit)?;
        let sql = &checked.sql;
        verify::verify(self.flavor(), &query, sql, &self.rules.security).map_err(|e| {
            match e.internal {
                // The audit record keeps the text that would have run.
                Some(detail) if e.code == crate::error::ErrorCode::GateMismatch => ToolError {
                    internal: Some(format!("{detail}; rendered: {sql}")),
                    ..e
                },
                _ => e,
            }
        })?;
        Ok(checked)
    }

    /// [`Self::check`] without its last step, the re-check of the rendered
    /// text on the engine's own parser: for the gate benchmark only, which
    /// measures the rest of the gate apart from that step. Only test code
    /// (the `fuzzing` feature) has it; no build of the binary does.
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn check_without_recheck(
        &self,
        prepared: PreparedQuery,
        facts: &TableFacts,
        requested_limit: Option<u64>,
    ) -> Result<CheckedQuery, ToolError> {
        self.check_before_recheck(prepared, facts, requested_limit)
            .map(|(checked, _)| checked)
    }

    /// Every step of [`Self::check`] but the re-check; also returns the
    /// final AST, which the re-check compares with the rendered text.
    fn check_before_recheck(
        &self,
        prepared: PreparedQuery,
        facts: &TableFacts,
        requested_limit: Option<u64>,
    ) -> Result<(CheckedQuery, Query), ToolError> {
        let PreparedQuery { mut query, .. } = prepared;
        if requested_limit == Some(0) {
            return Err(refusal::limit_positive("The `limit` argument"));
        }
        let analysis = Analyzer::new(self.rules, Some(facts)).run(&query)?;
        joins::check(&analysis, self.rules)?;
        let tables = distinct_keys(&analysis);
        let fenced = barrier::needed(&query);
        let (replacements, partitions_used) = self.replacements(&analysis, facts, fenced)?;
        rewrite::apply(self.flavor(), &mut query, &analysis.instances, replacements)?;

        let keys: Vec<&str> = tables.iter().map(String::as_str).collect();
        let requested = match (requested_limit, analysis.top_limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let applied_limit = self.rules.row_limit(&keys, requested);
        // The query's own LIMIT already caps it at `applied_limit`: fetching
        // one more row would only report a truncation that did not happen.
        let fetch = if analysis.top_limit == Some(applied_limit) {
            applied_limit
        } else {
            applied_limit.saturating_add(1)
        };
        limit::set_limit(&mut query, fetch);
        rewrite::harden(&mut query);
        canonical::canonicalize(self.flavor(), &mut query)?;
        let sql = query.to_string();

        let limits = &self.rules.limits;
        let checked = CheckedQuery {
            sql,
            tables_used: tables,
            columns_used: analysis.columns_used.into_iter().collect(),
            applied_limit,
            partitions_used,
            max_cell_bytes: limits.max_cell_bytes,
            max_result_bytes: limits.max_result_bytes,
            timeout: limits.query_timeout,
            outputs: Some(analysis.top_copies),
        };
        Ok((checked, query))
    }

    /// Build the query `preview_table` runs: the allowed columns of `table`
    /// (newest partition by default), through the same checks as any query.
    pub fn preview(
        &self,
        table: &str,
        facts: &TableFacts,
        requested_limit: Option<u64>,
    ) -> Result<CheckedQuery, ToolError> {
        let flavor = self.flavor();
        let key = self.rules.normalize_key(table);
        let Some(all) = facts.columns.get(&key) else {
            return match self.rules.table(&key) {
                None => Err(refusal::table_not_allowed(table, &self.allowed_tables())),
                Some(_) => Err(ToolError::internal(format!("no column facts for `{key}`"))),
            };
        };
        let columns: Vec<&String> = all
            .iter()
            .filter(|c| self.rules.column_allowed(&key, c))
            .collect();
        if columns.is_empty() {
            return Err(refusal::column_not_allowed(&key, "*", &[]));
        }
        let mut query = rewrite::select_template()?;
        let SetExpr::Select(select) = query.body.as_mut() else {
            return Err(ToolError::internal("preview template is not a SELECT"));
        };
        select.projection = columns
            .iter()
            .map(|c| SelectItem::UnnamedExpr(Expr::Identifier(flavor.ident(c))))
            .collect();
        let parts: Vec<String> = key.split('.').map(str::to_string).collect();
        if let Some(TableFactor::Table { name, .. }) =
            select.from.first_mut().map(|t| &mut t.relation)
        {
            *name = flavor.object_name(&parts);
        }
        // The built query goes through the gate as text, exactly like an
        // agent's query, so preview gets no path around any rule.
        let prepared = self.prepare(&query.to_string())?;
        self.check(prepared, facts, requested_limit)
    }

    fn flavor(&self) -> Flavor {
        Flavor::of(self.rules.engine)
    }

    fn allowed_tables(&self) -> Vec<&str> {
        self.rules.tables().into_iter().map(|(k, _)| k).collect()
    }

    /// Rules 6 and 7: what each table reference becomes.
    fn replacements(
        &self,
        analysis: &Analysis,
        facts: &TableFacts,
        fenced: bool,
    ) -> Result<(Vec<Replacement>, BTreeMap<String, String>), ToolError> {
        let flavor = self.flavor();
        let mut partitions_used = BTreeMap::new();
        let mut bound: BTreeMap<&str, Vec<Expr>> = BTreeMap::new();
        let mut replacements = Vec::new();
        for (id, instance) in analysis.instances.iter().enumerate() {
            let key = instance.key.as_str();
            let Some(table) = self.rules.table(key) else {
                return Err(ToolError::internal(format!("`{key}` vanished from policy")));
            };
            if !bound.contains_key(key) {
                let mut filters = Vec::new();
                for policy in self.rules.row_policies(key) {
                    filters.push(row_policy::bind(
                        flavor,
                        key,
                        &policy.predicate,
                        self.rules.identity,
                    )?);
                }
                bound.insert(key, filters);
            }
            let mut filters = bound.get(key).cloned().unwrap_or_default();
            if let Some(partition) = self.partition_filter(analysis, id, facts)? {
                partitions_used.insert(key.to_string(), partition.1.clone());
                filters.push(partition.0);
            } else if table.require_partition_filter
                && !self.partition_constrained(analysis, id, facts)
            {
                let fields = partition_fields(table, facts, key);
                let field = match fields.as_slice() {
                    [] => "the partition column".to_string(),
                    fields => fields.join("` or `"),
                };
                return Err(refusal::partition_required(key, &field));
            }
            let row_policed = !self.rules.row_policies(key).is_empty();
            let column_rules = self.rules.has_column_rules(key);
            let wrap = (!filters.is_empty() || column_rules).then(|| {
                let columns = instance
                    .columns
                    .iter()
                    .filter(|c| !column_rules || self.rules.column_allowed(key, c))
                    .cloned()
                    .collect();
                (columns, filters)
            });
            replacements.push(Replacement {
                parts: instance.parts.clone(),
                binding: instance.binding.clone(),
                wrap,
                barrier: fenced && row_policed,
            });
        }
        Ok((replacements, partitions_used))
    }

    /// Whether the query constrains one of the instance's partition columns
    /// (the `default_partition` field, or else any partition key) to
    /// constants.
    fn partition_constrained(&self, analysis: &Analysis, id: usize, facts: &TableFacts) -> bool {
        let instance = &analysis.instances[id];
        let Some(table) = self.rules.table(&instance.key) else {
            return false;
        };
        let fields = partition_fields(table, facts, &instance.key);
        instance
            .columns
            .iter()
            .filter(|c| fields.iter().any(|f| self.rules.same_name(c, f)))
            .any(|c| {
                analysis.implied.constants.contains(&BaseColumn {
                    instance: id,
                    column: c.clone(),
                })
            })
    }

    /// The default-partition predicate to inject, with its value, when the
    /// table has one and the query does not constrain the partition column.
    fn partition_filter(
        &self,
        analysis: &Analysis,
        id: usize,
        facts: &TableFacts,
    ) -> Result<Option<(Expr, String)>, ToolError> {
        let instance = &analysis.instances[id];
        let Some(partition) = self
            .rules
            .table(&instance.key)
            .and_then(|t| t.default_partition.as_ref())
        else {
            return Ok(None);
        };
        if self.partition_constrained(analysis, id, facts) {
            return Ok(None);
        }
        let Some(value) = facts.default_partitions.get(&instance.key) else {
            return Ok(None);
        };
        let field = instance
            .columns
            .iter()
            .find(|c| self.rules.same_name(c, &partition.field))
            .cloned()
            .unwrap_or_else(|| partition.field.clone());
        Ok(Some((
            rewrite::partition_predicate(self.flavor(), &field, value),
            value.clone(),
        )))
    }
}

/// The columns a partition predicate may constrain: the policy's
/// `default_partition` field when it names one (that is the column the
/// default is injected on), otherwise every partition key the engine
/// reported.
fn partition_fields<'f>(
    table: &'f crate::config::TablePolicy,
    facts: &'f TableFacts,
    key: &str,
) -> Vec<&'f str> {
    match &table.default_partition {
        Some(partition) => vec![partition.field.as_str()],
        None => facts
            .partition_keys
            .get(key)
            .map(|keys| keys.iter().map(String::as_str).collect())
            .unwrap_or_default(),
    }
}

/// The policy keys of the analysed table references, in first-use order.
fn distinct_keys(analysis: &Analysis) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for instance in &analysis.instances {
        if !keys.contains(&instance.key) {
            keys.push(instance.key.clone());
        }
    }
    keys
}

impl PreparedQuery {
    /// The policy keys of every table the query reads.
    pub fn tables(&self) -> &[String] {
        &self.tables
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
            tables_used: Vec::new(),
            columns_used: Vec::new(),
            applied_limit,
            partitions_used: BTreeMap::new(),
            max_cell_bytes,
            max_result_bytes,
            timeout,
            outputs: None,
        }
    }

    /// The same query, with the column count the gate would have resolved
    /// for it (engine unit tests only).
    #[cfg(test)]
    #[allow(dead_code)] // the engines' unit tests call it
    pub(crate) fn with_output_columns(mut self, columns: usize) -> Self {
        self.outputs = Some(vec![Vec::new(); columns]);
        self
    }

    /// The same query, its output columns copying `copies` (engine unit
    /// tests only).
    #[cfg(test)]
    #[allow(dead_code)] // the engines' unit tests call it
    pub(crate) fn with_output_copies(mut self, copies: &[&[(&str, &str)]]) -> Self {
        self.outputs = Some(
            copies
                .iter()
                .map(|column| {
                    column
                        .iter()
                        .map(|(table, column)| CopyOf {
                            table: (*table).to_owned(),
                            column: (*column).to_owned(),
                        })
                        .collect()
                })
                .collect(),
        );
        self
    }

    /// The same query, reading `tables` (engine unit tests only).
    #[cfg(test)]
    #[allow(dead_code)] // the engines' unit tests call it
    pub(crate) fn with_tables_used(mut self, tables: &[&str]) -> Self {
        self.tables_used = tables.iter().map(|t| (*t).to_owned()).collect();
        self
    }

    /// The rendered, rewritten SQL; what the engine runs. Its `LIMIT` is
    /// [`Self::applied_limit`] + 1 so truncation is detected truthfully.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Policy keys of the tables read.
    pub fn tables_used(&self) -> &[String] {
        &self.tables_used
    }

    /// `table.column` of every column read.
    pub fn columns_used(&self) -> &[String] {
        &self.columns_used
    }

    /// How many columns the query returns as the gate resolved them, from
    /// its table facts; `None` when it was not resolved. The engine checks
    /// it against the server's own description before it uses a result
    /// built on it.
    pub fn output_columns(&self) -> Option<usize> {
        self.outputs.as_ref().map(Vec::len)
    }

    /// For each output column (when [`Self::output_columns`] is known), the
    /// base columns it is a plain copy of: empty for a computed value,
    /// several through a set operation or a `USING` join. A branch of a set
    /// operation may also compute the value, so the result's type can be
    /// wider than the copied columns': an engine relies on it only after
    /// the server described the result.
    pub fn output_copies(&self) -> &[Vec<CopyOf>] {
        self.outputs.as_deref().unwrap_or_default()
    }

    /// The row limit the caller gets.
    pub fn applied_limit(&self) -> u64 {
        self.applied_limit
    }

    /// Lower the row limit to `cap` (a session row budget's remainder);
    /// true when that changed it. The engines stop reading at
    /// [`Self::applied_limit`] + 1 rows whatever the SQL's `LIMIT`, so
    /// truncation is still reported truthfully.
    pub(crate) fn cap_rows(&mut self, cap: u64) -> bool {
        let lowered = cap < self.applied_limit;
        self.applied_limit = self.applied_limit.min(cap);
        lowered
    }

    /// Partition values chosen by default, by table key.
    pub fn partitions_used(&self) -> &BTreeMap<String, String> {
        &self.partitions_used
    }

    /// Bytes one cell may hold before it is cut.
    pub(crate) fn max_cell_bytes(&self) -> u64 {
        self.max_cell_bytes
    }

    /// Bytes of row data the result may hold.
    pub(crate) fn max_result_bytes(&self) -> u64 {
        self.max_result_bytes
    }

    /// Time before the engine cancels the query.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
