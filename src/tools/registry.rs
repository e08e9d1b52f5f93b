//! The tool registry: every tool sqlwarden has, written once.
//!
//! One [`ToolSpec`] per tool holds everything about it: its wire name (also
//! the audit `tool_name` and the key that switches it off under `tools:`
//! in `policy.yaml`), title, description, an example call for hints, its
//! MCP annotations, and its handler, whose argument type gives the input
//! schema. `tools/list` ([`crate::server`]), the pipeline's dispatch and the
//! hints all read this list. Adding a tool is one entry here, one
//! [`Handler`] (in a tool file of its own, declared in `tools/mod.rs`, or
//! in the file of its family) and the schema of its data in `output.rs`.
//!
//! `config` validates the `tools:` and `rate_limits.tools:` keys of
//! `policy.yaml` (with file, line and column) while it loads, before any
//! tool exists, and must not import `tools`; so it keeps the bare names in
//! [`crate::config::TOOL_NAMES`]. A compile-time check below fails the
//! build until that list names the registry's tools, in the same order.

use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

use crate::error::ToolError;
use crate::policy::Policy;

use super::args::parse;
use super::call::{Call, Handler};
use super::envelope::ToolSuccess;
use super::input::schema;
use super::{catalog, output, query, semantic, table};

/// The example call of the three metric request tools.
const METRIC_QUERY_EXAMPLE: &str = r#"{"metric": "revenue", "dimensions": ["region"], "filters": [{"op": "eq", "field": "status", "value": "paid"}], "time_range": {"start": "2024-01-01", "end": "2024-04-01"}, "grain": "month"}"#;

