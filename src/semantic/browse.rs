//! The read-only catalog tools: `list_domains`, `list_metrics`,
//! `get_metric_definition` and `get_dimensions`.
//!
//! Each returns a serialisable view of the loaded catalog; nothing here
//! builds SQL or reads a database. Views name only what the catalog
//! declares, and the catalog was checked against policy when it loaded.

use serde::Serialize;

use super::args::{ListMetricsArgs, MetricArgs};
use super::metric::metric_rules;
use super::refusal;
use crate::config::semantic_catalog::{Grain, MetricDef, SemanticCatalog};
use crate::error::ToolError;
use crate::policy::Policy;

/// One domain, as `list_domains` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainView {
    /// Domain name.
    pub name: String,
    /// Owning team.
    pub(crate) owner: Option<String>,
    /// What it covers.
    pub(crate) description: Option<String>,
    /// Connection its metrics read by default.
    pub(crate) default_source: Option<String>,
    /// Names of its metrics.
    pub metrics: Vec<String>,
    /// How many business terms it has.
    pub term_count: usize,
}

/// One metric, as `list_metrics` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSummary {
    /// Metric name.
    pub name: String,
    /// Its domain.
    pub domain: String,
    /// What it measures.
    pub(crate) description: String,
    /// Unit of its values.
    pub unit: Option<String>,
}

/// A metric's dimensions, as `get_dimensions` shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionsView {
    /// Metric name.
    pub metric: String,
    /// Dimensions to group and filter by.
    pub dimensions: Vec<DimensionView>,
    /// The time column, when the metric has one.
    pub time_dimension: Option<TimeView>,
}

/// One dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionView {
    /// Name to use in `dimensions` and `filters`.
    pub name: String,
    /// Table key of its column.
    pub table: String,
    /// Column.
    pub column: String,
    /// What it means.
    pub(crate) description: Option<String>,
}

/// The time dimension of a metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeView {
    /// Column the `time_range` applies to.
    pub column: String,
    /// Grains `grain` may take.
    pub(crate) grains: Vec<Grain>,
    /// The grain the data team suggests.
    pub default_grain: Option<Grain>,
}

/// Every domain with its metrics.
pub fn list_domains(catalog: &SemanticCatalog) -> Vec<DomainView> {
    catalog
        .domains
        .domains
        .iter()
        .map(|d| DomainView {
            name: d.name.clone(),
            owner: d.owner.clone(),
            description: d.description.clone(),
            default_source: d.default_source.clone(),
            metrics: catalog
                .metrics
                .metrics
                .iter()
                .filter(|m| m.domain == d.name)
                .map(|m| m.name.clone())
                .collect(),
            term_count: catalog
                .terms
                .terms
                .iter()
                .filter(|t| t.domain.as_deref() == Some(&d.name))
                .count(),
        })
        .collect()
}

/// Every metric, or those of `args.domain`.
pub fn list_metrics(
    catalog: &SemanticCatalog,
    args: &ListMetricsArgs,
) -> Result<Vec<MetricSummary>, ToolError> {
    if let Some(domain) = &args.domain {
        if catalog.domain(domain).is_none() {
            let known = catalog.domains.domains.iter().map(|d| d.name.as_str());
            return Err(refusal::domain_not_found(domain, known));
        }
    }
    Ok(catalog
        .metrics
        .metrics
        .iter()
        .filter(|m| args.domain.as_ref().is_none_or(|d| &m.domain == d))
        .map(|m| MetricSummary {
            name: m.name.clone(),
            domain: m.domain.clone(),
            description: m.description.clone(),
            unit: m.unit.clone(),
        })
        .collect())
}

/// The full definition of one metric, with the source it reads resolved.
pub fn get_metric_definition(
    catalog: &SemanticCatalog,
    policy: &Policy,
    args: &MetricArgs,
) -> Result<MetricDef, ToolError> {
    let metric = find(catalog, &args.metric)?;
    let rules = metric_rules(catalog, policy, metric)?;
    Ok(MetricDef {
        source: Some(rules.name.to_string()),
        ..metric.clone()
    })
}

/// The dimensions (and time dimension) of one metric.
pub fn get_dimensions(
    catalog: &SemanticCatalog,
    args: &MetricArgs,
) -> Result<DimensionsView, ToolError> {
    let metric = find(catalog, &args.metric)?;
    Ok(DimensionsView {
        metric: metric.name.clone(),
        dimensions: metric
            .dimensions
            .iter()
            .map(|d| DimensionView {
                name: d.name.clone(),
                table: d.table.clone().unwrap_or_else(|| metric.base_table.clone()),
                column: d.column.clone(),
                description: d.description.clone(),
            })
            .collect(),
        time_dimension: metric.time_dimension.as_ref().map(|t| TimeView {
            column: t.column.clone(),
            grains: t.grains.clone(),
            default_grain: t.default_grain,
        }),
    })
}

fn find<'c>(catalog: &'c SemanticCatalog, name: &str) -> Result<&'c MetricDef, ToolError> {
    catalog.metric(name).ok_or_else(|| {
        refusal::metric_not_found(
            name,
            catalog.metrics.metrics.iter().map(|m| m.name.as_str()),
        )
    })
}
