//! The PostgreSQL re-check: libpg_query (the server's own grammar) parses
//! the text that will be sent, and its tree must say what the gate checked.
//!
//! The tree is walked generically from the JSON text libpg_query prints
//! (see [`tree`]), so a node kind this module does not name is still
//! searched for the nodes it does name: nothing hides inside a container
//! the walk does not know. Each check is shown its node after everything
//! inside it, holding the fields the check reads. Names are libpg_query's:
//! node types and fields as in PostgreSQL's C structs, enums by name.
//!
//! From the tree, independently of sqlparser:
//! - exactly one statement, a `SELECT`, with no `INTO`, no locking clause
//!   and no other statement kind anywhere inside it;
//! - every relation and every column reference (including `*`, `t.*` and
//!   whole-row references, which are column references to the parser),
//!   compared as multisets with the checked AST's ([`super::Facts`]);
//! - every function call (by name; `pg_catalog.` is the only schema), every
//!   operator (in expressions, `ANY`/`ALL`, and `ORDER BY … USING`), every
//!   SQL-syntax function the grammar generates, and every type name (no
//!   `reg*` catalog types, no schema but `pg_catalog`), checked against the
//!   same allow-lists the gate uses.

use sqlparser::ast::Query;

use super::tree::{self, Inspector, Stop, Tree};
use super::{gate_facts, mismatch, Facts};
use crate::error::{ErrorCode, ToolError};
use crate::guard::dialect::Flavor;
use crate::guard::functions::function_allowed;
use crate::policy::EffectiveSecurity;

/// Deepest tree the walk follows; far beyond any real query (sqlparser
/// refuses deep nesting long before), so reaching it is itself suspicious.
const MAX_DEPTH: usize = 4096;

/// `CoercionForm`'s value for a call the grammar made from SQL syntax
/// (`EXTRACT(… FROM …)`, `TRIM(BOTH …)`, `x AT TIME ZONE y`).
const COERCE_SQL_SYNTAX: &str = "COERCE_SQL_SYNTAX";

/// The `A_Expr` kinds of `BETWEEN` and its variants.
const BETWEEN_KINDS: &[&str] = &[
    "AEXPR_BETWEEN",
    "AEXPR_NOT_BETWEEN",
    "AEXPR_BETWEEN_SYM",
    "AEXPR_NOT_BETWEEN_SYM",
];

/// Functions the grammar generates from SQL syntax that the gate accepts
/// as syntax (not by function name).
const SQL_SYNTAX_FUNCTIONS: &[&str] = &[
    "extract",
    "normalize",
    "is_normalized",
    "overlay",
    "position",
    "substring",
    "btrim",
    "ltrim",
    "rtrim",
    "timezone",
    "overlaps",
    "similar_to_escape",
    "like_escape",
];

/// Operators of the built-in types the gate accepts, as the grammar names
/// them (`!=` is already `<>`, `LIKE` is `~~`).
const OPERATORS: &[&str] = &[
    "=", "<>", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "^", "||", "|", "&", "#", "~", "<<",
    ">>", "&&", "~*", "!~", "!~*", "~~", "~~*", "!~~", "!~~*", "^@", "->", "->>", "#>", "#>>",
    "@>", "<@", "?", "?|", "?&", "@@", "@", "|/", "||/",
];

/// Node kinds the gate never lets through (XML, SQL/JSON constructors
/// and tables, `MERGE` support): their presence alone refuses the text.
const REFUSED_NODES: &[&str] = &[
    "XmlExpr",
    "XmlSerialize",
    "RangeTableFunc",
    "JsonTable",
    "JsonFuncExpr",
    "JsonParseExpr",
    "JsonScalarExpr",
    "JsonSerializeExpr",
    "JsonObjectConstructor",
    "JsonArrayConstructor",
    "JsonArrayQueryConstructor",
    "JsonObjectAgg",
    "JsonArrayAgg",
    "MergeSupportFunc",
];

/// The words the grammar uses as operator names for `BETWEEN`.
const BETWEEN_NAMES: &[&str] = &[
    "BETWEEN",
    "NOT BETWEEN",
    "BETWEEN SYMMETRIC",
    "NOT BETWEEN SYMMETRIC",
];

/// Parse `sql` with PostgreSQL's grammar and compare it with `checked`.
pub(super) fn verify(
    checked: &Query,
    sql: &str,
    security: &EffectiveSecurity,
) -> Result<(), ToolError> {
    let json = pg_grammar::parse_json(sql).map_err(|e| {
        ToolError::new(
            ErrorCode::SqlParseError,
            "PostgreSQL's parser does not accept the query",
            "Write it in PostgreSQL's SQL dialect; the error names the spot",
        )
        .with_untrusted_detail(e.to_string())
    })?;
    let mut walk = Walk {
        facts: Facts::default(),
        security,
    };
    let kinds = tree::statements(&json, &mut walk, MAX_DEPTH).map_err(|stop| match stop {
        Stop::Refused(refusal) => refusal,
        Stop::TooDeep => mismatch("the parse tree is deeper than the walk follows"),
        Stop::Malformed(e) => ToolError::internal(format!("libpg_query tree: {e}")),
    })?;
    match kinds.as_slice() {
        [kind] if kind == "SelectStmt" => {}
        [_] => return Err(mismatch("PostgreSQL does not read a SELECT statement")),
        _ => {
            return Err(mismatch(format!(
                "PostgreSQL reads {} statements",
                kinds.len()
            )))
        }
    }
    let ours = gate_facts(Flavor::Postgres, checked);
    if ours != walk.facts {
        return Err(mismatch(format!(
            "the facts differ: {}",
            ours.difference(&walk.facts)
        )));
    }
    Ok(())
}

