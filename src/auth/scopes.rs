//! Which scopes a verified access token grants, and whether they cover
//! `required_scopes`.
//!
//! RFC 9068 §2.2.3 (and RFC 8693 §4.2) put the scopes in `scope`, one
//! space-separated string. Some issuers write `scp` instead, as a list of
//! strings or as such a string. Both are read, and a token grants what
//! either names. Claims are read only after the signature verified, and
//! only when scopes are required: a server that requires none never
//! refuses a token for an odd `scope`.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::error::{AuthFailure, FailureReason};

/// The claims that may hold scopes.
const SCOPE_CLAIMS: [&str; 2] = ["scope", "scp"];

/// Accept `claims` when they grant every scope in `required`, else refuse
/// with [`FailureReason::InsufficientScope`] naming the missing ones (from
/// config, never from the token). A scope claim of another type than a
/// string or a list of strings is [`FailureReason::BadClaim`].
pub(crate) fn check(claims: &Map<String, Value>, required: &[String]) -> Result<(), AuthFailure> {
    if required.is_empty() {
        return Ok(());
    }
    let granted = granted(claims)?;
    let missing: Vec<&str> = required
        .iter()
        .map(String::as_str)
        .filter(|scope| !granted.contains(scope))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AuthFailure::with_note(
            FailureReason::InsufficientScope,
            format!("missing `{}`", missing.join(" ")),
        ))
    }
}

/// Every scope `scope` and `scp` name.
fn granted(claims: &Map<String, Value>) -> Result<BTreeSet<&str>, AuthFailure> {
    let mut granted = BTreeSet::new();
    for name in SCOPE_CLAIMS {
        match claims.get(name) {
            None | Some(Value::Null) => {}
            // RFC 6749 §3.3: delimited by spaces; empty parts (a doubled
            // or trailing space) name nothing.
            Some(Value::String(list)) => granted.extend(list.split(' ').filter(|s| !s.is_empty())),
            Some(Value::Array(items)) => {
                for item in items {
                    let Value::String(scope) = item else {
                        return Err(AuthFailure::with_note(
                            FailureReason::BadClaim,
                            format!("scope claim `{name}` holds a non-string"),
                        ));
                    };
                    granted.insert(scope.as_str());
                }
            }
            Some(_) => {
                return Err(AuthFailure::with_note(
                    FailureReason::BadClaim,
                    format!("scope claim `{name}` is neither a string nor a list"),
                ))
            }
        }
    }
    Ok(granted)
}
