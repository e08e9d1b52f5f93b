//! Rule 1: exactly one statement, and it is a read-only query.
//!
//! Parses in the engine's dialect and refuses everything that is not a
//! plain query: other statements, `SELECT ... INTO`, data-modifying CTEs
//! and locking clauses, at any depth. It does not look at tables, columns
//! or functions; the scope analysis does that on the query returned here.

use std::ops::ControlFlow;

use sqlparser::ast::{Query, SetExpr, Statement, Visit, Visitor};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::dialect::Flavor;
use super::refusal;
use crate::error::ToolError;

/// Parse `sql` into the one read-only query it must hold.
pub(crate) fn parse_query(flavor: Flavor, sql: &str) -> Result<Query, ToolError> {
    // Tokenize once: the token checks below and the parser share the tokens.
    // Sized up front (about one token, whitespace included, per four bytes
    // of SQL): growing it step by step stood out in the gate's profile.
    let mut tokens = Vec::with_capacity(sql.len() / 4 + 16);
    Tokenizer::new(flavor.dialect(), sql)
        .tokenize_with_location_into_buf(&mut tokens)
        .map_err(|e| refusal::parse_error(&e.to_string()))?;
    let meaningful: Vec<&Token> = tokens
        .iter()
        .map(|t| &t.token)
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    if meaningful.is_empty() {
        return Err(refusal::empty_sql());
    }
    let bound = nesting_bound(&meaningful);
    if bound > MAX_NESTING {
        return Err(refusal::nested_too_deep(bound, MAX_NESTING));
    }
    reject_limit_all(&meaningful)?;
    if flavor == Flavor::MaxCompute {
        reject_lexer_ambiguities(&meaningful)?;
    }
    let second_statement = has_second_statement(&meaningful);
    let fallback = unparsed_refusal(&meaningful);
    let parsed = Parser::new(flavor.dialect())
        .with_tokens_with_locations(tokens)
        .parse_statements();
    let mut statements = match parsed {
        Ok(statements) => statements,
        Err(e) if second_statement => {
            // The parser failed somewhere in a later statement; the count
            // is the clearer problem to report.
            tracing::debug!("multi-statement input also failed to parse: {e}");
            return Err(refusal::multiple_statements());
        }
        Err(e) => {
            return Err(
                fallback.unwrap_or_else(|| refusal::parse_error(&strip_prefix(&e.to_string())))
            )
        }
    };
    if statements.len() > 1 {
        return Err(refusal::multiple_statements());
    }
    let Some(statement) = statements.pop() else {
        return Err(refusal::empty_sql());
    };
    let Statement::Query(query) = statement else {
        return Err(refusal::readonly(&describe(&statement)));
    };
    check_read_only(&query)?;
    Ok(*query)
}

/// MaxCompute reads `\'` inside a string as an escaped quote and `"..."`
/// as a string; sqlparser's generic dialect reads neither way. Where the two
/// lexers could disagree, the rendered SQL could mean something other than
/// what was checked, so such tokens are refused outright.
fn reject_lexer_ambiguities(tokens: &[&Token]) -> Result<(), ToolError> {
    for token in tokens {
        let text = match token {
            Token::Word(w) if w.quote_style == Some('"') => {
                return Err(refusal::unsupported(
                    "double-quoted identifiers on MaxCompute; quote names with backticks",
                ))
            }
            Token::Word(w) if w.quote_style.is_some() && w.value.contains('`') => {
                return Err(refusal::unsupported(
                    "backticks inside quoted names on MaxCompute",
                ))
            }
            Token::Word(w) if w.quote_style.is_some() => w.value.as_str(),
            Token::SingleQuotedString(s)
            | Token::DoubleQuotedString(s)
            | Token::TripleSingleQuotedString(s)
            | Token::TripleDoubleQuotedString(s)
            | Token::SingleQuotedByteStringLiteral(s)
            | Token::DoubleQuotedByteStringLiteral(s)
            | Token::TripleSingleQuotedByteStringLiteral(s)
            | Token::TripleDoubleQuotedByteStringLiteral(s)
            | Token::SingleQuotedRawStringLiteral(s)
            | Token::DoubleQuotedRawStringLiteral(s)
            | Token::TripleSingleQuotedRawStringLiteral(s)
            | Token::TripleDoubleQuotedRawStringLiteral(s)
            | Token::NationalStringLiteral(s)
            | Token::EscapedStringLiteral(s)
            | Token::UnicodeStringLiteral(s)
            | Token::HexStringLiteral(s) => s.as_str(),
            Token::DollarQuotedString(_)
            | Token::QuoteDelimitedStringLiteral(_)
            | Token::NationalQuoteDelimitedStringLiteral(_) => {
                return Err(refusal::unsupported("this string syntax on MaxCompute"))
            }
            _ => continue,
        };
        if text.contains('\\') {
            return Err(refusal::unsupported(
                "backslashes in strings or names on MaxCompute, where they are escapes",
            ));
        }
    }
    Ok(())
}

