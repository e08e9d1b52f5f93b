//! Team mode: the same MCP server over streamable HTTP, for many
//! authenticated callers (`sqlwarden serve --http`).
//!
//! The tools, the envelope and the gate are stdio's: rmcp's streamable
//! HTTP service runs [`SqlwardenServer`] (one per MCP session), and every
//! request reaches it through the front door ([`front`]), which checks
//! `Origin`, authenticates the caller ([`Authenticate`]), and hands the
//! handler the caller's own tools session ([`identities`], one per
//! identity, so every rule, limit and budget is per identity). The parts:
//!
//! - [`settings`]: `server.yaml`; [`posture`]: what refuses the start;
//! - [`listener`]: connections, TLS ([`tls`]), header and idle timeouts
//!   ([`idle`]), the connection cap;
//! - [`front`], [`bindings`] (MCP session → identity, session caps),
//!   [`origin`], [`refusal`], [`refused_auth`] (audit records of refused
//!   credentials, rate-limited).
//!
//! Shutdown (SIGTERM): readiness goes false, the listener closes, running
//! tool calls get `limits.shutdown_grace_seconds` to finish and be audited
//! (new ones wait), connections get a moment to write those answers, then
//! MCP sessions are cancelled (a call still running is cancelled, and its
//! read-only transaction rolls back) and connections close once their last
//! response is written.

mod auth;
mod authenticator;
mod bindings;
mod front;
mod identities;
mod idle;
mod listener;
mod origin;
pub mod posture;
mod refusal;
mod refused_auth;
pub mod settings;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::server::graceful::GracefulShutdown;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio::sync::{RwLock, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::policy::Policy;
use crate::tools::{AuditSink, EngineFactory};

use super::{SqlwardenServer, MAX_CONCURRENT_CALLS};

pub use auth::{AuthRefusal, Authenticate, Authenticated, RefusalKind};
pub(crate) use authenticator::authenticator;
pub(crate) use front::BoundCaller;
pub use front::SESSION_ID_HEADER;
pub use posture::StartError;
pub use settings::{ServerFile, SessionMode, DEFAULT_LISTEN, SERVER_FILE, SERVER_SCHEMA};

/// Longest wait, after sessions are cancelled, for connections to write
/// their last response and close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest wait at shutdown, once every call finished, for connections to
/// write the answers and close before sessions are cancelled.
const ANSWER_FLUSH: Duration = Duration::from_secs(2);

/// What [`start`] needs besides the policy.
pub struct Options<'a> {
    /// `server.yaml`.
    pub settings: &'a ServerFile,
    /// The address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// The directory relative paths in `settings` start from.
    pub config_dir: &'a Path,
}

/// A bound server, not yet accepting.
pub struct Running {
    listener: TcpListener,
    addr: SocketAddr,
    front: Arc<front::Front>,
    tls: Option<TlsAcceptor>,
    limits: settings::Limits,
    in_flight: Arc<RwLock<()>>,
    cancel: CancellationToken,
}

