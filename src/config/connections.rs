//! `connections.yaml`: named data sources, and nothing secret.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole `connections.yaml` file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsFile {
    /// Connections by name; the name is what tools take as `source`.
    #[serde(default)]
    pub connections: BTreeMap<String, Connection>,
}

/// One named data source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "engine", rename_all = "lowercase")]
pub enum Connection {
    /// A PostgreSQL database.
    Postgres(PostgresConnection),
    /// An Alibaba Cloud MaxCompute project.
    Maxcompute(MaxComputeConnection),
}

impl Connection {
    /// The engine this connection speaks.
    pub(crate) fn engine(&self) -> EngineKind {
        match self {
            Self::Postgres(_) => EngineKind::Postgres,
            Self::Maxcompute(_) => EngineKind::MaxCompute,
        }
    }

    /// The schema (Postgres) or project (MaxCompute) that unqualified table
    /// names resolve to.
    pub(crate) fn default_namespace(&self) -> &str {
        match self {
            Self::Postgres(pg) => pg.default_schema.as_str(),
            Self::Maxcompute(mc) => mc.project.as_str(),
        }
    }
}

/// The two engines sqlwarden speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// PostgreSQL.
    Postgres,
    /// MaxCompute (ODPS).
    #[serde(rename = "maxcompute")]
    MaxCompute,
}

impl EngineKind {
    /// The name used in config and in tool output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::MaxCompute => "maxcompute",
        }
    }
}

/// A PostgreSQL connection. The password comes from the keyring or the
/// environment, never from this file.
///
/// Parsed through [`PostgresConnectionFile`], which resolves the defaults
/// that depend on the host (`sslmode`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(from = "PostgresConnectionFile")]
pub struct PostgresConnection {
    /// Host name, IP address, or a Unix socket directory (starts with `/`).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Database name.
    pub dbname: String,
    /// Login user.
    pub user: String,
    /// TLS mode, as libpq spells it.
    pub sslmode: SslMode,
    /// PEM file of the certificate authorities to trust for `verify-ca` and
    /// `verify-full`.
    pub sslrootcert: Option<String>,
    /// Optional NOLOGIN role to `SET LOCAL ROLE` to inside every transaction.
    pub role: Option<String>,
    /// Schema that unqualified table names resolve to.
    pub default_schema: String,
    /// Seconds to wait for the TCP connection and TLS handshake.
    pub connect_timeout_seconds: u64,
    /// Authentication methods the server may ask for; `None` means the
    /// default rule of [`AuthMethod`].
    pub require_auth: Option<Vec<AuthMethod>>,
}

impl PostgresConnection {
    /// Whether `host` is a Unix socket directory or a loopback address:
    /// traffic that never leaves the machine.
    pub(crate) fn is_local(&self) -> bool {
        is_local_host(&self.host)
    }

    /// The `sslmode` in effect: a Unix socket never carries TLS (as libpq).
    pub(crate) fn effective_sslmode(&self) -> SslMode {
        if self.host.starts_with('/') {
            SslMode::Disable
        } else {
            self.sslmode
        }
    }

    /// Which authentication methods the connection accepts.
    pub(crate) fn auth_rule(&self) -> AuthRule {
        AuthRule::new(self.require_auth.clone())
    }

    /// What the connection accepts, in words (for `sqlwarden check`): the
    /// transport, and the authentication methods over each channel it may
    /// end up on.
    pub(crate) fn acceptance(&self) -> String {
        let rule = self.auth_rule();
        let methods = |channel| {
            let list: Vec<&str> = rule
                .accepted(channel)
                .into_iter()
                .map(AuthMethod::as_str)
                .collect();
            if list.is_empty() {
                "nothing".to_owned()
            } else {
                list.join(", ")
            }
        };
        let source = if rule.is_default() {
            "default rule"
        } else {
            "require_auth"
        };
        let sslmode = self.effective_sslmode();
        let tls_channel = Channel::of_tls(sslmode);
        let verified = if tls_channel == Channel::VerifiedTls {
            "certificate verified"
        } else {
            "certificate not verified"
        };
        let tls = format!("with TLS ({verified}): {}", methods(tls_channel));
        let plain = format!("without TLS: {}", methods(Channel::Plain));
        let (transport, channels) = match sslmode {
            SslMode::Disable => ("never TLS", plain),
            SslMode::Prefer => ("TLS if the server offers it", format!("{tls}; {plain}")),
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => ("TLS always", tls),
        };
        format!(
            "sslmode `{}` ({transport}); auth methods ({source}) {channels}; SCRAM with channel binding when the server offers it",
            sslmode.as_str()
        )
    }
}

