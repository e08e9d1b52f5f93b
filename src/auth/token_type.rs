//! The JOSE header's `typ`: is this JWT meant as an OAuth access token?
//!
//! RFC 9068 §2.1 has issuers mark access tokens `typ: at+jwt` so that a
//! token of another kind signed by the same key (an OpenID Connect ID
//! token, a logout or security-event token) cannot be replayed as one.
//! Many issuers still send `typ: JWT` or no `typ`, so the rule is:
//!
//! - `at+jwt` is always accepted;
//! - `JWT`, or no `typ`, is accepted unless `require_access_token_typ`;
//! - any other `typ` names another kind of token and is refused.
//!
//! Values compare as media types do: case-insensitively, and with
//! `application/` put in front of a value that has no `/` (RFC 7515
//! §4.1.9), so `application/at+jwt` is `at+jwt` and `application/jwt` is
//! `JWT`.

use serde_json::{Map, Value};

use super::error::{AuthFailure, FailureReason};

/// What a token's `typ` says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenType {
    /// No `typ`.
    Unstated,
    /// `JWT`: a JWT of no stated kind.
    Jwt,
    /// `at+jwt`: an OAuth access token (RFC 9068).
    AccessToken,
    /// Anything else: a token of another kind.
    Other,
}

impl TokenType {
    /// The `typ` of `header`; a `typ` that is not a string is malformed.
    pub(crate) fn of(header: &Map<String, Value>) -> Result<Self, AuthFailure> {
        match header.get("typ") {
            None => Ok(Self::Unstated),
            Some(Value::String(typ)) => Ok(Self::parse(typ)),
            Some(_) => Err(AuthFailure::with_note(
                FailureReason::Malformed,
                "`typ` is not a string",
            )),
        }
    }

    /// The kind a `typ` value names.
    fn parse(typ: &str) -> Self {
        let typ = typ.to_ascii_lowercase();
        let media_type = if typ.contains('/') {
            typ
        } else {
            format!("application/{typ}")
        };
        match media_type.as_str() {
            "application/jwt" => Self::Jwt,
            "application/at+jwt" => Self::AccessToken,
            _ => Self::Other,
        }
    }

    /// Accept the token, or refuse it as not an access token. With
    /// `require_access_token_typ`, only `at+jwt` passes.
    pub(crate) fn check(self, require_access_token_typ: bool) -> Result<(), AuthFailure> {
        match self {
            Self::AccessToken => Ok(()),
            Self::Jwt | Self::Unstated if !require_access_token_typ => Ok(()),
            Self::Jwt | Self::Unstated => Err(AuthFailure::with_note(
                FailureReason::BadType,
                "`require_access_token_typ` wants `typ: at+jwt`",
            )),
            Self::Other => Err(AuthFailure::with_note(
                FailureReason::BadType,
                "`typ` names another kind of token",
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
