//! The semantic tools: the data team's domains, terms and metrics, metric
//! queries, and `query_table` structured reads.
//!
//! The browsing tools return catalog data and touch no database. Every tool
//! that makes SQL (`generate_metric_sql`, `validate_metric_query`,
//! `run_metric_query`, `query_table`) builds it in [`crate::semantic`] and
//! then sends it through the same gate step as `run_select_sql`
//! ([`super::run`]), so row policies, partition rules, column rules and
//! limits hold exactly as for raw SQL; what runs is the gate's rendering,
//! on the same engine path with the same caps. This file adds no rules of
//! its own and builds no SQL text.

use serde_json::json;

use crate::engine::Truncation;
use crate::error::ToolError;
use crate::semantic::args::{
    ListDomainsArgs, ListMetricsArgs, MetricArgs, MetricQueryArgs, QueryTableArgs,
    SearchBusinessTermsArgs,
};
use crate::semantic::{self, MetricQuery};

use super::args::positive_limit;
use super::call::{Call, Handler};
use super::envelope::ToolSuccess;
use super::run::{GateInput, Ran};

/// `list_domains`: every domain with its metrics.
pub(crate) struct ListDomains;

impl Handler for ListDomains {
    type Args = ListDomainsArgs;

    async fn run(call: Call<'_>, _args: ListDomainsArgs) -> Result<ToolSuccess, ToolError> {
        let domains = semantic::list_domains(call.session.catalog()?);
        call.facts.row_count = Some(domains.len() as u64);
        Ok(ToolSuccess {
            rows: None,
            summary: format!("{} domain(s)", domains.len()),
            data: json!({ "domains": domains }),
        })
    }
}

/// `search_business_terms`: ranked terms and metrics for a keyword.
pub(crate) struct SearchBusinessTerms;

impl Handler for SearchBusinessTerms {
    type Args = SearchBusinessTermsArgs;

    async fn run(call: Call<'_>, args: SearchBusinessTermsArgs) -> Result<ToolSuccess, ToolError> {
        let hits = semantic::search_business_terms(call.session.catalog()?, &args)?;
        call.facts.row_count = Some(hits.len() as u64);
        Ok(ToolSuccess {
            rows: None,
            summary: format!("{} match(es), best first", hits.len()),
            data: json!({ "matches": hits }),
        })
    }
}

/// `list_metrics`: every metric, or one domain's.
pub(crate) struct ListMetrics;

impl Handler for ListMetrics {
    type Args = ListMetricsArgs;

    async fn run(call: Call<'_>, args: ListMetricsArgs) -> Result<ToolSuccess, ToolError> {
        let metrics = semantic::list_metrics(call.session.catalog()?, &args)?;
        call.facts.row_count = Some(metrics.len() as u64);
        Ok(ToolSuccess {
            rows: None,
            summary: format!("{} metric(s)", metrics.len()),
            data: json!({ "metrics": metrics }),
        })
    }
}

/// `get_metric_definition`: one metric in full.
pub(crate) struct GetMetricDefinition;

impl Handler for GetMetricDefinition {
    type Args = MetricArgs;

    async fn run(call: Call<'_>, args: MetricArgs) -> Result<ToolSuccess, ToolError> {
        let session = call.session;
        let metric = semantic::get_metric_definition(session.catalog()?, session.policy(), &args)?;
        call.facts.source = metric.source.clone();
        call.facts.tables_used = vec![metric.base_table.clone()];
        Ok(ToolSuccess {
            rows: None,
            summary: format!("metric `{}`", metric.name),
            data: json!({ "metric": metric }),
        })
    }
}

/// `get_dimensions`: what a metric may be grouped, filtered and bucketed by.
pub(crate) struct GetDimensions;

impl Handler for GetDimensions {
    type Args = MetricArgs;

    async fn run(call: Call<'_>, args: MetricArgs) -> Result<ToolSuccess, ToolError> {
        let view = semantic::get_dimensions(call.session.catalog()?, &args)?;
        call.facts.row_count = Some(view.dimensions.len() as u64);
        Ok(ToolSuccess {
            rows: None,
            summary: format!(
                "metric `{}`: {} dimension(s)",
                view.metric,
                view.dimensions.len()
            ),
            data: json!(view),
        })
    }
}

/// `generate_metric_sql`: the SQL the gate would run for a metric request,
/// without running it.
pub(crate) struct GenerateMetricSql;

