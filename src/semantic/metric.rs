//! `generate_metric_sql` and `validate_metric_query`: a metric request
//! (dimensions, filters, time range, grain) becomes one grouped `SELECT`,
//! built as an AST in the source's dialect.
//!
//! The metric's own SQL (its `expression` and `default_filters`) comes from
//! the catalog and was checked against policy when it loaded; everything the
//! caller sends becomes quoted identifiers taken from the catalog or literal
//! nodes. The result is not runnable by itself: [`MetricQuery::check`] sends
//! it through the same gate as `run_select_sql`, so row policies, partition
//! rules and column rules apply to it exactly as to raw SQL.

use chrono::{NaiveDate, NaiveDateTime};
use sqlparser::ast::{BinaryOperator, Expr, Ident};

use super::args::{MetricQueryArgs, TimeRange};
use super::catalog::source_of;
use super::check::JoinTree;
use super::gated::GatedQuery;
use super::refusal::{self, choices, invalid};
use super::sql::{self, SelectParts};
use crate::config::semantic_catalog::{Grain, MetricDef, SemanticCatalog};
use crate::config::EngineKind;
use crate::error::ToolError;
use crate::policy::{Policy, SourceRules};

/// Output name of the time bucket column.
pub(crate) const PERIOD_COLUMN: &str = "period";

/// Alias of the metric's base table in generated SQL.
const BASE_ALIAS: &str = "t0";

/// A metric request compiled to SQL that has not yet passed the gate.
#[derive(Debug, Clone)]
pub struct MetricQuery {
    source: String,
    sql: String,
    limit: Option<u64>,
    columns: Vec<String>,
}

impl MetricQuery {
    /// The connection the metric reads.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The SQL as built, before the gate rewrites it (what
    /// `generate_metric_sql` shows; the gate's rendering is what runs).
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Output column names, in order: `period` (with a grain), the
    /// dimensions, then the metric.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }
}

impl GatedQuery for MetricQuery {
    fn gate_input(&self) -> (&str, Option<u64>) {
        (&self.sql, self.limit)
    }
}

/// Compile a metric request; the first problem found is the error.
pub fn generate_metric_sql(
    catalog: &SemanticCatalog,
    policy: &Policy,
    args: &MetricQueryArgs,
) -> Result<MetricQuery, ToolError> {
    compile(catalog, policy, args).map_err(|mut problems| problems.swap_remove(0))
}

/// Every problem with a metric request (empty when it compiles). The gate's
/// own checks need table facts; run [`MetricQuery::check`] for those.
pub fn validate_metric_query(
    catalog: &SemanticCatalog,
    policy: &Policy,
    args: &MetricQueryArgs,
) -> Vec<ToolError> {
    compile(catalog, policy, args).err().unwrap_or_default()
}

/// The source a metric reads (its own, its domain's, or the only one).
pub(crate) fn metric_rules<'p>(
    catalog: &SemanticCatalog,
    policy: &'p Policy,
    metric: &MetricDef,
) -> Result<SourceRules<'p>, ToolError> {
    source_of(
        catalog,
        policy,
        metric.source.as_deref(),
        Some(&metric.domain),
    )
    .ok_or_else(|| ToolError::internal(format!("metric `{}` has no source", metric.name)))
}

fn compile(
    catalog: &SemanticCatalog,
    policy: &Policy,
    args: &MetricQueryArgs,
) -> Result<MetricQuery, Vec<ToolError>> {
    let Some(metric) = catalog.metric(&args.metric) else {
        let known = catalog.metrics.metrics.iter().map(|m| m.name.as_str());
        return Err(vec![refusal::metric_not_found(&args.metric, known)]);
    };
    let rules = metric_rules(catalog, policy, metric).map_err(|e| vec![e])?;
    let (tree, tree_problems) = JoinTree::build(&rules, metric);
    if let Some(p) = tree_problems.first() {
        return Err(vec![ToolError::internal(format!(
            "metric `{}`: {}",
            metric.name, p.message
        ))]);
    }
    let mut builder = Builder {
        engine: rules.engine,
        metric,
        tree: &tree,
        parts: SelectParts::default(),
        tables: Vec::new(),
        problems: Vec::new(),
        columns: Vec::new(),
    };
    builder.grain(args.grain);
    builder.dimensions(&args.dimensions);
    builder.measure();
    builder.conditions(args);
    let Builder {
        mut parts,
        tables,
        problems,
        columns,
        ..
    } = builder;
    if !problems.is_empty() {
        return Err(problems);
    }
    parts.from = (tree.base.clone(), Some(BASE_ALIAS.into()));
    for step in tree.steps_for(&tables) {
        let on = step.join.on.iter().map(|pair| Expr::BinaryOp {
            left: Box::new(sql::column(
                rules.engine,
                Some(&alias_of(
                    &tree,
                    &rules.normalize_key(&step.join.left_table),
                )),
                &pair.left_field,
            )),
            op: BinaryOperator::Eq,
            right: Box::new(sql::column(
                rules.engine,
                Some(&alias_of(
                    &tree,
                    &rules.normalize_key(&step.join.right_table),
                )),
                &pair.right_field,
            )),
        });
        let on = sql::and_all(on.collect())
            .ok_or_else(|| vec![ToolError::internal("an approved join has no `on` columns")])?;
        parts
            .joins
            .push((step.table.clone(), alias_of(&tree, &step.table), on));
    }
    let query = parts.build(rules.engine).map_err(|e| vec![e])?;
    Ok(MetricQuery {
        source: rules.name.to_string(),
        sql: query.to_string(),
        limit: args.limit,
        columns,
    })
}

