//! The front door's refusals: each an HTTP status, a stable code, a message
//! a person understands and a hint to fix it, as a small JSON body.
//!
//! These answer before any MCP message is read, so they are HTTP answers,
//! not JSON-RPC errors or tool envelopes.

use std::convert::Infallible;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};

/// The body type every response of the server has (rmcp's).
pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// Why the front door refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No valid credentials (401).
    Unauthenticated {
        /// The `WWW-Authenticate` value.
        challenge: String,
    },
    /// A valid token without a scope the server requires (403).
    InsufficientScope {
        /// The `WWW-Authenticate` value (`error="insufficient_scope"`).
        challenge: String,
    },
    /// `Origin` is not allowed (403).
    OriginNotAllowed,
    /// The session id belongs to another identity (403).
    SessionOfAnotherCaller,
    /// The process or the identity has as many sessions as allowed (503).
    TooManySessions {
        /// The cap that was hit.
        limit: usize,
        /// Whether it is the identity's cap.
        per_identity: bool,
    },
    /// The process serves as many identities as allowed (503).
    TooManyIdentities(usize),
    /// Nothing is served at this path (404).
    NotFound,
    /// The server is shutting down (503).
    ShuttingDown,
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope { .. }
            | Self::OriginNotAllowed
            | Self::SessionOfAnotherCaller => StatusCode::FORBIDDEN,
            Self::TooManySessions { .. } | Self::TooManyIdentities(_) | Self::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::NotFound => StatusCode::NOT_FOUND,
        }
    }

    /// The stable code, as the body's `error.code`.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated { .. } => "UNAUTHENTICATED",
            Self::InsufficientScope { .. } => "INSUFFICIENT_SCOPE",
            Self::OriginNotAllowed => "ORIGIN_NOT_ALLOWED",
            Self::SessionOfAnotherCaller => "SESSION_OF_ANOTHER_CALLER",
            Self::TooManySessions { .. } => "TOO_MANY_SESSIONS",
            Self::TooManyIdentities(_) => "TOO_MANY_IDENTITIES",
            Self::NotFound => "NOT_FOUND",
            Self::ShuttingDown => "SHUTTING_DOWN",
        }
    }

    fn message_and_hint(&self) -> (String, &'static str) {
        match self {
            Self::Unauthenticated { .. } => (
                "The request has no valid credentials".into(),
                "Send `Authorization: Bearer <token>` with a token the server's administrator issued (or one from the authorization server the `WWW-Authenticate` header names)",
            ),
            Self::InsufficientScope { .. } => (
                "The token does not grant the scope this server requires".into(),
                "Get a token that grants the scopes the `WWW-Authenticate` header names in `scope`",
            ),
            Self::OriginNotAllowed => (
                "Requests from this web origin are not allowed".into(),
                "Call from a non-browser client, or ask the administrator to add the origin to `allowed_origins` in server.yaml",
            ),
            Self::SessionOfAnotherCaller => (
                "This MCP session belongs to another identity".into(),
                "Start your own session: send `initialize` without `Mcp-Session-Id`",
            ),
            Self::TooManySessions { limit, per_identity: true } => (
                format!("This identity already has {limit} open MCP session(s), the most allowed"),
                "Close sessions you no longer use (HTTP DELETE with their `Mcp-Session-Id`), or wait for idle ones to expire",
            ),
            Self::TooManySessions { limit, per_identity: false } => (
                format!("The server already holds {limit} MCP session(s), the most allowed"),
                "Retry later; the administrator can raise `limits.max_sessions` in server.yaml",
            ),
            Self::TooManyIdentities(limit) => (
                format!("The server already serves {limit} identities, the most allowed"),
                "Ask the administrator to raise `limits.max_identities` in server.yaml and restart",
            ),
            Self::NotFound => (
                "Nothing is served at this path".into(),
                "MCP is served at `/mcp`; health at `/healthz` and `/readyz`",
            ),
            Self::ShuttingDown => (
                "The server is shutting down".into(),
                "Retry in a moment; another instance or the restarted one will answer",
            ),
        }
    }

    /// The HTTP response.
    pub(crate) fn response(&self) -> Response<Body> {
        let (message, hint) = self.message_and_hint();
        let body = serde_json::json!({
            "error": { "code": self.code(), "message": message, "hint": hint }
        });
        let mut response = json(self.status(), &body);
        if let Self::Unauthenticated { challenge } | Self::InsufficientScope { challenge } = self {
            if let Ok(value) = HeaderValue::from_str(challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        if matches!(self, Self::TooManySessions { .. } | Self::ShuttingDown) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// A JSON response with `status`.
pub(crate) fn json(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
