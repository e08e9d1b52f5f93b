//! MaxCompute-dialect SQL to PostgreSQL: parse, check, rewrite, render.
//!
//! Parsing uses sqlparser's generic dialect after one lexical step that
//! gives tokens their MaxCompute meaning (backticks quote identifiers,
//! double quotes quote strings). Leading `SET k=v;` statements become task
//! settings. Then, on the AST: only a query is run; `ORDER BY` needs a
//! `LIMIT` (unless `odps.sql.validate.orderby.limit=false`); functions
//! come from a MaxCompute allow-list; unaliased computed columns are named
//! `_cN`; tables resolve as `table`, `project.table` (or `schema.table` when
//! `odps.namespace.schema=true`) and `project.schema.table`; with
//! `odps.sql.allow.fullscan=false` a partitioned table needs a partition
//! predicate; `MAX_PT('t')` becomes the literal of the newest partition
//! holding data; a few MaxCompute functions and type names are mapped.
//! It does no I/O: the caller resolves `MAX_PT` values beforehand. It does
//! not emulate the whole dialect (no LATERAL VIEW, no UDFs).
//!
//! Failures are [`TaskFailure`]s carrying the `ODPS-01xxxxx` message the
//! real service puts in a failed task's result.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::ControlFlow;

use sqlparser::ast::helpers::attached_token::AttachedToken;
use sqlparser::ast::{
    visit_expressions, visit_expressions_mut, visit_relations_mut, CaseWhen, DataType, Expr,
    FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, ObjectNamePart, Query,
    Select, SelectItem, Set, SetExpr, Statement, TableFactor, Value as SqlValue, Visit, Visitor,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::catalog::{Catalog, TableId, DEFAULT_SCHEMA};
use super::types::McType;

/// A task failure message (`ODPS-...`), as the failed task's result text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TaskFailure(pub String);

/// How names resolve and which checks apply, from the instance's project
/// and settings.
#[derive(Debug, Clone)]
pub struct SqlContext {
    /// Project the instance runs in.
    pub project: String,
    /// Default schema (`odps.default.schema`, else `default`).
    pub schema: String,
    /// `odps.namespace.schema=true`: `a.b` means `schema.table`.
    pub namespace_schema: bool,
    /// `odps.sql.allow.fullscan` (true unless sent as `false`).
    pub allow_fullscan: bool,
    /// `odps.sql.read.only=true` was sent.
    pub read_only: bool,
    /// `odps.sql.validate.orderby.limit` (true unless sent as `false`):
    /// `ORDER BY` needs a `LIMIT`.
    pub orderby_needs_limit: bool,
}

/// A query ready for PostgreSQL.
#[derive(Debug, Clone)]
pub struct Translated {
    /// PostgreSQL text.
    pub pg_sql: String,
    /// Every table the query reads.
    pub tables: BTreeSet<TableId>,
    /// Every table scan, with the partition filter that bounds it.
    pub scans: Vec<super::prune::Scan>,
}

impl SqlContext {
    /// The context of a task in `project` with these settings (the job's
    /// `settings` JSON, then any `SET` statements in the SQL text).
    pub fn new(project: &str, settings: &BTreeMap<String, String>) -> SqlContext {
        let flag = |k: &str| settings.get(k).map(|v| v.to_ascii_lowercase());
        SqlContext {
            project: project.to_ascii_lowercase(),
            schema: flag("odps.default.schema").unwrap_or_else(|| DEFAULT_SCHEMA.into()),
            namespace_schema: flag("odps.namespace.schema").as_deref() == Some("true"),
            allow_fullscan: flag("odps.sql.allow.fullscan").as_deref() != Some("false"),
            read_only: flag("odps.sql.read.only").as_deref() == Some("true"),
            orderby_needs_limit: flag("odps.sql.validate.orderby.limit").as_deref()
                != Some("false"),
        }
    }
}

/// Parse a task's SQL: leading `SET k=v;` statements, applied as settings
/// of this task over the job's settings JSON (script mode documents this
/// shape; whether a plain SQL task accepts it is undocumented, and the
/// permissive reading lets a test see a `SET` that slipped past a gate
/// take effect), then exactly one query. Returns the query and context.
pub fn parse(
    sql: &str,
    project: &str,
    settings: &BTreeMap<String, String>,
) -> Result<(Statement, SqlContext), TaskFailure> {
    let dialect = GenericDialect {};
    let mut tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| parse_failure(&e.to_string()))?;
    for t in &mut tokens {
        if let Token::Word(w) = &t.token {
            match w.quote_style {
                // MaxCompute identifiers are case-insensitive: a backtick
                // name is the same table or column as its lower case.
                Some('`') => {
                    let mut w = w.clone();
                    w.value = w.value.to_lowercase();
                    w.quote_style = Some('"');
                    t.token = Token::Word(w);
                }
                Some('"') => t.token = Token::SingleQuotedString(w.value.clone()),
                _ => {}
            }
        }
    }
    let statements = Parser::new(&dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| parse_failure(&e.to_string()))?;
    let mut settings = settings.clone();
    let mut rest = Vec::new();
    for statement in statements {
        match (&statement, rest.is_empty()) {
            (
                Statement::Set(Set::SingleAssignment {
                    variable, values, ..
                }),
                true,
            ) => {
                let value = values
                    .iter()
                    .map(setting_text)
                    .collect::<Vec<_>>()
                    .join(",");
                settings.insert(variable.to_string().to_ascii_lowercase(), value);
            }
            _ => rest.push(statement),
        }
    }
    if rest.len() != 1 {
        return Err(parse_failure(
            "only SET statements and one query per task outside script mode",
        ));
    }
    let ctx = SqlContext::new(project, &settings);
    let statement = rest.remove(0);
    if !matches!(statement, Statement::Query(_)) {
        return Err(TaskFailure(if ctx.read_only {
            "ODPS-0130071:[1,1] Semantic analysis exception - invalid statement in readonly mode, please 'set odps.sql.read.only=false' and try again".into()
        } else {
            "ODPS-0130071:[1,1] Semantic analysis exception - the emulator runs queries only".into()
        }));
    }
    Ok((statement, ctx))
}

