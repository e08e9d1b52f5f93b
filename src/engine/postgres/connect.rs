//! Opening PostgreSQL connections: settings from `connections.yaml`, the
//! password from the secret store, TLS per `sslmode`, and only the
//! authentication methods the connection accepts (see [`guard`]), and no
//! server message larger than sqlwarden holds (see [`frames`]).
//!
//! Nothing here runs SQL. sqlwarden opens the socket itself and hands it to
//! tokio-postgres through the stream guard; a connection's
//! background task is spawned on the current runtime and the returned
//! [`Client`] is all the caller keeps. The TLS connector is built once per
//! engine (loading native roots is slow) and shared by every connection and
//! every cancel request.

mod frames;
mod guard;
mod socket;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_postgres::config::{ChannelBinding, SslMode as PgSslMode};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{CancelToken, Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::errors;
use super::tls;
use crate::config::{AuthRule, Channel, PostgresConnection, SslMode};
use crate::error::{ErrorCode, ToolError};
use crate::secrets::Secret;
pub(crate) use frames::{MessageTooLarge, Tripwire};
use guard::{AuthRefused, StreamGuard};
use socket::Socket;

/// How long a cancel request may take before we give up on it (the
/// connection is discarded either way).
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything needed to open a connection to one configured database.
pub(crate) struct ConnectSettings {
    /// Connection name (the `source`).
    pub(crate) name: String,
    /// Host name, address or Unix socket directory.
    pub(crate) host: String,
    /// TCP port (also names the Unix socket file).
    pub(crate) port: u16,
    /// Login user.
    pub(crate) user: String,
    /// The NOLOGIN role to switch to inside every transaction.
    pub(crate) role: Option<String>,
    /// Whether a password is stored (for error messages).
    pub(crate) has_password: bool,
    /// Schema for unqualified table keys.
    pub(crate) default_schema: String,
    sslmode: SslMode,
    local: bool,
    auth: AuthRule,
    connect_timeout: Duration,
    config: Config,
    tls: OnceLock<Result<Option<MakeRustlsConnect>, Arc<tls::TlsSetupError>>>,
    root_cert: Option<String>,
}

impl ConnectSettings {
    /// Settings for `conn`; touches neither the network nor the disk.
    pub(crate) fn new(name: &str, conn: &PostgresConnection, password: Option<Secret>) -> Self {
        let unix_socket = conn.host.starts_with('/');
        let mut config = Config::new();
        if unix_socket {
            config.host_path(&conn.host);
        } else {
            config.host(&conn.host);
        }
        config
            .port(conn.port)
            .dbname(&conn.dbname)
            .user(&conn.user)
            .application_name("sqlwarden")
            // SCRAM-SHA-256-PLUS whenever TLS is up and the server offers it.
            .channel_binding(ChannelBinding::Prefer)
            .ssl_mode(match (unix_socket, conn.sslmode) {
                // A Unix socket never carries TLS (as libpq).
                (true, _) | (_, SslMode::Disable) => PgSslMode::Disable,
                (_, SslMode::Prefer) => PgSslMode::Prefer,
                _ => PgSslMode::Require,
            });
        if let Some(password) = &password {
            config.password(password.expose());
        }
        Self {
            name: name.to_owned(),
            host: conn.host.clone(),
            port: conn.port,
            user: conn.user.clone(),
            role: conn.role.clone(),
            has_password: password.is_some(),
            default_schema: conn.default_schema.clone(),
            sslmode: conn.effective_sslmode(),
            local: conn.is_local(),
            auth: conn.auth_rule(),
            connect_timeout: Duration::from_secs(conn.connect_timeout_seconds.max(1)),
            config,
            tls: OnceLock::new(),
            root_cert: conn.sslrootcert.clone(),
        }
    }

    /// `sslmode` as written in connections.yaml.
    pub(crate) fn sslmode_name(&self) -> &'static str {
        self.sslmode.as_str()
    }

    /// A warning when traffic to a remote host is not protected by a
    /// verified certificate (loopback and Unix sockets are exempt).
    pub(crate) fn transport_warning(&self) -> Option<String> {
        let local = self.local;
        let verified = matches!(self.sslmode, SslMode::VerifyCa | SslMode::VerifyFull);
        (!local && !verified).then(|| {
            format!(
                "connection `{}` to `{}` uses `sslmode: {}`, which does not verify the server; use `verify-full`",
                self.name,
                self.host,
                self.sslmode_name()
            )
        })
    }

    fn tls(&self) -> Result<Option<MakeRustlsConnect>, ToolError> {
        let built = self.tls.get_or_init(|| {
            tls::connector(self.sslmode, self.root_cert.as_deref()).map_err(Arc::new)
        });
        built.clone().map_err(|e| {
            ToolError::new(
                ErrorCode::BackendUnavailable,
                format!("cannot set up TLS for connection `{}`", self.name),
                format!(
                    "{e}; fix `sslmode` / `sslrootcert` of connection `{}` in connections.yaml",
                    self.name
                ),
            )
        })
    }

    /// The protection TLS gives under this connection's `sslmode`.
    fn tls_channel(&self) -> Channel {
        Channel::of_tls(self.sslmode)
    }

