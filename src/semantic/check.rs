//! Checking one metric definition against its source's policy, and the join
//! tree its dimensions use.
//!
//! The catalog check calls [`check_metric`] for every metric, so a metric
//! over a denied column, a dimension on a table the policy does not allow,
//! or a join that is not approved never loads. The SQL builder uses
//! [`JoinTree`] to join exactly the tables a request needs. This module
//! reads policy and does no I/O.

use crate::config::semantic_catalog::{Grain, MetricDef};
use crate::config::{EngineKind, JoinDef};
use crate::policy::SourceRules;

use super::sql;

/// One problem with a metric, located by its path inside the metric entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetricProblem {
    /// Keys (and list indexes) from the metric entry to the faulty node.
    pub(crate) path: Vec<String>,
    /// What is wrong.
    pub(crate) message: String,
}

/// One step of a metric's join tree: `join` reaches `table` from `parent`.
#[derive(Debug, Clone)]
pub(crate) struct JoinStep<'a> {
    /// The approved join.
    pub(crate) join: &'a JoinDef,
    /// Table key already in the tree.
    pub(crate) parent: String,
    /// Table key the join adds.
    pub(crate) table: String,
}

/// The tables a metric may reach: its base table, and one step per listed
/// join, each from a table already reached.
#[derive(Debug, Clone)]
pub(crate) struct JoinTree<'a> {
    /// The base table's key.
    pub(crate) base: String,
    /// Steps, in the order the metric lists its joins.
    pub(crate) steps: Vec<JoinStep<'a>>,
}

impl<'a> JoinTree<'a> {
    /// Build the tree; each join that is not approved or does not connect
    /// is reported as a problem at `joins[i]`.
    pub(crate) fn build(rules: &SourceRules<'a>, metric: &MetricDef) -> (Self, Vec<MetricProblem>) {
        let mut tree = JoinTree {
            base: rules.normalize_key(&metric.base_table),
            steps: Vec::new(),
        };
        let mut problems = Vec::new();
        let approved = rules.approved_joins(None);
        for (i, id) in metric.joins.iter().enumerate() {
            let path = vec!["joins".to_string(), i.to_string()];
            let Some(join) = approved.iter().find(|j| &j.id == id) else {
                problems.push(MetricProblem {
                    path,
                    message: format!(
                        "join `{id}` is not an approved join of source `{}` in catalog/joins.yaml",
                        rules.name
                    ),
                });
                continue;
            };
            let left = rules.normalize_key(&join.left_table);
            let right = rules.normalize_key(&join.right_table);
            let (parent, table) = if tree.reaches(&left) && !tree.reaches(&right) {
                (left, right)
            } else if tree.reaches(&right) && !tree.reaches(&left) {
                (right, left)
            } else {
                problems.push(MetricProblem {
                    path,
                    message: format!(
                        "join `{id}` must connect one table already reached (`{}` or an earlier join's) to a new one",
                        tree.base
                    ),
                });
                continue;
            };
            tree.steps.push(JoinStep {
                join,
                parent,
                table,
            });
        }
        (tree, problems)
    }

    /// Whether `table` is the base table or joined by a step.
    pub(crate) fn reaches(&self, table: &str) -> bool {
        self.base == table || self.steps.iter().any(|s| s.table == table)
    }

    /// The steps needed to reach every table in `tables`, in tree order.
    pub(crate) fn steps_for(&self, tables: &[String]) -> Vec<&JoinStep<'a>> {
        let mut needed: Vec<&str> = tables.iter().map(String::as_str).collect();
        let mut i = 0;
        while i < needed.len() {
            if let Some(step) = self.steps.iter().find(|s| s.table == needed[i]) {
                if !needed.contains(&step.parent.as_str()) {
                    needed.push(&step.parent);
                }
            }
            i += 1;
        }
        self.steps
            .iter()
            .filter(|s| needed.contains(&s.table.as_str()))
            .collect()
    }
}