/// A `;` followed by anything but more `;`.
fn has_second_statement(tokens: &[&Token]) -> bool {
    tokens
        .iter()
        .skip_while(|t| ***t != Token::SemiColon)
        .any(|t| **t != Token::SemiColon)
}

/// The deepest nesting a query may have, as [`nesting_bound`] counts it.
///
/// Everything that reads the tree (the gate's walks, sqlparser's printer
/// and visitor, dropping it, PostgreSQL's parse tree in the re-check)
/// recurses once per level, and sqlparser's own recursion limit does not
/// see chains of infix operators (`1+1+…+1` is parsed in a loop into a
/// tree as deep as the chain is long): without this bound one long chain
/// overflows the stack and takes the server down. Legitimate queries stay
/// far below it (the TPC-H and TPC-DS sets reach a few dozen).
pub(crate) const MAX_NESTING: usize = 512;

/// An upper bound on how deeply the parser's tree for `tokens` nests,
/// read off the tokens before parsing.
///
/// Each level of the tree takes at least one token that is not a name, a
/// literal or a comma (an operator, a keyword) or an open group (a
/// parenthesis, `CASE`). So at any token, the counted tokens of every
/// group still open, plus the number of open groups, bound its depth.
/// Siblings do not add up: a comma (and `WHEN`/`THEN`/`ELSE` inside a
/// `CASE`) starts the count of its group afresh.
pub(crate) fn nesting_bound(tokens: &[&Token]) -> usize {
    // Per open group: tokens counted since the group opened or since the
    // last separator, and whether the group is a CASE.
    let mut groups: Vec<(usize, bool)> = vec![(0, false)];
    let mut sum = 0usize;
    let mut deepest = 0usize;
    for token in tokens {
        let keyword = match token {
            Token::Word(w) => Some(w.keyword),
            _ => None,
        };
        match (token, keyword) {
            (Token::LParen | Token::LBracket, _) | (_, Some(Keyword::CASE)) => {
                groups.push((0, keyword == Some(Keyword::CASE)));
            }
            (Token::RParen | Token::RBracket, _) | (_, Some(Keyword::END)) => {
                if groups.len() > 1 {
                    if let Some((count, _)) = groups.pop() {
                        sum -= count;
                    }
                }
            }
            (Token::Comma, _) | (_, Some(Keyword::WHEN | Keyword::THEN | Keyword::ELSE))
                if token == &&Token::Comma || groups.last().is_some_and(|g| g.1) =>
            {
                if let Some(group) = groups.last_mut() {
                    sum -= group.0;
                    group.0 = 0;
                }
            }
            (Token::Word(_), Some(Keyword::NoKeyword))
            | (Token::Number(..) | Token::SingleQuotedString(_) | Token::Placeholder(_), _) => {}
            _ => {
                if let Some(group) = groups.last_mut() {
                    group.0 += 1;
                    sum += 1;
                }
            }
        }
        deepest = deepest.max(sum + groups.len());
    }
    deepest
}

/// sqlparser drops `LIMIT ALL` from the AST, so it is found on the tokens.
fn reject_limit_all(tokens: &[&Token]) -> Result<(), ToolError> {
    let is_kw = |t: &Token, kw: Keyword| matches!(t, Token::Word(w) if w.keyword == kw && w.quote_style.is_none());
    if tokens
        .windows(2)
        .any(|w| is_kw(w[0], Keyword::LIMIT) && is_kw(w[1], Keyword::ALL))
    {
        return Err(refusal::limit_literal("`LIMIT` (here `ALL`)"));
    }
    Ok(())
}

/// Keywords that start a statement other than a query.
const STATEMENT_KEYWORDS: &[Keyword] = &[
    Keyword::DO,
    Keyword::CALL,
    Keyword::EXECUTE,
    Keyword::SET,
    Keyword::RESET,
    Keyword::DISCARD,
    Keyword::LISTEN,
    Keyword::UNLISTEN,
    Keyword::NOTIFY,
    Keyword::PREPARE,
    Keyword::DEALLOCATE,
    Keyword::DECLARE,
    Keyword::FETCH,
    Keyword::CLOSE,
    Keyword::COPY,
    Keyword::EXPLAIN,
    Keyword::ANALYZE,
    Keyword::VACUUM,
    Keyword::CLUSTER,
    Keyword::REINDEX,
    Keyword::LOCK,
    Keyword::LOAD,
    Keyword::BEGIN,
    Keyword::START,
    Keyword::COMMIT,
    Keyword::ROLLBACK,
    Keyword::SAVEPOINT,
    Keyword::RELEASE,
    Keyword::ABORT,
    Keyword::END,
    Keyword::INSERT,
    Keyword::UPDATE,
    Keyword::DELETE,
    Keyword::MERGE,
    Keyword::TRUNCATE,
    Keyword::CREATE,
    Keyword::ALTER,
    Keyword::DROP,
    Keyword::GRANT,
    Keyword::REVOKE,
    Keyword::COMMENT,
    Keyword::REFRESH,
    Keyword::SHOW,
    Keyword::SECURITY,
    Keyword::IMPORT,
];