fn is_local_host(host: &str) -> bool {
    host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A PostgreSQL connection as written in `connections.yaml`. The password
/// comes from the keyring or the environment, never from this file.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PostgresConnection")]
pub(crate) struct PostgresConnectionFile {
    /// Host name, IP address, or a Unix socket directory (starts with `/`).
    pub host: String,
    /// TCP port.
    #[serde(default = "default_pg_port")]
    pub port: u16,
    /// Database name.
    pub dbname: String,
    /// Login user.
    pub user: String,
    /// TLS mode, as libpq spells it. Default: `verify-full` for any host
    /// that is not loopback (`localhost`, `127.0.0.1`, `::1`) or a Unix
    /// socket; `prefer` for those.
    #[serde(default)]
    pub sslmode: Option<SslMode>,
    /// PEM file of the certificate authorities to trust for `verify-ca` and
    /// `verify-full` (as libpq's `sslrootcert`); when absent, the platform's
    /// roots and the Mozilla roots are trusted.
    #[serde(default)]
    pub sslrootcert: Option<String>,
    /// Optional NOLOGIN role to `SET LOCAL ROLE` to inside every transaction.
    #[serde(default)]
    pub role: Option<String>,
    /// Schema that unqualified table names resolve to.
    #[serde(default = "default_pg_schema")]
    pub default_schema: String,
    /// Seconds to wait for the TCP connection and TLS handshake.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_seconds: u64,
    /// The authentication methods the server may ask for (as libpq's
    /// `require_auth`); any other request ends the connection before a
    /// password byte is sent. When absent: `none` and `scram-sha-256`
    /// always, `md5` and `password` only over TLS with a verified
    /// certificate (`verify-ca` / `verify-full`).
    #[serde(default)]
    pub require_auth: Option<Vec<AuthMethod>>,
}

impl From<PostgresConnectionFile> for PostgresConnection {
    fn from(file: PostgresConnectionFile) -> Self {
        let sslmode = file.sslmode.unwrap_or_else(|| default_sslmode(&file.host));
        Self {
            host: file.host,
            port: file.port,
            dbname: file.dbname,
            user: file.user,
            sslmode,
            sslrootcert: file.sslrootcert,
            role: file.role,
            default_schema: file.default_schema,
            connect_timeout_seconds: file.connect_timeout_seconds,
            require_auth: file.require_auth,
        }
    }
}

/// How a PostgreSQL server may authenticate the login, as libpq's
/// `require_auth` names them.
///
/// Without a `require_auth` list, `none` and `scram-sha-256` are always
/// accepted (neither puts the password on the wire), and `md5` and
/// `password` only inside TLS whose certificate was verified: over plain
/// TCP, or TLS that anyone could terminate, they would hand the password
/// (or a replayable hash of it) to whoever answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    /// No password exchange at all (`trust`, `peer`, `cert`).
    None,
    /// SCRAM-SHA-256, with channel binding when TLS is up and the server
    /// offers it; the password never crosses the wire.
    #[serde(rename = "scram-sha-256")]
    ScramSha256,
    /// The MD5 challenge: a hash of the password that a listener can replay.
    Md5,
    /// The password in clear text.
    Password,
}

impl AuthMethod {
    /// The spelling in connections.yaml.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ScramSha256 => "scram-sha-256",
            Self::Md5 => "md5",
            Self::Password => "password",
        }
    }

    /// Whether the method sends the password, or a replayable hash of it,
    /// to the server.
    pub(crate) fn reveals_password(self) -> bool {
        matches!(self, Self::Md5 | Self::Password)
    }
}

/// The `sslmode` of a connection to `host` that does not set one:
/// `verify-full`, or `prefer` for loopback and Unix sockets, where the
/// traffic never leaves the machine.
pub(crate) fn default_sslmode(host: &str) -> SslMode {
    if is_local_host(host) {
        SslMode::Prefer
    } else {
        SslMode::VerifyFull
    }
}

fn default_pg_port() -> u16 {
    5432
}

fn default_pg_schema() -> String {
    "public".into()
}

fn default_connect_timeout() -> u64 {
    10
}

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// Plain TCP only.
    Disable,
    /// TLS when the server offers it, plain otherwise.
    Prefer,
    /// TLS always; the certificate is not verified.
    Require,
    /// TLS always; the certificate chain is verified.
    VerifyCa,
    /// TLS always; the chain and the host name are verified.
    VerifyFull,
}

/// What protects the bytes between sqlwarden and the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    /// Plain TCP or a Unix socket.
    Plain,
    /// TLS, certificate not verified (`prefer`, `require`): anyone on the
    /// path can terminate it.
    UnverifiedTls,
    /// TLS with a verified certificate (`verify-ca`, `verify-full`).
    VerifiedTls,
}