/// Every tool sqlwarden has, in the order clients list them.
pub(crate) const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "list_sources",
        title: "List data sources",
        description: "List the configured data sources (connections): name, engine (postgres or maxcompute), default schema or project, the schemas or projects that hold allowed tables, and how many tables policy allows. Call this first; pass a source's `name` as `source` to the other tools (optional when only one source exists).",
        example: "{}",
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<catalog::ListSources>(),
        output: output::sources,
    },
    ToolSpec {
        name: "list_allowed_tables",
        title: "List allowed tables",
        description: "List the tables policy allows on one source, with domain, owner, sensitivity, description, row limit and whether a partition filter is required. Only these tables can be described, previewed or queried; any other table is refused with TABLE_NOT_ALLOWED. Use the `table` keys exactly as returned.",
        example: r#"{"source": "crm"}"#,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<catalog::ListAllowedTables>(),
        output: output::allowed_tables,
    },
    ToolSpec {
        name: "describe_table",
        title: "Describe a table",
        description: "Describe one allowed table: its allowed columns only (name, type, nullable, description from policy, database comment, partition and primary key flags), partition keys, whether row policies filter it, and its approved joins. Columns not listed here are refused in queries with COLUMN_NOT_ALLOWED. Call before writing SQL against a table.",
        example: r#"{"table": "public.orders"}"#,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<table::DescribeTable>(),
        output: output::table_description,
    },
    ToolSpec {
        name: "list_partitions",
        title: "List partitions",
        description: "List the partitions of a partitioned table, newest first, one page at a time (`limit` default 50, at most 500; pass `next_marker` as `marker` for the next page). On PostgreSQL it lists the partitions of a declaratively partitioned table; other tables return an empty list.",
        example: r#"{"table": "project.table", "limit": 20}"#,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<table::ListPartitions>(),
        output: output::partitions,
    },
    ToolSpec {
        name: "get_join_paths",
        title: "Get approved joins",
        description: "List the approved joins that touch a table: the other table, the join columns, cardinality, purpose and example SQL. Queries may relate two tables only along an approved join (on exactly its columns); anything else is refused with JOIN_NOT_APPROVED. This holds wherever rows of one table can reach another's: FROM and JOIN, IN / ANY / ALL subqueries, ARRAY(SELECT ...), array_agg and other gathering aggregates, unnest and other table functions, LATERAL, correlated subqueries. A self-join (a table with itself, also two references to one CTE or a subquery on the same table) needs an approved join from the table to itself, listed here with the table on both sides. One-row pieces are constants and need no join: an uncorrelated scalar subquery, EXISTS, or an aggregate without GROUP BY (unless it gathers rows into an array or string).",
        example: r#"{"table": "public.orders"}"#,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<catalog::GetJoinPaths>(),
        output: output::join_paths,
    },
    ToolSpec {
        name: "preview_table",
        title: "Preview a table",
        description: "Return a few rows (default 10) of the allowed columns of a table, from the newest partition when the table is partitioned, with row policies applied. Result: `columns` [{name, type}] and `rows` as arrays in column order. Cheaper and safer than writing SQL to look at data.",
        example: r#"{"table": "public.orders", "limit": 5}"#,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<table::PreviewTable>(),
        output: output::query_rows,
    },
    ToolSpec {
        name: "run_select_sql",
        title: "Run a read-only SELECT",
        description: "Run one read-only SELECT and return `columns` [{name, type}] and `rows` (arrays in column order). The SQL is parsed and checked before anything runs: only tables from `list_allowed_tables`, only allowed columns, named explicitly (no `*` on governed tables), joins only along `get_join_paths`, allowed functions only, no writes, locks or session settings. Row policies are applied and the limit is the smallest of `limit`, your SQL's LIMIT and the policy maximum; `metadata.truncated` says when more rows existed. On a source with a scan budget the query is estimated first and refused with COST_BUDGET_EXCEEDED when over it. What runs is the gate's rewritten SQL, never your text.",
        example: r#"{"sql": "SELECT order_id, amount FROM public.orders", "limit": 20}"#,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<query::RunSelectSql>(),
        output: output::query_rows,
    },
    ToolSpec {
        name: "estimate_query_cost",
        title: "Estimate query cost",
        description: "Check a SELECT exactly as `run_select_sql` would, then return the engine's estimate (PostgreSQL EXPLAIN, MaxCompute COST SQL) without running it: estimated rows, cost, bytes scanned when known, the plan, and the source's scan budget with what this session has left of it. When a table in the query is under a row policy that applies to you, rows, cost and plan are withheld (the engine's statistics count rows the policy hides); bytes scanned and the budget remain. Use before a query that may scan a lot.",
        example: r#"{"sql": "SELECT order_id, amount FROM public.orders", "limit": 20}"#,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<query::EstimateQueryCost>(),
        output: output::estimate,
    },
    ToolSpec {
        name: "list_domains",
        title: "List business domains",
        description: "List the business domains of the data team's semantic layer: name, owner, description, default source, the metrics of each domain and how many business terms it has. Start here (or with `search_business_terms`) when a question is about business concepts rather than tables; then pass a domain to `list_metrics`.",
        example: "{}",
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<semantic::ListDomains>(),
        output: output::domains,
    },
    ToolSpec {
        name: "search_business_terms",
        title: "Search business terms",
        description: "Find the team's business terms and metrics that match a `keyword` (any language, Chinese included): ranked matches over names, synonyms and descriptions, best first, each with its definition and the tables, columns and metrics it maps to. Use it to turn a word from the question (`revenue`, `销售额`) into a metric name for `run_metric_query` or a table for `query_table`.",
        example: r#"{"keyword": "revenue"}"#,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<semantic::SearchBusinessTerms>(),
        output: output::term_matches,
    },
    ToolSpec {
        name: "list_metrics",
        title: "List metrics",
        description: "List the curated metrics (all, or one `domain`'s): name, domain, description, unit. A curated metric is the data team's approved definition; prefer `run_metric_query` with it over writing your own aggregate SQL. An unknown domain is INVALID_ARGUMENT.",
        example: r#"{"domain": "sales"}"#,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<semantic::ListMetrics>(),
        output: output::metrics,
    },
    ToolSpec {
        name: "get_metric_definition",
        title: "Get a metric's definition",
        description: "The full definition of one metric: expression, base table, source, approved joins, dimensions, time dimension and grains, default filters, format and unit. An unknown metric is METRIC_NOT_FOUND with the known names in the hint.",
        example: r#"{"metric": "revenue"}"#,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<semantic::GetMetricDefinition>(),
        output: output::metric_definition,
    },
    ToolSpec {
        name: "get_dimensions",
        title: "Get a metric's dimensions",
        description: "What one metric may be grouped and filtered by: each dimension's name (use it in `dimensions` and as `field` in `filters`), table, column and description, and the time dimension with its allowed grains. Any other dimension is refused with DIMENSION_NOT_ALLOWED.",
        example: r#"{"metric": "revenue"}"#,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<semantic::GetDimensions>(),
        output: output::dimensions,
    },
    ToolSpec {
        name: "generate_metric_sql",
        title: "Generate a metric's SQL",
        description: "Compile a metric request (`metric`, optional `dimensions`, `filters` on dimensions such as {\"op\": \"eq\", \"field\": \"region\", \"value\": \"EAST\"}, `time_range` {start, end} with end excluded, `grain`, `limit`) into SQL and check it exactly as `run_select_sql` would, without running it. Returns the SQL that would run (row policies, partition defaults and the limit applied) and the output columns: `period` (with a grain), the dimensions, then the metric. Use `run_metric_query` to get the numbers.",
        example: METRIC_QUERY_EXAMPLE,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<semantic::GenerateMetricSql>(),
        output: output::metric_sql,
    },
    ToolSpec {
        name: "validate_metric_query",
        title: "Validate a metric request",
        description: "Check a metric request (same arguments as `run_metric_query`) and return `valid` and every `problem` found, each with its error code, message and hint (METRIC_NOT_FOUND, DIMENSION_NOT_ALLOWED, a bad grain or time range, a gate refusal such as COLUMN_NOT_ALLOWED), instead of SQL. Nothing runs.",
        example: METRIC_QUERY_EXAMPLE,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<semantic::ValidateMetricQuery>(),
        output: output::metric_validation,
    },
    ToolSpec {
        name: "run_metric_query",
        title: "Run a metric query",
        description: "Compute a curated metric in one step: `metric` (from `list_metrics`), optional `dimensions` to group by and `filters` on them (see `get_dimensions`), optional `time_range` {start, end} (`YYYY-MM-DD`, end excluded) and `grain` (hour, day, week, month, quarter, year; only the metric's grains), and `limit`. Returns `columns` [{name, type}] and `rows` (arrays in column order): `period` first when a grain is given, then the dimensions, then the metric. The generated SQL passes the same checks as `run_select_sql`: row policies, partition rules and column rules apply.",
        example: METRIC_QUERY_EXAMPLE,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<semantic::RunMetricQuery>(),
        output: output::query_rows,
    },
    ToolSpec {
        name: "query_table",
        title: "Query a table without SQL",
        description: "Read rows of one allowed table without writing SQL: `table` (from `list_allowed_tables`), `columns` to return (allowed columns only, see `describe_table`), an optional `filter` tree (op: eq, ne, lt, le, gt, ge, in, between, like, is_null, and, or, not; for example {\"op\": \"and\", \"filters\": [{\"op\": \"eq\", \"field\": \"status\", \"value\": \"paid\"}, {\"op\": \"ge\", \"field\": \"amount\", \"value\": 100}]}), `order_by`, and `limit`. Returns `columns`, `rows` and `next_cursor`: when it is not null, call again with the same arguments plus `cursor` for the next page. Row policies, partition rules and column rules apply as for `run_select_sql`.",
        example: r#"{"table": "public.orders", "columns": ["order_id", "amount"], "filter": {"op": "gt", "field": "amount", "value": 100}, "limit": 20}"#,
        annotations: Annotations::READ_ONLY,
        handler: Handle::of::<semantic::QueryTable>(),
        output: output::table_rows,
    },
];

