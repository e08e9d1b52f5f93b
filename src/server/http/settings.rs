//! `server.yaml`: team mode's settings, next to the other config files.
//!
//! Only `sqlwarden serve --http` reads it (and `sqlwarden check` checks it
//! when it is there); stdio ignores it. Every key is optional except
//! `auth:`, whose absence refuses the start ([`super::posture`]). Paths
//! (TLS certificate and key) are relative to the config directory.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::config::schema::{schema_of, SchemaFile};
use crate::config::{parse_sections, ConfigError};

use crate::auth::AuthConfig;

/// The file, relative to the config directory.
pub const SERVER_FILE: &str = "server.yaml";

/// The address served when neither `--http ADDR` nor `listen:` names one.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The schema of `server.yaml`, beside the config floor's own
/// ([`crate::config::schema::SCHEMA_FILES`]), which cannot name this
/// struct.
pub const SERVER_SCHEMA: SchemaFile = SchemaFile::new(
    "server",
    SERVER_FILE,
    "server.schema.json",
    include_str!("../../../config/schema/server.schema.json"),
    schema_of::<ServerFile>,
);

/// The whole `server.yaml`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerFile {
    /// Address and port to listen on, such as `127.0.0.1:8080` or
    /// `0.0.0.0:8443` (`--http ADDR` overrides it). A non-loopback address
    /// needs `tls:` or `insecure_no_tls: true`.
    #[serde(default)]
    pub listen: Option<String>,
    /// TLS certificate chain and private key (PEM files). Without it the
    /// server speaks plain HTTP, which only a loopback address allows.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    /// Serve plain HTTP on a non-loopback address: only behind a
    /// TLS-terminating proxy on the same host or private network.
    #[serde(default)]
    pub insecure_no_tls: bool,
    /// Browser origins allowed to call (`https://app.example.com`,
    /// `http://localhost:3000`). A request without `Origin` (any
    /// non-browser client) is allowed; one with another origin is refused
    /// (DNS rebinding). Loopback origins are allowed when the server
    /// listens on loopback.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Host names clients use to reach the server (the `Host` header,
    /// `name` or `name:port`). Default: the loopback names when listening
    /// on loopback; any host otherwise.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// `stateful` (default): MCP sessions live in this process, so a load
    /// balancer in front of several instances needs session affinity.
    /// `stateless`: no sessions; any instance answers any request.
    #[serde(default)]
    pub sessions: SessionMode,
    /// Size, time and count limits.
    #[serde(default)]
    pub limits: HttpLimits,
    /// How callers authenticate. Required: HTTP mode never serves an
    /// unauthenticated caller.
    #[serde(default)]
    pub(crate) auth: Option<AuthConfig>,
}

/// TLS files.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Whether MCP sessions are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    /// Sessions in memory (`Mcp-Session-Id`); needs session affinity
    /// behind a load balancer.
    #[default]
    Stateful,
    /// Every request stands alone; no affinity needed.
    Stateless,
}

/// Limits; each has a default.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpLimits {
    /// Largest request body, in bytes (default 1 MiB); a larger one gets
    /// 413.
    #[serde(default)]
    pub max_body_bytes: Option<u64>,
    /// Largest request head (request line and headers), in bytes (default
    /// 16 KiB, at least 8192).
    #[serde(default)]
    pub max_header_bytes: Option<u64>,
    /// Seconds a client has to send a request's headers (and to finish the
    /// TLS handshake) before the connection is closed (default 10).
    #[serde(default)]
    pub header_timeout_seconds: Option<u64>,
    /// Seconds a connection may go without a byte either way before it is
    /// closed (default 120; more than the 15 s between SSE keep-alives).
    #[serde(default)]
    pub idle_timeout_seconds: Option<u64>,
    /// Seconds an MCP session may go without a request before it ends
    /// (default 600).
    #[serde(default)]
    pub session_idle_seconds: Option<u64>,
    /// Most open connections (default 1024); more are closed on accept.
    #[serde(default)]
    pub max_connections: Option<u64>,
    /// Most live MCP sessions in this process (default 1000).
    #[serde(default)]
    pub max_sessions: Option<u64>,
    /// Most live MCP sessions of one identity (default 64).
    #[serde(default)]
    pub max_sessions_per_identity: Option<u64>,
    /// Most tool calls one identity may run at once, over all its
    /// sessions (default 16); one more is refused with
    /// `RATE_LIMIT_EXCEEDED`.
    #[serde(default)]
    pub max_calls_per_identity: Option<u64>,
    /// Most distinct identities served since start (default 10000); each
    /// keeps its budgets and rate limits for the life of the process.
    #[serde(default)]
    pub max_identities: Option<u64>,
    /// Seconds shutdown waits for running calls to finish before it
    /// cancels them (default 30).
    #[serde(default)]
    pub shutdown_grace_seconds: Option<u64>,
    /// Most audit records of refused credentials per remote address per
    /// minute (default 10; all addresses together get ten times this);
    /// refusals beyond it are counted in the next record. `0` writes none.
    #[serde(default)]
    pub refused_auth_records_per_minute: Option<u32>,
}