/// The walk's findings: the facts PostgreSQL's tree states.
struct Walk<'s> {
    facts: Facts,
    /// The operators policy allows beyond the built-ins.
    security: &'s EffectiveSecurity,
}

impl Inspector for Walk<'_> {
    type Error = ToolError;

    /// The keys [`Walk::node`] checks, and the fields each check reads;
    /// every key its last arm passes over is `None`.
    fn reads(&self, key: &str) -> Option<&'static [&'static str]> {
        Some(match key {
            "SelectStmt" => &["intoClause"],
            "RangeVar" => &["catalogname", "schemaname", "relname"],
            "ColumnRef" => &["fields"],
            "JoinExpr" => &["isNatural", "usingClause"],
            "FuncCall" => &["funcname", "funcformat"],
            "A_Expr" => &["kind", "name"],
            "SortBy" => &["useOp"],
            "SubLink" => &["operName"],
            "typeName" | "type_name" | "TypeName" => &["names", "setof", "pct_type"],
            "SQLValueFunction" => &["op"],
            "RangeTableSample" => &["method"],
            "LockingClause" => &[],
            other if REFUSED_NODES.contains(&other) || other.ends_with("Stmt") => &[],
            _ => return None,
        })
    }

    fn inspect(&mut self, key: &str, value: &Tree<'_>) -> Result<(), ToolError> {
        self.node(key, value)
    }
}

impl Walk<'_> {
    fn check_operator(&self, name: &[String], between: bool) -> Result<(), ToolError> {
        check_operator(name, between, self.security)
    }

    /// Check one keyed entry: a node variant (`"ColumnRef": {…}`) or a
    /// field that holds a type name or a clause. What each check reads of
    /// `node` is listed in [`Inspector::reads`]; the walk keeps only that,
    /// and shows here only the keys `reads` names, so a key checked here
    /// must be named there too.
    fn node(&mut self, key: &str, node: &Tree<'_>) -> Result<(), ToolError> {
        match key {
            "SelectStmt" if node.get("intoClause").is_some_and(|v| !v.is_null()) => {
                return Err(mismatch("PostgreSQL reads SELECT … INTO"));
            }
            "LockingClause" => return Err(mismatch("PostgreSQL reads a locking clause")),
            "RangeVar" => {
                let part = |field: &str| {
                    node.get(field)
                        .and_then(Tree::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                };
                let name: Vec<String> = ["catalogname", "schemaname", "relname"]
                    .iter()
                    .filter_map(|f| part(f))
                    .collect();
                Facts::add(&mut self.facts.relations, name.join("."));
            }
            "ColumnRef" => {
                let fields = node
                    .get("fields")
                    .and_then(Tree::as_list)
                    .unwrap_or_default();
                let parts: Vec<String> = fields.iter().map(field_name).collect();
                Facts::add(&mut self.facts.columns, parts.join("."));
            }
            "JoinExpr" => {
                if node.get("isNatural").and_then(Tree::as_bool) == Some(true) {
                    Facts::add(&mut self.facts.join_columns, "NATURAL".into());
                }
                for name in names(node.get("usingClause")) {
                    Facts::add(&mut self.facts.join_columns, name);
                }
            }
            "FuncCall" => check_function(node)?,
            "A_Expr" => {
                let kind = node.get("kind").and_then(Tree::as_str).unwrap_or_default();
                self.check_operator(&names(node.get("name")), BETWEEN_KINDS.contains(&kind))?;
            }
            "SortBy" => {
                let op = names(node.get("useOp"));
                if !op.is_empty() {
                    self.check_operator(&op, false)?;
                }
            }
            "SubLink" => {
                let op = names(node.get("operName"));
                if !op.is_empty() {
                    self.check_operator(&op, false)?;
                }
            }
            "typeName" | "type_name" | "TypeName" => check_type(node)?,
            "SQLValueFunction" => check_sql_value_function(node)?,
            "RangeTableSample" => {
                let method = names(node.get("method"));
                if !matches!(unqualified(&method), Some("bernoulli" | "system")) {
                    return Err(mismatch(format!(
                        "PostgreSQL reads the sampling method `{}`",
                        method.join(".")
                    )));
                }
            }
            other if REFUSED_NODES.contains(&other) => {
                return Err(mismatch(format!("PostgreSQL reads a `{key}` node")))
            }
            other if other.ends_with("Stmt") && other != "SelectStmt" => {
                return Err(mismatch(format!("PostgreSQL reads a `{other}`")))
            }
            _ => {}
        }
        Ok(())
    }
}

