//! The last gate step: the exact text that will be sent is read again by
//! the engine's own rules, and must say what the gate checked.
//!
//! sqlparser's tokenizer and printer do not read text exactly as an
//! engine's lexer does, so "we print our own AST" alone is not a proof.
//! After [`super::canonical`] has fixed every leaf's spelling and the query
//! is printed, this module reads that text the engine's way and compares:
//!
//! - **PostgreSQL** ([`postgres`]): the text is parsed by libpg_query, the
//!   server's own grammar. From that tree, independently of sqlparser, come
//!   the statement kind, every relation and every column reference (whole
//!   row and `*` included), which must equal — as multisets — those of the
//!   checked AST ([`Facts`]); and every function, operator and type name,
//!   which must pass the same allow-lists the gate used.
//! - **MaxCompute** ([`maxcompute`]): a lexer that follows MaxCompute's
//!   rules (both quote styles with backslash escapes, backticks, comments,
//!   hints) must produce, token for token, the tokens the gate's parser
//!   read from the same text.
//!
//! Any difference refuses the call with `GATE_MISMATCH`; what differed
//! goes to the log and the audit record, never to the agent.

mod maxcompute;
mod postgres;
mod tree;

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, JoinConstraint, JoinOperator,
    ObjectName, Query, Select, SelectItem, SelectItemQualifiedWildcardKind, TableFactor,
    TableWithJoins, Visit, Visitor,
};

use super::dialect::{name_idents, Flavor};
use crate::error::{ErrorCode, ToolError};
use crate::policy::EffectiveSecurity;

/// Re-read `sql` (the printing of `checked`) by the engine's rules and
/// refuse it unless it says what `checked` says.
///
/// `security` holds the operators policy allows beyond the built-ins.
pub(crate) fn verify(
    flavor: Flavor,
    checked: &Query,
    sql: &str,
    security: &EffectiveSecurity,
) -> Result<(), ToolError> {
    match flavor {
        Flavor::Postgres => postgres::verify(checked, sql, security),
        Flavor::MaxCompute => maxcompute::verify(sql),
    }
}

/// What a query reads, as the multisets both readings must agree on.
/// Names are as the engine resolves them (folded), joined with `.`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    /// Every table reference (`schema.table`, or a CTE's name).
    pub(crate) relations: BTreeMap<String, usize>,
    /// Every column reference, `*` and `t.*` included.
    pub(crate) columns: BTreeMap<String, usize>,
    /// Columns named in `JOIN … USING (…)`, and `NATURAL` joins.
    pub(crate) join_columns: BTreeMap<String, usize>,
}

impl Facts {
    fn add(map: &mut BTreeMap<String, usize>, key: String) {
        *map.entry(key).or_default() += 1;
    }

    /// A readable account of how `self` (the gate's) and `other` (the
    /// engine's) differ, for the log.
    pub(crate) fn difference(&self, other: &Facts) -> String {
        let mut out = Vec::new();
        for (label, ours, theirs) in [
            ("relation", &self.relations, &other.relations),
            ("column", &self.columns, &other.columns),
            ("join column", &self.join_columns, &other.join_columns),
        ] {
            let keys: std::collections::BTreeSet<&String> =
                ours.keys().chain(theirs.keys()).collect();
            for key in keys {
                let (a, b) = (
                    ours.get(key).copied().unwrap_or(0),
                    theirs.get(key).copied().unwrap_or(0),
                );
                if a != b {
                    out.push(format!("{label} `{key}`: gate {a}, engine {b}"));
                }
            }
        }
        out.join("; ")
    }
}

/// The facts of the checked AST, named as `flavor` folds them.
pub(crate) fn gate_facts(flavor: Flavor, query: &Query) -> Facts {
    let mut collector = GateFacts {
        flavor,
        facts: Facts::default(),
    };
    let _ = query.visit(&mut collector);
    collector.facts
}

struct GateFacts {
    flavor: Flavor,
    facts: Facts,
}