/// [`HttpLimits`] with every default applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) max_body_bytes: usize,
    pub(crate) max_header_bytes: usize,
    pub(crate) header_timeout: std::time::Duration,
    pub(crate) idle_timeout: std::time::Duration,
    pub(crate) session_idle: std::time::Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_sessions: usize,
    pub(crate) max_sessions_per_identity: usize,
    pub(crate) max_calls_per_identity: usize,
    pub(crate) max_identities: usize,
    pub(crate) shutdown_grace: std::time::Duration,
    pub(crate) refused_auth_records_per_minute: u32,
}

/// Seconds between SSE keep-alive comments; the idle timeout must exceed it.
pub(crate) const SSE_KEEP_ALIVE_SECONDS: u64 = 15;

impl HttpLimits {
    /// The limits with defaults filled in.
    pub(crate) fn resolve(&self) -> Limits {
        use std::time::Duration;
        let count = |v: Option<u64>, default: usize| {
            v.and_then(|v| usize::try_from(v).ok()).unwrap_or(default)
        };
        Limits {
            max_body_bytes: count(self.max_body_bytes, 1 << 20),
            max_header_bytes: count(self.max_header_bytes, 16 << 10),
            header_timeout: Duration::from_secs(self.header_timeout_seconds.unwrap_or(10)),
            idle_timeout: Duration::from_secs(self.idle_timeout_seconds.unwrap_or(120)),
            session_idle: Duration::from_secs(self.session_idle_seconds.unwrap_or(600)),
            max_connections: count(self.max_connections, 1024),
            max_sessions: count(self.max_sessions, 1000),
            max_sessions_per_identity: count(self.max_sessions_per_identity, 64),
            max_calls_per_identity: count(self.max_calls_per_identity, 16),
            max_identities: count(self.max_identities, 10_000),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_seconds.unwrap_or(30)),
            refused_auth_records_per_minute: self.refused_auth_records_per_minute.unwrap_or(10),
        }
    }
}

/// Read `server.yaml` from `dir`: `None` when there is none, every problem
/// found when it does not parse or does not make sense.
pub fn load(dir: &Path) -> Result<Option<ServerFile>, Vec<ConfigError>> {
    let path = dir.join(SERVER_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(vec![ConfigError {
                file: path,
                line: None,
                column: None,
                message: format!("cannot read the file: {e}"),
            }])
        }
    };
    let file: ServerFile = parse_sections(&path, &text)?;
    let problems = file.problems();
    if problems.is_empty() {
        Ok(Some(file))
    } else {
        Err(problems
            .into_iter()
            .map(|message| ConfigError {
                file: path.clone(),
                line: None,
                column: None,
                message,
            })
            .collect())
    }
}

impl ServerFile {
    /// What is wrong with the values (the shapes parsed already).
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(listen) = &self.listen {
            if listen.parse::<std::net::SocketAddr>().is_err() {
                problems.push(format!(
                    "`listen: {listen}` is not an address and port; write it as `127.0.0.1:8080` or `[::]:8443`"
                ));
            }
        }
        for origin in &self.allowed_origins {
            if super::origin::Origin::parse(origin).is_none() {
                problems.push(format!(
                    "`allowed_origins` entry `{origin}` is not an origin; write `scheme://host` or `scheme://host:port`, such as `https://app.example.com`"
                ));
            }
        }
        let l = &self.limits;
        let positive = [
            ("max_body_bytes", l.max_body_bytes),
            ("header_timeout_seconds", l.header_timeout_seconds),
            ("session_idle_seconds", l.session_idle_seconds),
            ("max_connections", l.max_connections),
            ("max_sessions", l.max_sessions),
            ("max_sessions_per_identity", l.max_sessions_per_identity),
            ("max_calls_per_identity", l.max_calls_per_identity),
            ("max_identities", l.max_identities),
        ];
        for (name, value) in positive {
            if value == Some(0) {
                problems.push(format!(
                    "`limits.{name}` must be greater than 0; leave it out for the default"
                ));
            }
        }
        if l.max_header_bytes.is_some_and(|v| v < 8192) {
            problems.push("`limits.max_header_bytes` must be at least 8192".into());
        }
        if l.idle_timeout_seconds
            .is_some_and(|v| v <= SSE_KEEP_ALIVE_SECONDS)
        {
            problems.push(format!(
                "`limits.idle_timeout_seconds` must be more than {SSE_KEEP_ALIVE_SECONDS}, the seconds between SSE keep-alives, or open event streams would be cut"
            ));
        }
        problems
    }

    /// A TLS file's path, relative to `config_dir` unless absolute.
    pub(crate) fn resolve_path(config_dir: &Path, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            config_dir.join(path)
        }
    }
}

#[cfg(test)]
mod tests;