/// Keywords of writes and DDL.
const WRITE_KEYWORDS: &[Keyword] = &[
    Keyword::INSERT,
    Keyword::UPDATE,
    Keyword::DELETE,
    Keyword::MERGE,
    Keyword::OVERWRITE,
    Keyword::TRUNCATE,
    Keyword::DROP,
    Keyword::CREATE,
    Keyword::ALTER,
];

/// Why unparsable input is refused: statements and locking clauses that
/// sqlparser does not know (`DO`, `FOR KEY SHARE`) are still recognisable
/// from their leading keywords, and get the code that names the problem.
fn unparsed_refusal(tokens: &[&Token]) -> Option<ToolError> {
    let keyword = |t: &Token| match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    };
    let locks = tokens.windows(3).any(|w| {
        keyword(w[0]) == Some(Keyword::FOR)
            && matches!(
                (keyword(w[1]), keyword(w[2])),
                (Some(Keyword::UPDATE | Keyword::SHARE), _)
                    | (Some(Keyword::NO), Some(Keyword::KEY))
                    | (Some(Keyword::KEY), Some(Keyword::SHARE))
            )
    });
    if locks {
        return Some(refusal::locking());
    }
    if let Some(Token::Word(w)) = tokens.first() {
        if w.quote_style.is_none() && STATEMENT_KEYWORDS.contains(&w.keyword) {
            return Some(refusal::readonly(&format!(
                "a `{}` statement",
                w.value.to_uppercase()
            )));
        }
    }
    // A write keyword anywhere (Hive's `FROM t INSERT INTO ...`, a write
    // after a CTE the parser could not follow) names the real problem.
    tokens.iter().find_map(|t| match t {
        Token::Word(w) if w.quote_style.is_none() && WRITE_KEYWORDS.contains(&w.keyword) => {
            Some(refusal::readonly(&format!(
                "a query that contains `{}`",
                w.value.to_uppercase()
            )))
        }
        _ => None,
    })
}

fn strip_prefix(message: &str) -> String {
    message
        .strip_prefix("sql parser error: ")
        .unwrap_or(message)
        .to_string()
}

/// A short name for a refused statement, for the message.
fn describe(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    format!("a `{}` statement", words.join(" "))
}

/// Refuse writes, `INTO` and locks in the query and every nested query.
pub(crate) fn check_read_only(query: &Query) -> Result<(), ToolError> {
    struct ReadOnly;
    impl Visitor for ReadOnly {
        type Break = ToolError;
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<ToolError> {
            match first_refusal(query) {
                Some(e) => ControlFlow::Break(e),
                None => ControlFlow::Continue(()),
            }
        }
    }
    match query.visit(&mut ReadOnly) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn first_refusal(query: &Query) -> Option<ToolError> {
    if let Some(with) = &query.with {
        for cte in &with.cte_tables {
            if let Some(e) = set_expr_refusal(&cte.query.body) {
                return Some(e);
            }
        }
    }
    if let Some(e) = set_expr_refusal(&query.body) {
        return Some(e);
    }
    if !query.locks.is_empty() {
        return Some(refusal::locking());
    }
    if query.for_clause.is_some() || query.settings.is_some() || query.format_clause.is_some() {
        return Some(refusal::unsupported(
            "`FOR`, `SETTINGS` or `FORMAT` clauses",
        ));
    }
    if !query.pipe_operators.is_empty() {
        return Some(refusal::unsupported("pipe operators"));
    }
    None
}

fn set_expr_refusal(body: &SetExpr) -> Option<ToolError> {
    match body {
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => Some(
            refusal::readonly("a data-modifying statement inside the query"),
        ),
        SetExpr::Select(select) if select.into.is_some() => Some(refusal::readonly(
            "`SELECT ... INTO`, which creates a table",
        )),
        SetExpr::SetOperation { left, right, .. } => {
            set_expr_refusal(left).or_else(|| set_expr_refusal(right))
        }
        _ => None,
    }
}