impl GateFacts {
    fn name(&self, name: &ObjectName) -> String {
        match name_idents(name) {
            Some(idents) => self.joined(idents.iter().copied()),
            // A computed name part: no engine reading will match it.
            None => format!("<computed {name}>"),
        }
    }

    /// The names, folded and joined with `.`, built in one string.
    fn joined<'i>(&self, idents: impl Iterator<Item = &'i Ident>) -> String {
        let mut key = String::new();
        for (i, ident) in idents.enumerate() {
            if i > 0 {
                key.push('.');
            }
            key.push_str(&self.flavor.folded(ident));
        }
        key
    }

    fn column(&mut self, key: String) {
        Facts::add(&mut self.facts.columns, key);
    }

    fn joins(&mut self, table: &TableWithJoins) {
        for join in &table.joins {
            match join_constraint(&join.join_operator) {
                Some(JoinConstraint::Using(names)) => {
                    for name in names {
                        let key = self.name(name);
                        Facts::add(&mut self.facts.join_columns, key);
                    }
                }
                Some(JoinConstraint::Natural) => {
                    Facts::add(&mut self.facts.join_columns, "NATURAL".into());
                }
                _ => {}
            }
        }
    }
}

fn join_constraint(op: &JoinOperator) -> Option<&JoinConstraint> {
    use JoinOperator as J;
    match op {
        J::Join(c)
        | J::Inner(c)
        | J::Left(c)
        | J::LeftOuter(c)
        | J::Right(c)
        | J::RightOuter(c)
        | J::FullOuter(c)
        | J::CrossJoin(c)
        | J::Semi(c)
        | J::LeftSemi(c)
        | J::RightSemi(c)
        | J::Anti(c)
        | J::LeftAnti(c)
        | J::RightAnti(c)
        | J::StraightJoin(c)
        | J::AsOf { constraint: c, .. } => Some(c),
        J::CrossApply | J::OuterApply | J::ArrayJoin | J::LeftArrayJoin | J::InnerArrayJoin => None,
    }
}

impl Visitor for GateFacts {
    type Break = ();

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        for item in &select.projection {
            match item {
                SelectItem::Wildcard(_) => self.column("*".into()),
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => {
                    let key = format!("{}.*", self.name(n));
                    self.column(key);
                }
                SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::Expr(e), _) => {
                    self.column(format!("<expr {e}>.*"));
                }
                _ => {}
            }
        }
        for table in &select.from {
            self.joins(table);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        match factor {
            TableFactor::Table {
                name, args: None, ..
            } => {
                let key = self.name(name);
                Facts::add(&mut self.facts.relations, key);
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.joins(table_with_joins),
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Identifier(ident) => {
                let key = self.flavor.fold(ident);
                self.column(key);
            }
            Expr::CompoundIdentifier(idents) => {
                let key = self.joined(idents.iter());
                self.column(key);
            }
            Expr::Wildcard(_) => self.column("*".into()),
            Expr::QualifiedWildcard(name, _) => {
                let key = format!("{}.*", self.name(name));
                self.column(key);
            }
            Expr::Function(function) => {
                if let FunctionArguments::List(list) = &function.args {
                    for arg in &list.args {
                        let arg = match arg {
                            FunctionArg::Unnamed(a)
                            | FunctionArg::Named { arg: a, .. }
                            | FunctionArg::ExprNamed { arg: a, .. } => a,
                        };
                        if let FunctionArgExpr::QualifiedWildcard(name) = arg {
                            let key = format!("{}.*", self.name(name));
                            self.column(key);
                        }
                    }
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// The refusal for a text the engine reads differently from the gate. The
/// agent learns that, not what differed (that is in `detail`, for the log).
pub(crate) fn mismatch(detail: impl Into<String>) -> ToolError {
    ToolError::new(
        ErrorCode::GateMismatch,
        "The query reads differently to the database's own parser than to sqlwarden's gate, so it was not run",
        "Write it plainly: ordinary quoting, no backslashes in names, no comments or unusual escapes; then send it again",
    )
    .with_internal(detail)
}
