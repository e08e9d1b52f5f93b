//! The front door: every HTTP request passes here first.
//!
//! `/healthz`, `/readyz` and the protected-resource metadata answer
//! without credentials. A request to `/mcp` is checked in order, cheapest
//! first, and refused at the first failure, before rmcp reads its body:
//! `Origin`, then credentials (a refused one is audited, see
//! [`super::refused_auth`]), then the caller's session (one per
//! identity), then whether the MCP session it names is the caller's, then
//! (for a request that opens a session) the session caps. Only then does
//! rmcp's streamable HTTP service see it, carrying a [`BoundCaller`] that
//! the MCP handler runs the request as.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::StreamableHttpService;

use crate::server::SqlwardenServer;
use crate::tools::Session;

use super::auth::{Authenticate, RefusalKind};
use super::bindings::{Bindings, Owner, SessionCap};
use super::identities::Identities;
use super::origin::OriginPolicy;
use super::refusal::{json, Body, Refusal};
use super::refused_auth::{RefusalAudit, Refused};

/// The path MCP is served at.
pub(crate) const MCP_PATH: &str = "/mcp";

/// Where OAuth clients look for the protected-resource metadata (RFC 9728).
pub(crate) const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// The header that names an MCP session.
pub const SESSION_ID_HEADER: &str = "mcp-session-id";

/// The authenticated caller of one request, as the MCP handler reads it
/// from the request's extensions.
#[derive(Clone)]
pub(crate) struct BoundCaller {
    /// The caller's identity's session.
    pub(crate) session: Arc<Session>,
    /// The token's id, for the audit record.
    pub(crate) token_id: String,
}

/// Everything a request may need; shared by every connection.
pub(crate) struct Front {
    pub(crate) mcp: StreamableHttpService<SqlwardenServer, LocalSessionManager>,
    pub(crate) auth: Arc<dyn Authenticate>,
    pub(crate) identities: Identities,
    pub(crate) bindings: Arc<Bindings>,
    pub(crate) origins: OriginPolicy,
    /// Audit records of refused credentials.
    pub(crate) refusals: RefusalAudit,
    /// False before the listener is up and once shutdown begins.
    pub(crate) ready: AtomicBool,
    /// Whether MCP sessions are kept (`sessions: stateful`); stateless
    /// requests open none, so they reserve no room under the caps.
    pub(crate) stateful: bool,
}

impl Front {
    /// Answer one request that came from `peer`.
    pub(crate) async fn handle(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<Body> {
        let path = request.uri().path();
        match (request.method(), path) {
            (&Method::GET, "/healthz") => {
                json(StatusCode::OK, &serde_json::json!({"status": "ok"}))
            }
            (&Method::GET, "/readyz") => self.readiness(),
            (&Method::GET, p)
                if p == METADATA_PATH
                    || Some(p) == self.auth.protected_resource_metadata_path() =>
            {
                match self.auth.protected_resource_metadata() {
                    Some(metadata) => json(StatusCode::OK, &metadata),
                    None => Refusal::NotFound.response(),
                }
            }
            (_, MCP_PATH) => match self.mcp_request(request, peer).await {
                Ok(response) | Err(response) => response,
            },
            _ => Refusal::NotFound.response(),
        }
    }

    fn readiness(&self) -> Response<Body> {
        if self.ready.load(Ordering::Acquire) {
            json(StatusCode::OK, &serde_json::json!({"status": "ready"}))
        } else {
            Refusal::ShuttingDown.response()
        }
    }

    async fn mcp_request(
        &self,
        mut request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Result<Response<Body>, Response<Body>> {
        let headers = request.headers();
        let origin = headers.get(http::header::ORIGIN).map(|v| v.as_bytes());
        if !self.origins.allows(origin) {
            tracing::info!(origin = ?origin.map(String::from_utf8_lossy), "request from a refused origin");
            return Err(Refusal::OriginNotAllowed.response());
        }
        // A header that is not text is no credential.
        let authorization = headers
            .get(http::header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or(""));
        let caller = match self.auth.authenticate(authorization).await {
            Ok(caller) => caller,
            Err(refusal) => {
                tracing::info!(reason = %refusal.reason, %peer, "request not authenticated");
                if let Some(failure) = refusal.failure {
                    self.refusals.refused(Refused {
                        failure,
                        message: refusal.reason,
                        token_id: refusal.token_id,
                        peer,
                    });
                }
                let challenge = refusal.www_authenticate;
                return Err(match refusal.kind {
                    RefusalKind::Unauthenticated => Refusal::Unauthenticated { challenge },
                    RefusalKind::InsufficientScope => Refusal::InsufficientScope { challenge },
                }
                .response());
            }
        };
        let session = self
            .identities
            .session(&caller.identity)
            .map_err(|e| Refusal::TooManyIdentities(e.0).response())?;
        let identity = Identities::key(&caller.identity);
        let session_id = request
            .headers()
            .get(SESSION_ID_HEADER)
            .and_then(|v| v.to_str().ok());
        let mut reservation = None;
        match session_id {
            Some(id) if self.bindings.owner(id, &identity) == Owner::Other => {
                tracing::warn!(
                    user_id = %session.policy().identity().user_id,
                    token_id = %caller.token_id,
                    "request named another identity's MCP session; refused"
                );
                return Err(Refusal::SessionOfAnotherCaller.response());
            }
            Some(_) => {}
            // Only a POST without a session opens one (`initialize`).
            None if self.stateful && request.method() == Method::POST => {
                let reserved = self.bindings.reserve(&identity).await.map_err(|cap| {
                    let (limit, per_identity) = match cap {
                        SessionCap::Global(n) => (n, false),
                        SessionCap::PerIdentity(n) => (n, true),
                    };
                    Refusal::TooManySessions {
                        limit,
                        per_identity,
                    }
                    .response()
                })?;
                reservation = Some(reserved);
            }
            None => {}
        }
        request.extensions_mut().insert(BoundCaller {
            session,
            token_id: caller.token_id,
        });
        let response = self.mcp.handle(request).await;
        if let Some(reservation) = reservation {
            let opened = response
                .headers()
                .get(SESSION_ID_HEADER)
                .and_then(|v| v.to_str().ok());
            if let Some(id) = opened {
                reservation.bind(id);
            }
        }
        Ok(response)
    }
}
