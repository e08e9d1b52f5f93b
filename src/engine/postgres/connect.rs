//! Opening PostgreSQL connections: settings from `connections.yaml`, the
//! password from the secret store, TLS per `sslmode`.
//!
//! Nothing here runs SQL. A connection's background task is spawned on the
//! current runtime; the returned [`Client`] is all the caller keeps. The TLS
//! connector is built once per engine (loading native roots is slow) and
//! shared by every connection and every cancel request.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::{CancelToken, Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::errors;
use super::tls;
use crate::config::{PostgresConnection, SslMode};
use crate::error::{ErrorCode, ToolError};
use crate::secrets::Secret;

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
            .connect_timeout(Duration::from_secs(conn.connect_timeout_seconds.max(1)))
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
            sslmode: if unix_socket {
                SslMode::Disable
            } else {
                conn.sslmode
            },
            config,
            tls: OnceLock::new(),
            root_cert: conn.sslrootcert.clone(),
        }
    }

    /// `sslmode` as written in connections.yaml.
    pub(crate) fn sslmode_name(&self) -> &'static str {
        match self.sslmode {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// A warning when traffic to a remote host is not protected by a
    /// verified certificate (loopback and Unix sockets are exempt).
    pub(crate) fn transport_warning(&self) -> Option<String> {
        let local = self.host.starts_with('/')
            || self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
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

    /// Open a new connection and spawn its background task.
    pub(crate) async fn connect(&self) -> Result<Client, ToolError> {
        let map = |e: tokio_postgres::Error| errors::connect_error(self, &e);
        match self.tls()? {
            None => {
                let (client, connection) = self.config.connect(NoTls).await.map_err(map)?;
                tokio::spawn(connection);
                Ok(client)
            }
            Some(tls) => {
                let (client, connection) = self.config.connect(tls).await.map_err(map)?;
                tokio::spawn(connection);
                Ok(client)
            }
        }
    }

    /// Ask the server to cancel whatever the connection behind `token` is
    /// running. Best effort: failures are logged, and the caller discards
    /// the connection regardless.
    pub(crate) async fn cancel(&self, token: CancelToken) {
        let outcome = match self.tls() {
            Ok(None) => tokio::time::timeout(CANCEL_TIMEOUT, token.cancel_query(NoTls)).await,
            Ok(Some(tls)) => tokio::time::timeout(CANCEL_TIMEOUT, token.cancel_query(tls)).await,
            Err(e) => {
                tracing::warn!(connection = %self.name, error = %e, "cannot cancel the backend query");
                return;
            }
        };
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(connection = %self.name, error = %e, "cancel request failed")
            }
            Err(_) => tracing::warn!(connection = %self.name, "cancel request timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(host: &str, sslmode: SslMode) -> ConnectSettings {
        let conn = PostgresConnection {
            host: host.into(),
            port: 5432,
            dbname: "crm".into(),
            user: "agent".into(),
            sslmode,
            sslrootcert: None,
            role: None,
            default_schema: "public".into(),
            connect_timeout_seconds: 5,
        };
        ConnectSettings::new("crm", &conn, None)
    }

    #[test]
    fn unverified_remote_connections_are_warned_about() {
        let warning = settings("db.internal", SslMode::Require).transport_warning();
        assert!(warning.is_some_and(|w| w.contains("`sslmode: require`")));
        assert!(settings("db.internal", SslMode::VerifyFull)
            .transport_warning()
            .is_none());
        assert!(settings("127.0.0.1", SslMode::Disable)
            .transport_warning()
            .is_none());
        assert!(settings("/var/run/postgresql", SslMode::Prefer)
            .transport_warning()
            .is_none());
    }
}