/// A tool as listed to clients, and the handler that answers it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ToolSpec {
    /// Wire name; also the audit `tool_name` and the key of the tool's
    /// switch under `tools:` in `policy.yaml`.
    pub name: &'static str,
    /// Short human title.
    pub(crate) title: &'static str,
    /// What it returns, what it refuses, what to call first.
    pub(crate) description: &'static str,
    /// A correct call, shown in the hint of an `INVALID_ARGUMENT` refusal.
    pub(crate) example: &'static str,
    /// What the tool promises about its effects.
    pub(crate) annotations: Annotations,
    handler: Handle,
    /// The schema of its successful `data` (see [`super::output`]).
    output: fn() -> Value,
}

/// What a tool promises clients about its effects (MCP tool annotations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Annotations {
    /// It changes nothing.
    pub(crate) read_only: bool,
    /// It may destroy data.
    pub(crate) destructive: bool,
    /// Calling it again with the same arguments has no further effect.
    pub(crate) idempotent: bool,
    /// It reaches beyond the configured sources.
    pub(crate) open_world: bool,
}

impl Annotations {
    /// A tool that only reads the configured sources: every sqlwarden tool.
    pub(crate) const READ_ONLY: Self = Self {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
}

/// What a call returns before the pipeline wraps it.
type Answer<'a> = BoxFuture<'a, Result<ToolSuccess, ToolError>>;

/// A tool's handler with its argument type erased, so that one list can
/// hold every tool.
#[derive(Clone, Copy)]
struct Handle {
    input_schema: fn() -> Map<String, Value>,
    invoke: for<'a> fn(&'static ToolSpec, Call<'a>, Option<Value>) -> Answer<'a>,
}

impl Handle {
    const fn of<H: Handler>() -> Self {
        Self {
            input_schema: schema::<H::Args>,
            invoke: invoke::<H>,
        }
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handle")
    }
}

/// Parse the raw arguments into `H::Args`, then run `H`.
fn invoke<'a, H: Handler>(
    spec: &'static ToolSpec,
    call: Call<'a>,
    raw: Option<Value>,
) -> Answer<'a> {
    Box::pin(async move {
        let args = parse::<H::Args>(spec.name, spec.example, raw)?;
        H::run(call, args).await
    })
}

