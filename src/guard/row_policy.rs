//! Rule 7's predicates: a row policy's text, parsed as an expression, with
//! `${user.<attr>}` placeholders bound to quoted literals on the AST.
//!
//! The policy text is trusted config, but the identity's values are data:
//! they never reach the SQL as text, only as literal nodes, so a value such
//! as `x' OR '1'='1` stays one string. A missing attribute or a predicate
//! that does not parse fails closed.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Value, VisitMut, VisitorMut};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::dialect::Flavor;
use crate::config::{AttributeValue, Identity, Scalar};
use crate::error::ToolError;

const PLACEHOLDER: &str = "__sqlwarden_attr_";

/// Parse `predicate` and bind its placeholders from `identity`.
pub(crate) fn bind(
    flavor: Flavor,
    table: &str,
    predicate: &str,
    identity: &Identity,
) -> Result<Expr, ToolError> {
    let fail = |why: String| {
        ToolError::internal(format!(
            "row policy on `{table}` (`{predicate}`) cannot be applied: {why}"
        ))
    };
    let (text, attributes) = extract_placeholders(predicate).map_err(fail)?;
    let mut values = Vec::new();
    for name in &attributes {
        let value = attribute(identity, name)
            .ok_or_else(|| fail(format!("the identity has no attribute `{name}`")))?;
        values.push(value);
    }
    let mut parser = Parser::new(flavor.dialect())
        .try_with_sql(&text)
        .map_err(|e| fail(e.to_string()))?;
    let mut expr = parser.parse_expr().map_err(|e| fail(e.to_string()))?;
    if parser.peek_token().token != Token::EOF {
        return Err(fail("text after the expression".into()));
    }
    let mut binder = Binder {
        values,
        error: None,
    };
    let _ = expr.visit(&mut binder);
    match binder.error {
        Some(why) => Err(fail(why)),
        None => Ok(expr),
    }
}

/// An identity value by name: an attribute, else `user_id` or `roles`.
fn attribute(identity: &Identity, name: &str) -> Option<AttributeValue> {
    if let Some(value) = identity.attributes.get(name) {
        return Some(value.clone());
    }
    match name {
        "user_id" => Some(AttributeValue::One(Scalar::Text(identity.user_id.clone()))),
        "roles" => Some(AttributeValue::List(
            identity.roles.iter().cloned().map(Scalar::Text).collect(),
        )),
        _ => None,
    }
}

/// Replace each `${user.name}` by a placeholder identifier.
fn extract_placeholders(predicate: &str) -> Result<(String, Vec<String>), String> {
    let mut text = String::new();
    let mut names = Vec::new();
    let mut rest = predicate;
    while let Some(start) = rest.find("${") {
        text.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or("unterminated `${`")?;
        let name = after[..end].trim().strip_prefix("user.").ok_or_else(|| {
            format!(
                "unknown template `${{{}}}`; use `${{user.<attribute>}}`",
                &after[..end]
            )
        })?;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("bad attribute name `{name}`"));
        }
        text.push_str(&format!("{PLACEHOLDER}{}", names.len()));
        names.push(name.to_string());
        rest = &after[end + 1..];
    }
    text.push_str(rest);
    Ok((text, names))
}

struct Binder {
    values: Vec<AttributeValue>,
    error: Option<String>,
}

impl Binder {
    fn placeholder(&self, expr: &Expr) -> Option<&AttributeValue> {
        let Expr::Identifier(ident) = expr else {
            return None;
        };
        let index: usize = ident.value.strip_prefix(PLACEHOLDER)?.parse().ok()?;
        self.values.get(index)
    }
}

impl VisitorMut for Binder {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        // A list attribute expands in place inside `IN (...)`.
        if let Expr::InList { list, .. } = expr {
            let mut expanded = Vec::new();
            for item in list.drain(..) {
                match self.placeholder(&item) {
                    Some(AttributeValue::List(values)) if values.is_empty() => {
                        expanded.push(Expr::value(Value::Null))
                    }
                    Some(AttributeValue::List(values)) => {
                        expanded.extend(values.iter().map(literal))
                    }
                    _ => expanded.push(item),
                }
            }
            *list = expanded;
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match self.placeholder(expr) {
            Some(AttributeValue::One(value)) => *expr = literal(value),
            Some(AttributeValue::List(_)) => {
                self.error = Some("a list attribute is used outside `IN (...)`".into());
                return ControlFlow::Break(());
            }
            None => {}
        }
        ControlFlow::Continue(())
    }
}

fn literal(value: &Scalar) -> Expr {
    Expr::value(match value {
        Scalar::Bool(b) => Value::Boolean(*b),
        Scalar::Int(i) => Value::Number(i.to_string(), false),
        // Quoted so that a non-finite float cannot become an identifier.
        Scalar::Float(f) => Value::SingleQuotedString(f.to_string()),
        Scalar::Text(s) => Value::SingleQuotedString(s.clone()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
