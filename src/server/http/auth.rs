//! What the HTTP front door needs from authentication, as a trait: the
//! caller behind an `Authorization` header, or why there is none.
//!
//! The front door calls [`Authenticate::authenticate`] on every MCP
//! request before anything else runs; a refusal becomes `401` (or `403`
//! for a token lacking a required scope) with the `WWW-Authenticate`
//! header the implementation chose. Implementations own
//! token formats and keys; this module owns none.
//!
//! The crate's own implementation is in [`super::authenticator`].

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

    /// Where that document is served besides the bare well-known path:
    /// RFC 9728 puts a resource's path after the well-known segment
    /// (`/.well-known/oauth-protected-resource/mcp` for `https://h/mcp`).
    fn protected_resource_metadata_path(&self) -> Option<&str> {
        None
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Who the policy acts for: user id, roles and attributes.
    pub identity: Identity,
    /// The token's id for the audit log (never the token).
    pub token_id: String,
}

/// Which answer a refusal gets (RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// No credential, or one that is not valid: `401`.
    Unauthenticated,
    /// A valid token that does not grant a scope the server requires:
    /// `403`, so the client asks for a token with more scope rather than
    /// the same one again.
    InsufficientScope,
}

/// Why a request was not authenticated.
#[derive(Debug, Clone)]
pub struct AuthRefusal {
    /// A short reason, safe to log (never the token).
    pub reason: String,
    /// Which answer the refusal gets.
    pub kind: RefusalKind,
    /// The `WWW-Authenticate` header value for the `401` or `403`.
    pub www_authenticate: String,
    /// The reason's stable name (`expired`, `revoked`, …) when a
    /// credential was presented and refused; such a refusal is audited.
    /// `None` when none was sent, a client's first probe, which is not.
    pub failure: Option<String>,
    /// The refused token's id when it is known for sure (a static token
    /// found in the store, a JWT whose signature verified); never the
    /// token, never a claim of an unverified one.
    pub token_id: Option<String>,
}