/// Every problem with `metric` under `rules`.
pub(crate) fn check_metric(rules: &SourceRules<'_>, metric: &MetricDef) -> Vec<MetricProblem> {
    let problem = |path: &[&str], message: String| MetricProblem {
        path: path.iter().map(|s| s.to_string()).collect(),
        message,
    };
    let base = rules.normalize_key(&metric.base_table);
    if rules.table(&base).is_none() {
        return vec![problem(
            &["base_table"],
            format!(
                "table `{}` is not allowed for source `{}` in policy.yaml",
                metric.base_table, rules.name
            ),
        )];
    }
    let (tree, mut problems) = JoinTree::build(rules, metric);
    let mut columns =
        |path: &[&str], text: &str, what: &str| match sql::parse_expr(rules.engine, text)
            .and_then(|e| sql::expr_columns(rules.engine, &e))
        {
            Err(e) => problems.push(problem(
                path,
                format!("{what} `{text}` does not parse: {e}"),
            )),
            Ok(cols) => {
                for c in cols.iter().filter(|c| !rules.column_allowed(&base, c)) {
                    problems.push(problem(
                        path,
                        format!(
                            "{what} reads column `{c}`, which policy does not allow on `{base}`"
                        ),
                    ));
                }
            }
        };
    columns(&["expression"], &metric.expression, "the expression");
    for (i, filter) in metric.default_filters.iter().enumerate() {
        columns(
            &["default_filters", &i.to_string()],
            filter,
            "default filter",
        );
    }
    for (i, dim) in metric.dimensions.iter().enumerate() {
        let index = i.to_string();
        let table = dim
            .table
            .as_deref()
            .map_or_else(|| base.clone(), |t| rules.normalize_key(t));
        if metric.dimensions[..i].iter().any(|d| d.name == dim.name) {
            problems.push(problem(
                &["dimensions", &index, "name"],
                format!("dimension `{}` is defined twice", dim.name),
            ));
        }
        if rules.table(&table).is_none() {
            problems.push(problem(
                &["dimensions", &index, "table"],
                format!(
                    "dimension `{}`: table `{table}` is not allowed for source `{}` in policy.yaml",
                    dim.name, rules.name
                ),
            ));
        } else if !tree.reaches(&table) {
            problems.push(problem(
                &["dimensions", &index, "table"],
                format!(
                    "dimension `{}`: table `{table}` is not reached by any of the metric's `joins`",
                    dim.name
                ),
            ));
        } else if !rules.column_allowed(&table, &dim.column) {
            problems.push(problem(
                &["dimensions", &index, "column"],
                format!(
                    "dimension `{}`: column `{}` is not allowed on `{table}` in policy.yaml",
                    dim.name, dim.column
                ),
            ));
        }
    }
    if let Some(time) = &metric.time_dimension {
        if !rules.column_allowed(&base, &time.column) {
            problems.push(problem(
                &["time_dimension", "column"],
                format!(
                    "time column `{}` is not allowed on `{base}` in policy.yaml",
                    time.column
                ),
            ));
        }
        if time.grains.is_empty() {
            problems.push(problem(
                &["time_dimension", "grains"],
                "list at least one grain (hour, day, week, month, quarter, year)".into(),
            ));
        }
        for (i, grain) in time.grains.iter().enumerate() {
            if rules.engine == EngineKind::MaxCompute
                && matches!(grain, Grain::Week | Grain::Quarter)
            {
                problems.push(problem(
                    &["time_dimension", "grains", &i.to_string()],
                    format!(
                        "grain `{}` is not supported on MaxCompute; use hour, day, month or year",
                        grain.as_str()
                    ),
                ));
            }
        }
        if let Some(default) = time.default_grain.filter(|g| !time.grains.contains(g)) {
            problems.push(problem(
                &["time_dimension", "default_grain"],
                format!(
                    "default grain `{}` is not one of `grains`",
                    default.as_str()
                ),
            ));
        }
    }
    problems
}
