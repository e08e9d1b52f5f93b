//! A verified token's claims → the identity policy uses, through the
//! configured [`ClaimMapping`].

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::config::{AttributeValue, Identity, Scalar};

use super::config::ClaimMapping;
use super::error::{AuthFailure, FailureReason};

/// The claim `name` names: a top-level claim, or a JSON pointer when it
/// starts with `/`.
pub(crate) fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if name.starts_with('/') {
        let mut path = name.split('/').skip(1);
        let first = unescape(path.next()?);
        let mut value = claims.get(&first)?;
        for step in path {
            let step = unescape(step);
            value = match value {
                Value::Object(map) => map.get(&step)?,
                Value::Array(items) => items.get(step.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value)
    } else {
        claims.get(name)
    }
}

/// RFC 6901: `~1` is `/`, `~0` is `~`.
fn unescape(step: &str) -> String {
    step.replace("~1", "/").replace("~0", "~")
}

/// The identity the claims describe. The user id claim must be a non-empty
/// string (or a number); a mapped claim of a type the identity cannot hold
/// is refused rather than dropped, so a policy never sees half an identity.
pub(crate) fn identity(
    claims: &Map<String, Value>,
    mapping: &ClaimMapping,
) -> Result<Identity, AuthFailure> {
    let user_id = match claim(claims, &mapping.user_id) {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(Value::Number(n)) => n.to_string(),
        None | Some(Value::Null) => {
            return Err(AuthFailure::with_note(
                FailureReason::MissingClaim,
                format!("user id claim `{}`", mapping.user_id),
            ))
        }
        Some(_) => {
            return Err(AuthFailure::with_note(
                FailureReason::BadClaim,
                format!(
                    "user id claim `{}` is not a non-empty string",
                    mapping.user_id
                ),
            ))
        }
    };
    let roles = match mapping
        .roles
        .as_deref()
        .map(|name| (name, claim(claims, name)))
    {
        None | Some((_, None | Some(Value::Null))) => Vec::new(),
        Some((_, Some(Value::String(text)))) => text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
        Some((name, Some(Value::Array(items)))) => items
            .iter()
            .map(|item| match item {
                Value::String(role) => Ok(role.clone()),
                _ => Err(AuthFailure::with_note(
                    FailureReason::BadClaim,
                    format!("roles claim `{name}` holds a non-string"),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some((name, Some(_))) => {
            return Err(AuthFailure::with_note(
                FailureReason::BadClaim,
                format!("roles claim `{name}` is neither a list nor a string"),
            ))
        }
    };
    let mut attributes = BTreeMap::new();
    for (name, attribute) in &mapping.attributes {
        let Some(value) = claim(claims, name).filter(|v| !v.is_null()) else {
            continue;
        };
        let value = attribute_value(value).ok_or_else(|| {
            AuthFailure::with_note(
                FailureReason::BadClaim,
                format!(
                    "claim `{name}` (attribute `{attribute}`) is not a scalar or a list of scalars"
                ),
            )
        })?;
        attributes.insert(attribute.clone(), value);
    }
    Ok(Identity {
        user_id,
        roles,
        attributes,
    })
}

fn attribute_value(value: &Value) -> Option<AttributeValue> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(scalar)
            .collect::<Option<Vec<_>>>()
            .map(AttributeValue::List),
        other => scalar(other).map(AttributeValue::One),
    }
}

fn scalar(value: &Value) -> Option<Scalar> {
    match value {
        Value::Bool(b) => Some(Scalar::Bool(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(Scalar::Int)
            .or_else(|| n.as_f64().map(Scalar::Float)),
        Value::String(s) => Some(Scalar::Text(s.clone())),
        _ => None,
    }
}