/// A `String` node's text, `*` for `A_Star`, or a marker that matches no
/// gate fact.
fn field_name(field: &Tree<'_>) -> String {
    if let Some(string) = field.get("String") {
        // libpg_query leaves out an empty `sval`.
        let text = string
            .get("sval")
            .and_then(Tree::as_str)
            .unwrap_or_default();
        return text.to_string();
    }
    if field.get("A_Star").is_some() {
        return "*".to_string();
    }
    format!("<{field}>")
}

/// The texts of a list of `String` nodes (a qualified name).
fn names(list: Option<&Tree<'_>>) -> Vec<String> {
    list.and_then(Tree::as_list)
        .map(|items| items.iter().map(field_name).collect())
        .unwrap_or_default()
}

/// `name` or `pg_catalog.name`, the only schema a function or operator
/// may come from; `None` for anything else.
fn unqualified(name: &[String]) -> Option<&str> {
    match name {
        [one] => Some(one.as_str()),
        [schema, one] if schema == "pg_catalog" => Some(one.as_str()),
        _ => None,
    }
}

fn check_function(node: &Tree<'_>) -> Result<(), ToolError> {
    let name = names(node.get("funcname"));
    // The grammar names the functions it makes from syntax with their
    // schema (`pg_catalog.like_escape` for `LIKE … ESCAPE`), most of them
    // marked as SQL syntax.
    let grammar_made = node.get("funcformat").and_then(Tree::as_str) == Some(COERCE_SQL_SYNTAX)
        || name.first().is_some_and(|schema| schema == "pg_catalog");
    let allowed = unqualified(&name).is_some_and(|f| {
        function_allowed(Flavor::Postgres, f) || (grammar_made && SQL_SYNTAX_FUNCTIONS.contains(&f))
    });
    if allowed {
        Ok(())
    } else {
        Err(mismatch(format!(
            "PostgreSQL reads a call of `{}`, which is not allowed",
            name.join(".")
        )))
    }
}

fn check_operator(
    name: &[String],
    between: bool,
    security: &EffectiveSecurity,
) -> Result<(), ToolError> {
    let builtin = unqualified(name).is_some_and(|op| {
        OPERATORS.contains(&op) || (between && name.len() == 1 && BETWEEN_NAMES.contains(&op))
    });
    let listed = matches!(name, [schema, op] if security.operator_allowed(schema, op));
    let allowed = builtin || listed;
    if allowed {
        Ok(())
    } else {
        Err(mismatch(format!(
            "PostgreSQL reads the operator `{}`, which is not allowed",
            name.join(".")
        )))
    }
}

fn check_type(node: &Tree<'_>) -> Result<(), ToolError> {
    if !node.is_object() {
        return Ok(());
    }
    let name = names(node.get("names"));
    let flag = |f: &str| node.get(f).and_then(Tree::as_bool) == Some(true);
    let base = unqualified(&name);
    let allowed =
        !flag("setof") && !flag("pct_type") && base.is_some_and(|t| !t.starts_with("reg"));
    if allowed {
        Ok(())
    } else {
        Err(mismatch(format!(
            "PostgreSQL reads the type `{}`, which is not allowed",
            name.join(".")
        )))
    }
}

fn check_sql_value_function(node: &Tree<'_>) -> Result<(), ToolError> {
    let op = node.get("op").and_then(Tree::as_str).unwrap_or_default();
    let name = match op {
        "SVFOP_CURRENT_DATE" => Some("current_date"),
        "SVFOP_CURRENT_TIME" | "SVFOP_CURRENT_TIME_N" => Some("current_time"),
        "SVFOP_CURRENT_TIMESTAMP" | "SVFOP_CURRENT_TIMESTAMP_N" => Some("current_timestamp"),
        "SVFOP_LOCALTIME" | "SVFOP_LOCALTIME_N" => Some("localtime"),
        "SVFOP_LOCALTIMESTAMP" | "SVFOP_LOCALTIMESTAMP_N" => Some("localtimestamp"),
        "SVFOP_CURRENT_ROLE" => Some("current_role"),
        "SVFOP_CURRENT_USER" => Some("current_user"),
        "SVFOP_USER" => Some("user"),
        "SVFOP_SESSION_USER" => Some("session_user"),
        "SVFOP_CURRENT_CATALOG" => Some("current_catalog"),
        "SVFOP_CURRENT_SCHEMA" => Some("current_schema"),
        _ => None,
    };
    match name {
        Some(n) if function_allowed(Flavor::Postgres, n) => Ok(()),
        _ => Err(mismatch(format!(
            "PostgreSQL reads the SQL value function {op}, which is not allowed"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