    /// Open a new connection and spawn its background task. The tripwire
    /// tells why the connection ended, when its guard ended it.
    pub(crate) async fn connect(&self) -> Result<(Client, Tripwire), ToolError> {
        match tokio::time::timeout(self.connect_timeout, self.connect_guarded()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(self.unreachable(format!(
                "no answer within {} s (`connect_timeout_seconds`)",
                self.connect_timeout.as_secs()
            ))),
        }
    }

    async fn connect_guarded(&self) -> Result<(Client, Tripwire), ToolError> {
        let tripwire = Tripwire::default();
        let socket = Socket::open(&self.host, self.port)
            .await
            .map_err(|e| self.unreachable(e.to_string()))?;
        let ssl_request = self.config.get_ssl_mode() != PgSslMode::Disable;
        let socket =
            StreamGuard::on_socket(socket, ssl_request, self.auth.clone(), tripwire.clone());
        let map = |e: tokio_postgres::Error| match guard::refusal(&e) {
            Some(refused) => self.refused(&refused),
            None => errors::connect_error(self, &e),
        };
        match self.tls()? {
            None => {
                let (client, connection) =
                    self.config.connect_raw(socket, NoTls).await.map_err(map)?;
                tokio::spawn(connection);
                Ok((client, tripwire))
            }
            Some(mut make) => {
                let inner =
                    MakeTlsConnect::<StreamGuard<Socket>>::make_tls_connect(&mut make, &self.host)
                        .map_err(|e| self.unreachable(format!("bad TLS server name: {e}")))?;
                let tls = GuardedTls {
                    inner,
                    channel: self.tls_channel(),
                    rule: self.auth.clone(),
                    tripwire: tripwire.clone(),
                };
                let (client, connection) =
                    self.config.connect_raw(socket, tls).await.map_err(map)?;
                tokio::spawn(connection);
                Ok((client, tripwire))
            }
        }
    }

    fn unreachable(&self, why: String) -> ToolError {
        ToolError::new(
            ErrorCode::BackendUnavailable,
            format!("cannot reach PostgreSQL for connection `{}`: {why}", self.name),
            format!(
                "Check that the server is running and accepts connections at `{}` port {} (connections.yaml, connection `{}`)",
                self.host, self.port, self.name
            ),
        )
    }

    fn refused(&self, refused: &AuthRefused) -> ToolError {
        let name = &self.name;
        let hint = if self.auth.is_default() {
            format!(
                "Nothing was sent. Have the server use `scram-sha-256` (`password_encryption` and `pg_hba.conf`), or connect with `sslmode: verify-full`; to accept the risk, list `{}` under `require_auth` of connection `{name}` in connections.yaml",
                refused.method.as_str()
            )
        } else {
            format!(
                "Nothing was sent. `require_auth` of connection `{name}` in connections.yaml does not list `{}`; add it only if the server is meant to ask for it",
                refused.method.as_str()
            )
        };
        ToolError::new(
            ErrorCode::BackendUnavailable,
            format!("connection `{name}` was not opened: {refused}"),
            hint,
        )
    }

    /// Ask the server to cancel whatever the connection behind `token` is
    /// running. Best effort: failures are logged, and the caller discards
    /// the connection regardless.
    pub(crate) async fn cancel(&self, token: CancelToken) {
        let outcome = tokio::time::timeout(CANCEL_TIMEOUT, self.send_cancel(token)).await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(connection = %self.name, error = %e, "cancel request failed")
            }
            Err(_) => tracing::warn!(connection = %self.name, "cancel request timed out"),
        }
    }

    async fn send_cancel(&self, token: CancelToken) -> Result<(), CancelFailed> {
        let socket = Socket::open(&self.host, self.port).await?;
        match self.tls().map_err(CancelFailed::Tls)? {
            None => token.cancel_query_raw(socket, NoTls).await,
            Some(mut make) => {
                // Making the connector cannot fail (its error is `Infallible`).
                let Ok(tls) = MakeTlsConnect::<Socket>::make_tls_connect(&mut make, &self.host);
                token.cancel_query_raw(socket, tls).await
            }
        }
        .map_err(CancelFailed::Request)
    }
}

/// Why a cancel request did not reach the server.
#[derive(Debug, thiserror::Error)]
enum CancelFailed {
    /// No socket to the server.
    #[error("could not open a socket: {0}")]
    Socket(#[from] std::io::Error),
    /// The connection's TLS settings are unusable.
    #[error("TLS: {}", .0.message)]
    Tls(ToolError),
    /// The server did not take the request.
    #[error("{0}")]
    Request(tokio_postgres::Error),
}

/// A TLS connector whose stream is wrapped in the authentication guard, so
/// the guard reads the decrypted start-up.
struct GuardedTls<T> {
    inner: T,
    channel: Channel,
    rule: AuthRule,
    tripwire: Tripwire,
}

impl<S, T> TlsConnect<S> for GuardedTls<T>
where
    T: TlsConnect<S>,
    T::Future: Send + 'static,
    T::Stream: 'static,
{
    type Stream = StreamGuard<T::Stream>;
    type Error = T::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Stream, T::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let handshake = self.inner.connect(stream);
        let (channel, rule, tripwire) = (self.channel, self.rule, self.tripwire);
        Box::pin(async move {
            Ok(StreamGuard::on_tls(
                handshake.await?,
                channel,
                rule,
                tripwire,
            ))
        })
    }
}

#[cfg(test)]
mod tests;
