//! The semantic tools: the data team's domains, terms and metrics, metric
//! queries, and `query_table` structured reads.
//!
//! The browsing tools return catalog data and touch no database. Every tool
//! that makes SQL (`generate_metric_sql`, `validate_metric_query`,
//! `run_metric_query`, `query_table`) builds it in [`crate::semantic`] and
//! then sends it through the same gate steps as `run_select_sql` (prepare,
//! table facts from the session cache, check), so row policies, partition
//! rules, column rules and limits hold exactly as for raw SQL; what runs is
//! the gate's rendering, on the same engine path with the same caps. This
//! file adds no rules of its own and builds no SQL text.

use serde_json::json;

use crate::engine::{SharedEngine, Truncation};
use crate::error::ToolError;
use crate::guard::{CheckedQuery, Gate, PreparedQuery, TableFacts};
use crate::policy::SourceRules;
use crate::semantic::args::{
    ListDomainsArgs, ListMetricsArgs, MetricArgs, MetricQueryArgs, QueryTableArgs,
    SearchBusinessTermsArgs,
};
use crate::semantic::{self, GatedQuery, MetricQuery};

use super::args::positive_limit;
use super::envelope::{CallFacts, ToolSuccess};
use super::pipeline::CallContext;
use super::query::{note_checked, query_success, run_admitted, Ran};
use super::session::Session;

/// `list_domains`: every domain with its metrics.
pub(crate) fn list_domains(
    session: &Session,
    _args: ListDomainsArgs,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let domains = semantic::list_domains(session.catalog()?);
    facts.row_count = Some(domains.len() as u64);
    Ok(ToolSuccess {
        summary: format!("{} domain(s)", domains.len()),
        data: json!({ "domains": domains }),
    })
}

/// `search_business_terms`: ranked terms and metrics for a keyword.
pub(crate) fn search_business_terms(
    session: &Session,
    args: SearchBusinessTermsArgs,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let hits = semantic::search_business_terms(session.catalog()?, &args)?;
    facts.row_count = Some(hits.len() as u64);
    Ok(ToolSuccess {
        summary: format!("{} match(es), best first", hits.len()),
        data: json!({ "matches": hits }),
    })
}

/// `list_metrics`: every metric, or one domain's.
pub(crate) fn list_metrics(
    session: &Session,
    args: ListMetricsArgs,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let metrics = semantic::list_metrics(session.catalog()?, &args)?;
    facts.row_count = Some(metrics.len() as u64);
    Ok(ToolSuccess {
        summary: format!("{} metric(s)", metrics.len()),
        data: json!({ "metrics": metrics }),
    })
}

/// `get_metric_definition`: one metric in full.
pub(crate) fn get_metric_definition(
    session: &Session,
    args: MetricArgs,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let metric = semantic::get_metric_definition(session.catalog()?, session.policy(), &args)?;
    facts.source = metric.source.clone();
    facts.tables_used = vec![metric.base_table.clone()];
    Ok(ToolSuccess {
        summary: format!("metric `{}`", metric.name),
        data: json!({ "metric": metric }),
    })
}

/// `get_dimensions`: what a metric may be grouped, filtered and bucketed by.
pub(crate) fn get_dimensions(
    session: &Session,
    args: MetricArgs,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let view = semantic::get_dimensions(session.catalog()?, &args)?;
    facts.row_count = Some(view.dimensions.len() as u64);
    Ok(ToolSuccess {
        summary: format!(
            "metric `{}`: {} dimension(s)",
            view.metric,
            view.dimensions.len()
        ),
        data: json!(view),
    })
}

/// `generate_metric_sql`: the SQL the gate would run for a metric request,
/// without running it.
pub(crate) async fn generate_metric_sql(
    session: &Session,
    args: MetricQueryArgs,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let query = compile_metric(session, &args)?;
    let rules = session.source(Some(query.source()))?;
    let (_, checked) = gate_compiled(session, &rules, &query, facts).await?;
    Ok(ToolSuccess {
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

/// `validate_metric_query`: every problem with a metric request, the
/// catalog's and the gate's, instead of SQL.
pub(crate) async fn validate_metric_query(
    session: &Session,
    args: MetricQueryArgs,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    positive_limit(args.limit)?;
    let problems = semantic::validate_metric_query(session.catalog()?, session.policy(), &args);
    let problems = if problems.is_empty() {
        let query = compile_metric(session, &args)?;
        let rules = session.source(Some(query.source()))?;
        match gate_compiled(session, &rules, &query, facts).await {
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

/// `run_metric_query`: compile, gate and run a metric request in one step.
pub(crate) async fn run_metric_query(
    session: &Session,
    args: MetricQueryArgs,
    ctx: &CallContext,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let query = compile_metric(session, &args)?;
    let rules = session.source(Some(query.source()))?;
    let (engine, checked) = gate_compiled(session, &rules, &query, facts).await?;
    let ran = run_admitted(
        session,
        rules.name,
        &rules.limits,
        &engine,
        checked,
        ctx,
        facts,
    )
    .await?;
    Ok(query_success(facts, &ran.checked, ran.result))
}

/// `query_table`: a structured read of one table, one page at a time.
pub(crate) async fn query_table(
    session: &Session,
    args: QueryTableArgs,
    ctx: &CallContext,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    positive_limit(args.limit)?;
    let rules = session.source(args.source.as_deref())?;
    facts.source = Some(rules.name.to_string());
    let key = session.cursor_key();
    let query = semantic::compile_query_table(&rules, key, &args)?;
    let (engine, checked) = gate_compiled(session, &rules, &query, facts).await?;
    let Ran { checked, result } = run_admitted(
        session,
        rules.name,
        &rules.limits,
        &engine,
        checked,
        ctx,
        facts,
    )
    .await?;
    // Only a cut at the row limit means another page exists; a byte cap
    // cut the page itself and paging on would skip the rows it dropped.
    let more = matches!(result.truncation, Some(Truncation::RowLimit));
    let next_cursor = query.next_cursor(key, &checked, more)?;
    let mut success = query_success(facts, &checked, result);
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

/// Compile a metric request, refusing a zero limit first.
fn compile_metric(session: &Session, args: &MetricQueryArgs) -> Result<MetricQuery, ToolError> {
    positive_limit(args.limit)?;
    semantic::generate_metric_sql(session.catalog()?, session.policy(), args)
}

/// The gate steps for compiled SQL (a metric or a structured read), as
/// `run_select_sql` takes them.
async fn gate_compiled(
    session: &Session,
    rules: &SourceRules<'_>,
    query: &impl GatedQuery,
    facts: &mut CallFacts,
) -> Result<(SharedEngine, CheckedQuery), ToolError> {
    facts.source = Some(rules.name.to_string());
    let gate = Gate::new(rules);
    let prepared = query.prepare(&gate)?;
    let (engine, table_facts) = engine_and_facts(session, rules, &prepared, facts).await?;
    let checked = query.check(&gate, prepared, &table_facts)?;
    note_checked(facts, &checked);
    Ok((engine, checked))
}

/// The source's engine and the facts the gate needs about the prepared
/// query's tables (cached per session).
async fn engine_and_facts(
    session: &Session,
    rules: &SourceRules<'_>,
    prepared: &PreparedQuery,
    facts: &mut CallFacts,
) -> Result<(SharedEngine, TableFacts), ToolError> {
    facts.tables_used = prepared.tables().to_vec();
    let engine = session.engine(rules.name)?;
    let table_facts = session
        .table_facts(rules, &engine, prepared.tables())
        .await?;
    Ok((engine, table_facts))
}