/// `t0` for the base table, `t1`, `t2`, ... for the joined ones.
fn alias_of(tree: &JoinTree<'_>, table: &str) -> String {
    match tree.steps.iter().position(|s| s.table == table) {
        Some(i) => format!("t{}", i + 1),
        None => BASE_ALIAS.into(),
    }
}

/// Collects the parts of one metric query and every problem on the way.
struct Builder<'a> {
    engine: EngineKind,
    metric: &'a MetricDef,
    tree: &'a JoinTree<'a>,
    parts: SelectParts,
    tables: Vec<String>,
    problems: Vec<ToolError>,
    columns: Vec<String>,
}

impl Builder<'_> {
    fn output(&mut self, expr: Expr, name: &str, group: bool) {
        self.parts
            .projection
            .push((expr.clone(), Some(sql::ident(self.engine, name))));
        self.columns.push(name.to_string());
        if group {
            self.parts.group_by.push(expr.clone());
            self.parts.order_by.push((expr, false));
        }
    }

    fn time_column(&self) -> Option<Expr> {
        self.metric
            .time_dimension
            .as_ref()
            .map(|t| sql::column(self.engine, Some(BASE_ALIAS), &t.column))
    }

    fn grain(&mut self, grain: Option<Grain>) {
        let Some(grain) = grain else { return };
        let Some(time) = &self.metric.time_dimension else {
            self.problems.push(invalid(
                format!(
                    "metric `{}` has no time dimension, so no `grain`",
                    self.metric.name
                ),
                "Leave `grain` out",
            ));
            return;
        };
        if !time.grains.contains(&grain) {
            self.problems.push(invalid(
                format!(
                    "grain `{}` is not allowed for metric `{}`",
                    grain.as_str(),
                    self.metric.name
                ),
                format!(
                    "Use one of {}",
                    choices(time.grains.iter().map(|g| g.as_str()))
                ),
            ));
            return;
        }
        let column = sql::column(self.engine, Some(BASE_ALIAS), &time.column);
        match bucket(self.engine, grain, column) {
            Ok(expr) => self.output(expr, PERIOD_COLUMN, true),
            Err(e) => self.problems.push(e),
        }
    }

    fn dimensions(&mut self, names: &[String]) {
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                self.problems.push(invalid(
                    format!("dimension `{name}` is listed twice"),
                    "List each dimension once in `dimensions`",
                ));
                continue;
            }
            match self.dimension(name) {
                Ok(expr) => self.output(expr, name, true),
                Err(e) => self.problems.push(e),
            }
        }
    }

    /// The column expression of a dimension; records the table it needs.
    fn dimension(&mut self, name: &str) -> Result<Expr, ToolError> {
        let metric = self.metric;
        let Some(dim) = metric.dimensions.iter().find(|d| d.name == name) else {
            let allowed = metric.dimensions.iter().map(|d| d.name.as_str());
            return Err(refusal::dimension_not_allowed(&metric.name, name, allowed));
        };
        let table = dim.table.as_deref().map_or_else(
            || self.tree.base.clone(),
            |t| match self.engine {
                EngineKind::Postgres => t.to_string(),
                EngineKind::MaxCompute => t.to_ascii_lowercase(),
            },
        );
        let alias = alias_of(self.tree, &table);
        if !self.tables.contains(&table) {
            self.tables.push(table);
        }
        Ok(sql::column(self.engine, Some(&alias), &dim.column))
    }

    fn measure(&mut self) {
        match sql::parse_expr(self.engine, &self.metric.expression) {
            Ok(mut expr) => {
                sql::qualify(&mut expr, BASE_ALIAS);
                let name = self.metric.name.clone();
                self.output(expr, &name, false);
            }
            Err(e) => self.problems.push(ToolError::internal(format!(
                "metric `{}` expression: {e}",
                self.metric.name
            ))),
        }
    }

    fn conditions(&mut self, args: &MetricQueryArgs) {
        let mut conditions = Vec::new();
        for text in &self.metric.default_filters {
            match sql::parse_expr(self.engine, text) {
                Ok(mut expr) => {
                    sql::qualify(&mut expr, BASE_ALIAS);
                    conditions.push(expr);
                }
                Err(e) => self
                    .problems
                    .push(ToolError::internal(format!("default filter `{text}`: {e}"))),
            }
        }
        if let Some(range) = &args.time_range {
            match (self.time_column(), time_bounds(self.engine, range)) {
                (None, _) => self.problems.push(invalid(
                    format!(
                        "metric `{}` has no time dimension, so no `time_range`",
                        self.metric.name
                    ),
                    "Leave `time_range` out, or filter on a dimension",
                )),
                (_, Err(e)) => self.problems.push(e),
                (Some(column), Ok((start, end))) => {
                    conditions.push(compare(
                        column.clone(),
                        BinaryOperator::GtEq,
                        sql::text(&start),
                    ));
                    conditions.push(compare(column, BinaryOperator::Lt, sql::text(&end)));
                }
            }
        }
        for filter in &args.filters {
            let mut problems = Vec::new();
            let engine = self.engine;
            let built = filter.to_expr(engine, &mut |name| {
                self.dimension(name)
                    .inspect_err(|e| problems.push(e.clone()))
            });
            match built {
                Ok(expr) => conditions.push(expr),
                Err(e) if problems.is_empty() => self.problems.push(e),
                Err(_) => self.problems.extend(problems),
            }
        }
        self.parts.selection = sql::and_all(conditions);
    }
}