/// A `SET` value as text: literals without their quotes.
fn setting_text(e: &Expr) -> String {
    match e {
        Expr::Value(v) => match &v.value {
            SqlValue::SingleQuotedString(s) => s.clone(),
            SqlValue::Boolean(b) => b.to_string(),
            SqlValue::Number(n, _) => n.to_string(),
            other => other.to_string(),
        },
        Expr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}

fn parse_failure(detail: &str) -> TaskFailure {
    let (line, col) = error_position(detail);
    TaskFailure(format!(
        "ODPS-0130161:[{line},{col}] Parse exception - {detail}"
    ))
}

/// `Line: L, Column: C` from a sqlparser message, else `(1,1)`.
fn error_position(detail: &str) -> (u64, u64) {
    let num_after = |key: &str| -> Option<u64> {
        let rest = &detail[detail.find(key)? + key.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    (
        num_after("Line: ").unwrap_or(1),
        num_after("Column: ").unwrap_or(1),
    )
}

/// Resolve a table name as written in `ctx`.
pub fn resolve(name: &[String], ctx: &SqlContext) -> Option<TableId> {
    Some(match name {
        [t] => TableId::new(&ctx.project, &ctx.schema, t),
        [a, b] if ctx.namespace_schema => TableId::new(&ctx.project, a, b),
        [a, b] => TableId::new(a, DEFAULT_SCHEMA, b),
        [p, s, t] => TableId::new(p, s, t),
        _ => return None,
    })
}

fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.to_lowercase(),
            ObjectNamePart::Function(f) => f.to_string(),
        })
        .collect()
}

fn table_not_found(name: &ObjectName) -> TaskFailure {
    let pos = name.0.first().map(|p| match p {
        ObjectNamePart::Identifier(i) => (i.span.start.line, i.span.start.column),
        ObjectNamePart::Function(_) => (1, 1),
    });
    let (line, col) = pos.unwrap_or((1, 1));
    TaskFailure(format!(
        "ODPS-0130131:[{line},{col}] Table not found - table {} cannot be resolved",
        name_parts(name).join(".")
    ))
}