impl Handler for GenerateMetricSql {
    type Args = MetricQueryArgs;

    async fn run(mut call: Call<'_>, args: MetricQueryArgs) -> Result<ToolSuccess, ToolError> {
        let query = compile_metric(&call, &args)?;
        let rules = call.source(Some(query.source()))?;
        let checked = call
            .gate(&rules, GateInput::Compiled(&query))
            .await?
            .checked;
        Ok(ToolSuccess {
            rows: None,
            summary: format!(
                "source `{}`: metric `{}` compiled and checked, nothing ran (applied limit {})",
                query.source(),
                args.metric,
                checked.applied_limit()
            ),
            data: json!({
                "sql": checked.sql(),
                "columns": query.columns(),
                "applied_limit": checked.applied_limit(),
            }),
        })
    }
}

/// `validate_metric_query`: every problem with a metric request, the
/// catalog's and the gate's, instead of SQL.
pub(crate) struct ValidateMetricQuery;

impl Handler for ValidateMetricQuery {
    type Args = MetricQueryArgs;

    async fn run(mut call: Call<'_>, args: MetricQueryArgs) -> Result<ToolSuccess, ToolError> {
        positive_limit(args.limit)?;
        let session = call.session;
        let problems = semantic::validate_metric_query(session.catalog()?, session.policy(), &args);
        let problems = if problems.is_empty() {
            let query = compile_metric(&call, &args)?;
            let rules = call.source(Some(query.source()))?;
            match call.gate(&rules, GateInput::Compiled(&query)).await {
                Ok(_) => Vec::new(),
                Err(refusal) if refusal.code.is_policy_denial() => vec![refusal],
                Err(other) => return Err(other),
            }
        } else {
            problems
        };
        let listed: Vec<_> = problems
            .iter()
            .map(|p| json!({"code": p.code, "message": p.message, "hint": p.hint}))
            .collect();
        Ok(ToolSuccess {
            rows: None,
            // The metric name is not echoed: an unknown one is the caller's
            // text, of any length.
            summary: if problems.is_empty() {
                "the metric request is valid".to_string()
            } else {
                format!("the metric request has {} problem(s)", problems.len())
            },
            data: json!({ "valid": problems.is_empty(), "problems": listed }),
        })
    }
}

/// `run_metric_query`: compile, gate and run a metric request in one step.
pub(crate) struct RunMetricQuery;

impl Handler for RunMetricQuery {
    type Args = MetricQueryArgs;

    async fn run(mut call: Call<'_>, args: MetricQueryArgs) -> Result<ToolSuccess, ToolError> {
        let query = compile_metric(&call, &args)?;
        let rules = call.source(Some(query.source()))?;
        call.query(&rules, GateInput::Compiled(&query)).await
    }
}

/// `query_table`: a structured read of one table, one page at a time.
pub(crate) struct QueryTable;

impl Handler for QueryTable {
    type Args = QueryTableArgs;

    async fn run(mut call: Call<'_>, args: QueryTableArgs) -> Result<ToolSuccess, ToolError> {
        positive_limit(args.limit)?;
        let rules = call.source(args.source.as_deref())?;
        let key = call.session.cursor_key();
        let query = semantic::compile_query_table(&rules, key, &args)?;
        let gated = call.gate(&rules, GateInput::Compiled(&query)).await?;
        let Ran { checked, result } = call.run(gated).await?;
        // Only a cut at the row limit means another page exists; a byte cap
        // cut the page itself and paging on would skip the rows it dropped.
        let more = matches!(result.truncation, Some(Truncation::RowLimit));
        let next_cursor = query.next_cursor(key, &checked, more)?;
        let mut success = call.rows(&checked, result);
        if let Some(data) = success.data.as_object_mut() {
            data.insert("next_cursor".into(), json!(next_cursor));
        }
        if next_cursor.is_some() {
            success
                .summary
                .push_str(", more rows: pass `next_cursor` as `cursor`");
        }
        Ok(success)
    }
}

/// Compile a metric request, refusing a zero limit first.
fn compile_metric(call: &Call<'_>, args: &MetricQueryArgs) -> Result<MetricQuery, ToolError> {
    positive_limit(args.limit)?;
    let session = call.session;
    semantic::generate_metric_sql(session.catalog()?, session.policy(), args)
}