fn compare(left: Expr, op: BinaryOperator, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op,
        right: Box::new(right),
    }
}

/// The time bucket of `column` at `grain`: `date_trunc('month', c)` on
/// PostgreSQL, `datetrunc(c, 'mm')` on MaxCompute. The grain is a closed
/// enum; it reaches the AST as a literal node like any value.
fn bucket(engine: EngineKind, grain: Grain, column: Expr) -> Result<Expr, ToolError> {
    let (template, unit) = match engine {
        EngineKind::Postgres => ("date_trunc(unit, col)", grain.as_str()),
        EngineKind::MaxCompute => {
            let unit = match grain {
                Grain::Hour => "hh",
                Grain::Day => "dd",
                Grain::Month => "mm",
                Grain::Year => "yyyy",
                Grain::Week | Grain::Quarter => {
                    return Err(invalid(
                        format!("grain `{}` is not supported on MaxCompute", grain.as_str()),
                        "Use `hour`, `day`, `month` or `year`",
                    ))
                }
            };
            ("datetrunc(col, unit)", unit)
        }
    };
    let mut expr = sql::parse_expr(engine, template).map_err(ToolError::internal)?;
    let _ = sqlparser::ast::visit_expressions_mut(&mut expr, |e| {
        if let Expr::Identifier(Ident { value, .. }) = e {
            *e = match value.as_str() {
                "unit" => sql::text(unit),
                _ => column.clone(),
            };
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    Ok(expr)
}

/// Start and end of a time range as literal text the engine compares with
/// its time column: dates stay dates on PostgreSQL; MaxCompute compares
/// `DATETIME` with `yyyy-mm-dd hh:mi:ss` text.
fn time_bounds(engine: EngineKind, range: &TimeRange) -> Result<(String, String), ToolError> {
    let parse = |name: &str, text: &str| -> Result<(NaiveDateTime, bool), ToolError> {
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Ok((date.and_time(chrono::NaiveTime::MIN), true));
        }
        ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .map(|t| (t, false))
            .ok_or_else(|| {
                invalid(
                    format!("`time_range.{name}` is not a date or timestamp"),
                    "Write `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`",
                )
            })
    };
    let (start, start_is_date) = parse("start", &range.start)?;
    let (end, end_is_date) = parse("end", &range.end)?;
    if start >= end {
        return Err(invalid(
            "`time_range.start` is not before `time_range.end`",
            "`end` is excluded: for one day write start `2024-01-01`, end `2024-01-02`",
        ));
    }
    let render = |t: NaiveDateTime, is_date: bool| match (engine, is_date) {
        (EngineKind::Postgres, true) => t.format("%Y-%m-%d").to_string(),
        _ => t.format("%Y-%m-%d %H:%M:%S").to_string(),
    };
    Ok((render(start, start_is_date), render(end, end_is_date)))
}