/// The table arguments of every `MAX_PT('...')` call, lower-cased.
pub fn max_pt_tables(statement: &Statement) -> Vec<String> {
    let mut found = Vec::new();
    let _ = visit_expressions(statement, |e| {
        if let Some(arg) = max_pt_arg(e) {
            found.push(arg);
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

fn function_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Function(f) if f.name.0.len() == 1 => Some(name_parts(&f.name).join(".")),
        _ => None,
    }
}

fn string_args(e: &Expr) -> Vec<Option<String>> {
    let Expr::Function(f) = e else {
        return Vec::new();
    };
    let FunctionArguments::List(list) = &f.args else {
        return Vec::new();
    };
    list.args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) => match &v.value {
                SqlValue::SingleQuotedString(s) => Some(s.to_lowercase()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn max_pt_arg(e: &Expr) -> Option<String> {
    if function_name(e)? != "max_pt" {
        return None;
    }
    match string_args(e).as_slice() {
        [Some(s)] => Some(s.clone()),
        _ => None,
    }
}

/// Rewrite a parsed query for PostgreSQL.
///
/// `max_pts` maps each [`max_pt_tables`] argument to its partition value.
pub fn translate(
    mut statement: Statement,
    ctx: &SqlContext,
    catalog: &Catalog,
    max_pts: &HashMap<String, String>,
) -> Result<Translated, TaskFailure> {
    let ctes = cte_names(&statement);
    if ctx.orderby_needs_limit {
        check_order_by_limit(&statement)?;
    }
    if !ctx.allow_fullscan {
        check_full_scans(&statement, ctx, catalog, &ctes)?;
    }
    let mut tables = BTreeSet::new();
    let flow = visit_relations_mut(&mut statement, |name| {
        let parts = name_parts(name);
        if parts.len() == 1 && ctes.contains(&parts[0]) {
            return ControlFlow::Continue(());
        }
        let Some(id) = resolve(&parts, ctx).filter(|id| catalog.tables.contains_key(id)) else {
            return ControlFlow::Break(table_not_found(name));
        };
        *name = ObjectName::from(vec![
            Ident::with_quote('"', id.pg_schema()),
            Ident::with_quote('"', id.name.clone()),
        ]);
        tables.insert(id);
        ControlFlow::Continue(())
    });
    if let ControlFlow::Break(f) = flow {
        return Err(f);
    }
    let flow = visit_expressions_mut(&mut statement, |e| rewrite_expr(e, max_pts));
    if let ControlFlow::Break(f) = flow {
        return Err(f);
    }
    if let Statement::Query(q) = &mut statement {
        name_unnamed_columns(&mut q.body);
    }
    let scans = super::prune::scans(&statement, &tables, catalog);
    Ok(Translated {
        pg_sql: statement.to_string(),
        tables,
        scans,
    })
}

/// MaxCompute names an unaliased computed result column `_cN` (N = its
/// position); PostgreSQL would name it after the function or `?column?`.
fn name_unnamed_columns(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => {
            for (i, item) in select.projection.iter_mut().enumerate() {
                if let SelectItem::UnnamedExpr(e) = item {
                    if !matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                        *item = SelectItem::ExprWithAlias {
                            expr: e.clone(),
                            alias: Ident::with_quote('"', format!("_c{i}")),
                        };
                    }
                }
            }
        }
        SetExpr::SetOperation { left, .. } => name_unnamed_columns(left),
        SetExpr::Query(q) => name_unnamed_columns(&mut q.body),
        _ => {}
    }
}

/// MaxCompute refuses `ORDER BY` without `LIMIT` (an unbounded global
/// sort) unless `odps.sql.validate.orderby.limit=false`.
fn check_order_by_limit(statement: &Statement) -> Result<(), TaskFailure> {
    struct OrderBy;
    impl Visitor for OrderBy {
        type Break = TaskFailure;
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<TaskFailure> {
            if q.order_by.is_some() && q.limit_clause.is_none() && q.fetch.is_none() {
                return ControlFlow::Break(TaskFailure(
                    "ODPS-0130071:[1,1] Semantic analysis exception - ORDER BY must be used with a LIMIT clause, please set odps.sql.validate.orderby.limit=false to use it.".into(),
                ));
            }
            ControlFlow::Continue(())
        }
    }
    match statement.visit(&mut OrderBy) {
        ControlFlow::Break(f) => Err(f),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn cte_names(statement: &Statement) -> BTreeSet<String> {
    struct Ctes(BTreeSet<String>);
    impl Visitor for Ctes {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if let Some(with) = &q.with {
                for cte in &with.cte_tables {
                    self.0.insert(cte.alias.name.value.to_lowercase());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Ctes(BTreeSet::new());
    let _ = statement.visit(&mut v);
    v.0
}

/// MaxCompute functions with a different PostgreSQL name.
fn renamed(name: &str) -> Option<&'static str> {
    Some(match name {
        "nvl" => "coalesce",
        "getdate" => "now",
        "size" => "cardinality",
        "instr" => "strpos",
        "tolower" => "lower",
        "toupper" => "upper",
        _ => return None,
    })
}

/// MaxCompute built-ins that PostgreSQL runs with the same name and
/// meaning. Anything else (including every PostgreSQL-only function such
/// as `pg_sleep`) fails as an unknown function, as on the real service.
const SAME_NAME: &[&str] = &[
    "abs",
    "avg",
    "ceil",
    "coalesce",
    "concat",
    "concat_ws",
    "count",
    "dense_rank",
    "exp",
    "first_value",
    "floor",
    "greatest",
    "lag",
    "last_value",
    "lead",
    "least",
    "length",
    "ln",
    "lower",
    "ltrim",
    "max",
    "min",
    "ntile",
    "percent_rank",
    "rank",
    "regexp_replace",
    "replace",
    "reverse",
    "round",
    "row_number",
    "rtrim",
    "sign",
    "sqrt",
    "stddev",
    "stddev_samp",
    "substr",
    "substring",
    "sum",
    "trim",
    "upper",
    "variance",
];

fn unknown_function(name: &str) -> TaskFailure {
    TaskFailure(format!(
        "ODPS-0130071:[1,1] Semantic analysis exception - function or view '{name}' cannot be resolved"
    ))
}

fn rewrite_expr(e: &mut Expr, max_pts: &HashMap<String, String>) -> ControlFlow<TaskFailure> {
    if let Some(arg) = max_pt_arg(e) {
        return match max_pts.get(&arg) {
            Some(v) => {
                *e = Expr::value(SqlValue::SingleQuotedString(v.clone()));
                ControlFlow::Continue(())
            }
            None => ControlFlow::Break(TaskFailure(format!(
                "ODPS-0130071:[1,1] Semantic analysis exception - max_pt: table {arg} has no partition that holds data"
            ))),
        };
    }
    match e {
        Expr::Function(f) => {
            let name = name_parts(&f.name).join(".");
            if let Some(pg) = renamed(&name) {
                f.name = ObjectName::from(vec![Ident::new(pg)]);
            } else if name == "if" {
                match if_to_case(f) {
                    Some(case) => *e = case,
                    None => return ControlFlow::Break(unknown_function(&name)),
                }
            } else if !SAME_NAME.contains(&name.as_str()) {
                return ControlFlow::Break(unknown_function(&name));
            }
        }
        Expr::Cast { data_type, .. } => {
            if let Ok(ty) = McType::parse(&data_type.to_string()) {
                *data_type = DataType::Custom(
                    ObjectName::from(vec![Ident::new(ty.pg_storage())]),
                    Vec::new(),
                );
            }
        }
        _ => {}
    }
    ControlFlow::Continue(())
}

/// `IF(c, a, b)` -> `CASE WHEN c THEN a ELSE b END`.
fn if_to_case(f: &sqlparser::ast::Function) -> Option<Expr> {
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let exprs: Vec<Expr> = list
        .args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let [cond, then, otherwise]: [Expr; 3] = exprs.try_into().ok()?;
    Some(Expr::Case {
        case_token: AttachedToken::empty(),
        end_token: AttachedToken::empty(),
        operand: None,
        conditions: vec![CaseWhen {
            condition: cond,
            result: then,
        }],
        else_result: Some(Box::new(otherwise)),
    })
}

/// With full scans disallowed, every partitioned table in a `SELECT`'s
/// `FROM` needs a predicate on one of its partition keys in that select's
/// `WHERE` or join conditions. The service checks after its optimizer has
/// pushed predicates down, so a partition predicate on a derived table's
/// column counts for the table that derived table selects from (the gate
/// wraps governed tables that way: `(SELECT cols FROM t) AS t WHERE pt = ..`).
fn check_full_scans(
    statement: &Statement,
    ctx: &SqlContext,
    catalog: &Catalog,
    ctes: &BTreeSet<String>,
) -> Result<(), TaskFailure> {
    struct FullScan<'a> {
        ctx: &'a SqlContext,
        catalog: &'a Catalog,
        ctes: &'a BTreeSet<String>,
        /// Inner selects (by address) whose partition keys an outer
        /// select's predicate constrains.
        pushed: BTreeSet<usize>,
    }
    impl Visitor for FullScan<'_> {
        type Break = TaskFailure;
        fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<TaskFailure> {
            let mut idents: Vec<(Option<String>, String)> = Vec::new();
            let mut collect = |e: &Expr| {
                match e {
                    Expr::Identifier(i) => idents.push((None, i.value.to_lowercase())),
                    Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                        let n = parts.len();
                        idents.push((
                            Some(parts[n - 2].value.to_lowercase()),
                            parts[n - 1].value.to_lowercase(),
                        ));
                    }
                    _ => {}
                }
                ControlFlow::<()>::Continue(())
            };
            if let Some(w) = &select.selection {
                let _ = visit_expressions(w, &mut collect);
            }
            let mut factors = Vec::new();
            for twj in &select.from {
                factors.push(&twj.relation);
                for join in &twj.joins {
                    factors.push(&join.relation);
                    let _ = visit_expressions(&join.join_operator, &mut collect);
                }
            }
            let inherited = self.pushed.contains(&(select as *const Select as usize));
            for factor in &factors {
                let TableFactor::Derived {
                    subquery,
                    alias: Some(alias),
                    ..
                } = factor
                else {
                    continue;
                };
                let SetExpr::Select(inner) = subquery.body.as_ref() else {
                    continue;
                };
                let qualifier = alias.name.value.to_lowercase();
                let keys: Vec<String> = inner
                    .from
                    .iter()
                    .filter_map(|twj| match &twj.relation {
                        TableFactor::Table { name, .. } => resolve(&name_parts(name), self.ctx),
                        _ => None,
                    })
                    .filter_map(|id| self.catalog.tables.get(&id))
                    .flat_map(|t| t.spec.partition_keys.iter().map(|k| k.name.clone()))
                    .collect();
                let constrained = idents.iter().any(|(q, col)| {
                    keys.contains(col) && q.as_ref().is_none_or(|q| *q == qualifier)
                });
                if constrained {
                    self.pushed.insert(inner.as_ref() as *const Select as usize);
                }
            }
            for factor in factors {
                let TableFactor::Table { name, alias, .. } = factor else {
                    continue;
                };
                let parts = name_parts(name);
                if parts.len() == 1 && self.ctes.contains(&parts[0]) {
                    continue;
                }
                let Some(id) = resolve(&parts, self.ctx) else {
                    continue;
                };
                let Some(table) = self.catalog.tables.get(&id) else {
                    continue;
                };
                if !table.is_partitioned() {
                    continue;
                }
                let qualifier = alias
                    .as_ref()
                    .map(|a| a.name.value.to_lowercase())
                    .unwrap_or_else(|| id.name.clone());
                let pruned = idents.iter().any(|(q, col)| {
                    table.spec.partition_keys.iter().any(|k| &k.name == col)
                        && q.as_ref().is_none_or(|q| *q == qualifier)
                });
                if !pruned && !inherited {
                    return ControlFlow::Break(TaskFailure(format!(
                        "ODPS-0130071:[0,0] Semantic analysis exception - physical plan generation failed: java.lang.RuntimeException: Table({},{}) is full scan with all partitions, please specify partition predicates.",
                        id.project, id.name
                    )));
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = FullScan {
        ctx,
        catalog,
        ctes,
        pushed: BTreeSet::new(),
    };
    match statement.visit(&mut v) {
        ControlFlow::Break(f) => Err(f),
        ControlFlow::Continue(()) => Ok(()),
    }
}