impl ToolSpec {
    /// The JSON Schema of its arguments (MCP `inputSchema`).
    pub(crate) fn input_schema(&self) -> Map<String, Value> {
        (self.handler.input_schema)()
    }

    /// The JSON Schema of its results (MCP `outputSchema`): the envelope
    /// with this tool's `data`.
    pub(crate) fn output_schema(&self) -> Map<String, Value> {
        output::envelope((self.output)())
    }

    /// Parse `raw` as this tool's arguments and answer the call.
    pub(crate) fn invoke<'a>(&'static self, call: Call<'a>, raw: Option<Value>) -> Answer<'a> {
        (self.handler.invoke)(self, call, raw)
    }
}

/// The spec of a tool by name.
pub(crate) fn spec(name: &str) -> Option<&'static ToolSpec> {
    TOOLS.iter().find(|t| t.name == name)
}

/// The tools the policy leaves switched on.
pub(crate) fn enabled_tools(policy: &Policy) -> Vec<&'static ToolSpec> {
    TOOLS
        .iter()
        .filter(|t| policy.tool_enabled(t.name))
        .collect()
}

const _: () = assert!(
    same_names(TOOLS, crate::config::TOOL_NAMES),
    "config::TOOL_NAMES (the tool names policy.yaml may name) must list the registry's tools, in the same order"
);

/// Whether `tools` has exactly `names`, in order (in a `const`, where
/// neither iterators nor `==` on strings are available).
const fn same_names(tools: &[ToolSpec], names: &[&str]) -> bool {
    if tools.len() != names.len() {
        return false;
    }
    let mut i = 0;
    while i < tools.len() {
        let (a, b) = (tools[i].name.as_bytes(), names[i].as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut j = 0;
        while j < a.len() {
            if a[j] != b[j] {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