/// Bind the listener and build everything a request needs: the front door
/// over rmcp's service, callers' sessions over `policy`, engines from
/// `factory`, records to `audit`, callers from `auth`.
pub async fn start(
    options: Options<'_>,
    policy: Policy,
    factory: Arc<dyn EngineFactory>,
    audit: Arc<dyn AuditSink>,
    auth: Arc<dyn Authenticate>,
) -> Result<Running, StartError> {
    let settings = options.settings;
    let limits = settings.limits.resolve();
    let tls = match &settings.tls {
        Some(files) => Some(
            tls::acceptor(
                &ServerFile::resolve_path(options.config_dir, &files.cert),
                &ServerFile::resolve_path(options.config_dir, &files.key),
            )
            .map_err(StartError::Tls)?,
        ),
        None => None,
    };
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|e| StartError::Bind(options.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Bind(options.listen, e))?;
    let loopback = addr.ip().is_loopback();

    let cancel = CancellationToken::new();
    let in_flight = Arc::new(RwLock::new(()));
    let running = Arc::new(Semaphore::new(MAX_CONCURRENT_CALLS));
    let mut manager = LocalSessionManager::default();
    manager.session_config.keep_alive = Some(limits.session_idle);
    let manager = Arc::new(manager);
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(settings.sessions == SessionMode::Stateful)
        .with_json_response(settings.sessions == SessionMode::Stateless)
        .with_sse_keep_alive(Some(Duration::from_secs(settings::SSE_KEEP_ALIVE_SECONDS)))
        .with_cancellation_token(cancel.clone())
        .with_max_request_body_bytes(limits.max_body_bytes)
        // The front door checks `Origin` itself (with loopback's rule).
        .disable_allowed_origins();
    config = if !settings.allowed_hosts.is_empty() {
        config.with_allowed_hosts(settings.allowed_hosts.clone())
    } else if loopback {
        config.with_allowed_hosts(["localhost", "127.0.0.1", "::1"])
    } else {
        config.disable_allowed_hosts()
    };
    let refusals = refused_auth::RefusalAudit::new(
        audit.clone(),
        policy.config().policy_sha256.clone(),
        limits.refused_auth_records_per_minute,
    );
    let template = SqlwardenServer::per_caller(in_flight.clone(), running);
    let mcp = StreamableHttpService::new(move || Ok(template.fresh()), manager.clone(), config);
    let front = Arc::new(front::Front {
        mcp,
        auth,
        identities: identities::Identities::new(
            policy,
            factory,
            audit,
            limits.max_calls_per_identity,
            limits.max_identities,
        ),
        bindings: Arc::new(bindings::Bindings::new(
            manager,
            limits.max_sessions,
            limits.max_sessions_per_identity,
        )),
        origins: origin::OriginPolicy::new(&settings.allowed_origins, loopback),
        refusals,
        ready: AtomicBool::new(false),
        stateful: settings.sessions == SessionMode::Stateful,
    });
    Ok(Running {
        listener,
        addr,
        front,
        tls,
        limits,
        in_flight,
        cancel,
    })
}

impl Running {
    /// The address bound (with the port the system picked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether the server uses TLS.
    pub fn tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serve until `shutdown` resolves, then shut down gracefully (see the
    /// module docs).
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let Running {
            listener,
            front,
            tls,
            limits,
            in_flight,
            cancel,
            ..
        } = self;
        let graceful = GracefulShutdown::new();
        let connections = Arc::new(Semaphore::new(limits.max_connections));
        front.ready.store(true, Ordering::Release);
        // Counts of refused credentials not yet recorded are written once
        // their minute is over.
        let sweeper = {
            let front = front.clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(refused_auth::WINDOW);
                loop {
                    ticks.tick().await;
                    front.refusals.sweep(false);
                }
            })
        };
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (tcp, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(e) => {
                            // Out of file descriptors, say: wait a little
                            // rather than spin.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let Ok(permit) = connections.clone().try_acquire_owned() else {
                        tracing::warn!(%peer, "connection refused: too many open connections");
                        drop(tcp);
                        continue;
                    };
                    tokio::spawn(listener::connection(
                        tcp,
                        peer,
                        tls.clone(),
                        front.clone(),
                        limits,
                        graceful.watcher(),
                        permit,
                    ));
                }
                () = &mut shutdown => break,
            }
        }
        front.ready.store(false, Ordering::Release);
        drop(listener);
        tracing::info!("shutting down: waiting for running tool calls");
        // New calls wait behind this (the lock is fair), so only the
        // running ones are waited for.
        // The guard is held to the end: a call that was waiting never runs.
        let drained = tokio::time::timeout(limits.shutdown_grace, in_flight.write()).await;
        if drained.is_err() {
            tracing::warn!("tool calls still running after the grace period are cancelled");
        }
        // Connections finish the response they are writing, then close;
        // a finished call's answer is still on its way to its response
        // stream, so when every call finished, sessions (and the event
        // streams that never end by themselves) are cancelled only after
        // a moment for those answers to go out.
        let closing = graceful.shutdown();
        tokio::pin!(closing);
        if drained.is_err()
            || tokio::time::timeout(ANSWER_FLUSH, &mut closing)
                .await
                .is_err()
        {
            cancel.cancel();
            if tokio::time::timeout(CLOSE_TIMEOUT, &mut closing)
                .await
                .is_err()
            {
                tracing::warn!("connections still open at shutdown were dropped");
            }
        }
        cancel.cancel();
        if drained.is_err() {
            // Cancelled calls end (and are audited) once they see it.
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, in_flight.write()).await;
        }
        drop(drained);
        sweeper.abort();
        front.refusals.sweep(true);
        tracing::info!("shut down");
    }
}
