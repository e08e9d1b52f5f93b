//! The semantic tools' arguments, as the agent sends them.
//!
//! Each struct is the JSON object of one tool call: `deny_unknown_fields`,
//! so a misspelt key is an `INVALID_ARGUMENT`, and a `JsonSchema` whose
//! descriptions (these doc comments) are what the agent reads in
//! `tools/list`. Nothing here checks values against the catalog or policy;
//! the functions in `crate::semantic` do.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::filter::Filter;
use crate::config::semantic_catalog::Grain;

/// Arguments of `list_domains` (none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListDomainsArgs {}

/// Arguments of `search_business_terms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBusinessTermsArgs {
    /// Words to look for in term and metric names, synonyms and
    /// descriptions; any language (Chinese included).
    pub keyword: String,
    /// Only terms and metrics of this domain (see `list_domains`).
    #[serde(default)]
    pub domain: Option<String>,
    /// Most matches to return, best first (default 10, at most 50).
    #[serde(default)]
    pub limit: Option<u64>,
}

/// Arguments of `list_metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListMetricsArgs {
    /// Only metrics of this domain (see `list_domains`).
    #[serde(default)]
    pub domain: Option<String>,
}

/// Arguments of `get_metric_definition` and `get_dimensions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricArgs {
    /// Metric name (see `list_metrics`).
    pub metric: String,
}

/// A half-open time interval: `start` included, `end` excluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimeRange {
    /// First instant included: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`.
    pub(crate) start: String,
    /// First instant excluded: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`.
    pub(crate) end: String,
}

/// Arguments of `generate_metric_sql`, `validate_metric_query` and
/// `run_metric_query`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricQueryArgs {
    /// Metric name (see `list_metrics`).
    pub metric: String,
    /// Dimensions to group by, from the metric's dimensions (see
    /// `get_dimensions`). Default: none (one total).
    #[serde(default)]
    pub dimensions: Vec<String>,
    /// Conditions on the metric's dimensions (`field` is a dimension name);
    /// all of them hold.
    #[serde(default)]
    pub(crate) filters: Vec<Filter>,
    /// Restrict the metric's time column to this interval.
    #[serde(default)]
    pub(crate) time_range: Option<TimeRange>,
    /// Bucket the time column by this grain (one of the metric's grains);
    /// adds a `period` column. Default: no time bucketing.
    #[serde(default)]
    pub(crate) grain: Option<Grain>,
    /// Most rows to return (default and maximum from policy).
    #[serde(default)]
    pub limit: Option<u64>,
}

/// One `order_by` entry of `query_table`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrderBy {
    /// Column to sort by.
    pub column: String,
    /// Sort descending (default ascending).
    #[serde(default)]
    pub(crate) descending: bool,
}

/// Arguments of `query_table`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryTableArgs {
    /// Connection name (optional when only one is configured).
    #[serde(default)]
    pub source: Option<String>,
    /// Table as keyed in policy (`schema.table`, `project.table`).
    pub table: String,
    /// Columns to return, in order; only allowed columns (see
    /// `describe_table`).
    pub columns: Vec<String>,
    /// Condition on rows (`field` is a column name).
    #[serde(default)]
    pub(crate) filter: Option<Filter>,
    /// Sort order. Default: the returned columns in order, ascending, so
    /// pages are stable.
    #[serde(default)]
    pub(crate) order_by: Vec<OrderBy>,
    /// Rows per page (default and maximum from policy).
    #[serde(default)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page, to fetch the next one. Only valid
    /// with the same table, columns, filter and order.
    #[serde(default)]
    pub(crate) cursor: Option<String>,
}
