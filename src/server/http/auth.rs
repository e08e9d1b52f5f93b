//! What the HTTP front door needs from authentication, as a trait: the
//! caller behind an `Authorization` header, or why there is none.
//!
//! The front door calls [`Authenticate::authenticate`] on every MCP
//! request before anything else runs; a refusal becomes `401` with the
//! `WWW-Authenticate` header the implementation chose. Implementations own
//! token formats and keys; this module owns none.
//!
//! Wiring the authenticator of `crate::auth` is an adapter:
//!
//! ```ignore
//! impl Authenticate for crate::auth::Authenticator {
//!     fn authenticate<'a>(&'a self, header: Option<&'a str>) -> BoxFuture<'a, Result<Authenticated, AuthRefusal>> {
//!         Box::pin(async move {
//!             match crate::auth::Authenticator::authenticate(self, header).await {
//!                 Ok(c) => Ok(Authenticated { identity: c.identity, token_id: c.token_id }),
//!                 Err(f) => Err(AuthRefusal { reason: f.reason().to_string(), www_authenticate: self.www_authenticate(&f) }),
//!             }
//!         })
//!     }
//!     fn protected_resource_metadata(&self) -> Option<serde_json::Value> {
//!         crate::auth::Authenticator::protected_resource_metadata(self)
//!     }
//! }
//! ```

use futures_util::future::BoxFuture;

use crate::config::Identity;

/// Turns a request's `Authorization` header into a caller.
pub trait Authenticate: Send + Sync + 'static {
    /// The caller behind `authorization` (the raw header value, if the
    /// request had one), or why it is refused.
    fn authenticate<'a>(
        &'a self,
        authorization: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Authenticated, AuthRefusal>>;

    /// The body of `GET /.well-known/oauth-protected-resource` (RFC 9728),
    /// `None` when OAuth is not configured.
    fn protected_resource_metadata(&self) -> Option<serde_json::Value>;
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Who the policy acts for: user id, roles and attributes.
    pub identity: Identity,
    /// The token's id for the audit log (never the token).
    pub token_id: String,
}

/// Why a request was not authenticated.
#[derive(Debug, Clone)]
pub struct AuthRefusal {
    /// A short reason, safe to log (never the token).
    pub reason: String,
    /// The `WWW-Authenticate` header value for the `401`.
    pub www_authenticate: String,
}
