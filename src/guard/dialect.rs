//! What differs between the engines: the parser dialect, identifier
//! folding, table-key shapes, system namespaces and identifier quoting.
//!
//! Postgres folds unquoted identifiers to lower case and keeps quoted ones
//! exactly; MaxCompute names are case-insensitive, so everything is folded.
//! This module does not decide what is allowed; it only names things the
//! way the policy keys them.

use std::borrow::Cow;

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart};
use sqlparser::dialect::{Dialect, GenericDialect, PostgreSqlDialect};

use crate::config::EngineKind;

/// The engine-specific naming rules the gate applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// PostgreSQL: `schema.table`, exact quoted names.
    Postgres,
    /// MaxCompute: `project.table` / `project.schema.table`, case-insensitive.
    MaxCompute,
}

impl Flavor {
    /// The flavor of an engine.
    pub(crate) fn of(engine: EngineKind) -> Self {
        match engine {
            EngineKind::Postgres => Self::Postgres,
            EngineKind::MaxCompute => Self::MaxCompute,
        }
    }

    /// The sqlparser dialect to parse this engine's SQL in.
    pub(crate) fn dialect(self) -> &'static dyn Dialect {
        match self {
            Self::Postgres => &PostgreSqlDialect {},
            Self::MaxCompute => &GenericDialect {},
        }
    }

    /// An identifier as the engine resolves it. PostgreSQL (in UTF-8)
    /// folds only ASCII letters of unquoted names, so `PHÔNE` is `phÔne`
    /// there; folding more would check a different name than it reads.
    pub(crate) fn fold(self, ident: &Ident) -> String {
        self.folded(ident).into_owned()
    }

    /// [`Self::fold`], borrowed when folding changes nothing (as for most
    /// names), for comparisons: the gate folds every name it resolves.
    pub(crate) fn folded(self, ident: &Ident) -> Cow<'_, str> {
        let value = ident.value.as_str();
        match (self, ident.quote_style) {
            (Self::Postgres, Some(_)) => Cow::Borrowed(value),
            (Self::Postgres, None) if !value.bytes().any(|b| b.is_ascii_uppercase()) => {
                Cow::Borrowed(value)
            }
            (Self::Postgres, None) => Cow::Owned(value.to_ascii_lowercase()),
            (Self::MaxCompute, _)
                if value
                    .bytes()
                    .all(|b| b.is_ascii() && !b.is_ascii_uppercase()) =>
            {
                Cow::Borrowed(value)
            }
            (Self::MaxCompute, _) => Cow::Owned(value.to_lowercase()),
        }
    }

    /// A name as the engine resolves it (for policy comparisons).
    pub(crate) fn fold_str(self, name: &str) -> String {
        match self {
            Self::Postgres => name.to_string(),
            Self::MaxCompute => name.to_lowercase(),
        }
    }

    /// Most parts a table name may have (`schema.table` on Postgres,
    /// `project.schema.table` on MaxCompute).
    pub(crate) fn max_table_parts(self) -> usize {
        match self {
            Self::Postgres => 2,
            Self::MaxCompute => 3,
        }
    }

    /// Whether a (folded) leading namespace is a system one.
    pub(crate) fn is_system_namespace(self, namespace: &str) -> bool {
        let lower = namespace.to_lowercase();
        match self {
            Self::Postgres => lower == "information_schema" || lower.starts_with("pg_"),
            Self::MaxCompute => lower == "information_schema" || lower == "system",
        }
    }

    /// Whether an unqualified table name could resolve to a system relation
    /// (Postgres searches `pg_catalog` before the default schema).
    pub(crate) fn is_system_relation_name(self, name: &str) -> bool {
        match self {
            Self::Postgres => name.to_lowercase().starts_with("pg_"),
            Self::MaxCompute => false,
        }
    }

    /// The character that delimits a quoted name.
    pub(crate) fn quote_char(self) -> char {
        match self {
            Self::Postgres => '"',
            Self::MaxCompute => '`',
        }
    }

    /// An identifier that prints as `name` and re-parses to exactly `name`.
    pub(crate) fn ident(self, name: &str) -> Ident {
        let plain = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !is_keyword(name);
        match (plain, self) {
            (true, _) => Ident::new(name),
            (false, Self::Postgres) => Ident::with_quote('"', name),
            (false, Self::MaxCompute) => Ident::with_quote('`', name),
        }
    }

    /// An object name from already-resolved parts.
    pub(crate) fn object_name(self, parts: &[String]) -> ObjectName {
        ObjectName(
            parts
                .iter()
                .map(|p| ObjectNamePart::Identifier(self.ident(p)))
                .collect(),
        )
    }
}

/// Words that must be quoted to be read as identifiers: PostgreSQL's
/// reserved keywords, plus words sqlparser reads as the start of typed
/// literals or clauses. Quoting more than needed is always safe.
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "date",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "interval",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

fn is_keyword(name: &str) -> bool {
    RESERVED.contains(&name)
}

/// The identifiers of an object name, or `None` when a part is computed
/// (a function call in a name, which no supported engine needs).
pub(crate) fn name_idents(name: &ObjectName) -> Option<Vec<&Ident>> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => Some(ident),
            ObjectNamePart::Function(_) => None,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