impl Channel {
    /// In words, for messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Plain => "a connection without TLS",
            Self::UnverifiedTls => "TLS whose certificate is not verified",
            Self::VerifiedTls => "TLS with a verified certificate",
        }
    }

    /// The protection TLS negotiated under `sslmode` gives.
    pub(crate) fn of_tls(sslmode: SslMode) -> Self {
        match sslmode {
            SslMode::VerifyCa | SslMode::VerifyFull => Self::VerifiedTls,
            SslMode::Disable | SslMode::Prefer | SslMode::Require => Self::UnverifiedTls,
        }
    }
}

/// Which authentication methods a connection accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthRule {
    /// The connection's `require_auth` list, if it has one.
    explicit: Option<Vec<AuthMethod>>,
}

impl AuthRule {
    /// The rule for a connection's `require_auth` setting.
    pub(crate) fn new(explicit: Option<Vec<AuthMethod>>) -> Self {
        Self { explicit }
    }

    /// Whether the server may use `method` over `channel`.
    pub(crate) fn permits(&self, method: AuthMethod, channel: Channel) -> bool {
        match &self.explicit {
            Some(list) => list.contains(&method),
            // The password, or a replayable hash of it, only to a server
            // whose certificate proved who it is.
            None => !method.reveals_password() || channel == Channel::VerifiedTls,
        }
    }

    /// The methods accepted over `channel`, for `sqlwarden check`.
    pub(crate) fn accepted(&self, channel: Channel) -> Vec<AuthMethod> {
        [
            AuthMethod::None,
            AuthMethod::ScramSha256,
            AuthMethod::Md5,
            AuthMethod::Password,
        ]
        .into_iter()
        .filter(|m| self.permits(*m, channel))
        .collect()
    }

    /// Whether the rule is the default one (no `require_auth`).
    pub(crate) fn is_default(&self) -> bool {
        self.explicit.is_none()
    }
}

impl SslMode {
    /// The spelling in connections.yaml (as libpq's).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// A MaxCompute project. Access keys come from the keyring or the
/// environment, never from this file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaxComputeConnection {
    /// Service endpoint, for example `https://service.cn-hangzhou.maxcompute.aliyun.com/api`.
    pub endpoint: String,
    /// Default project; others must be allowed by policy.
    pub project: String,
    /// Region id, for example `cn-hangzhou`; enables V4 signing.
    #[serde(default)]
    pub region: Option<String>,
    /// Default schema in a 3-tier project.
    #[serde(default)]
    pub schema: Option<String>,
    /// Tunnel endpoint; discovered from the service when absent.
    #[serde(default)]
    pub tunnel_endpoint: Option<String>,
    /// Settings sent with every SQL job (for example a quota name). The
    /// read-only and no-full-scan settings are always forced on top.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Query acceleration (MaxQA); off unless set.
    #[serde(default)]
    pub acceleration: Acceleration,
    /// How query rows are read: inline from the job's answer, or through
    /// the instance tunnel.
    #[serde(default)]
    pub result_read: ResultRead,
}

/// Query acceleration for a MaxCompute connection: MaxQA (MCQA 2.0) runs
/// small queries on an interactive quota, without the offline queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Acceleration {
    /// `off` (the default: offline jobs) or `maxqa`.
    #[serde(default)]
    pub mode: AccelerationMode,
    /// Nickname of the interactive quota; when absent the service picks
    /// the project's default MaxQA connection.
    #[serde(default)]
    pub interactive_quota: Option<String>,
    /// Let the service run a job offline when MaxQA cannot (sent as the
    /// `x-odps-fallback-infos` header), and let sqlwarden run it offline
    /// when MaxQA refuses it before a job exists. Default `true`.
    #[serde(default = "default_true")]
    pub fallback: bool,
    /// Quota for jobs that fall back; default: the connection's
    /// `settings["odps.task.wlm.quota"]`, else the project's default.
    #[serde(default)]
    pub fallback_quota: Option<String>,
}

impl Default for Acceleration {
    /// Off, with fallback on for when it is switched on.
    fn default() -> Self {
        Self {
            mode: AccelerationMode::Off,
            interactive_quota: None,
            fallback: true,
            fallback_quota: None,
        }
    }
}

fn default_true() -> bool {
    true
}

/// Which execution path a connection's queries take.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AccelerationMode {
    /// Offline (batch) jobs.
    #[default]
    Off,
    /// MaxQA (MCQA 2.0) on an interactive quota.
    Maxqa,
}

/// Where a query's rows are read from.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ResultRead {
    /// Inline when the applied limit fits the inline caps (10,000 rows,
    /// 10 MB) and the column types survive CSV; the tunnel otherwise.
    #[default]
    Auto,
    /// Always the instance tunnel (typed; one tunnel session per query).
    Tunnel,
    /// Always inline (no tunnel session; offline results are untyped
    /// text, and limits above 9,999 rows are refused).
    Inline,
}

#[cfg(test)]
mod tests;
