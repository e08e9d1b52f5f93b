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
    pub fn engine(&self) -> EngineKind {
        match self {
            Self::Postgres(_) => EngineKind::Postgres,
            Self::Maxcompute(_) => EngineKind::MaxCompute,
        }
    }

    /// The schema (Postgres) or project (MaxCompute) that unqualified table
    /// names resolve to.
    pub fn default_namespace(&self) -> &str {
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresConnection {
    /// Host name, IP address, or a Unix socket directory (starts with `/`).
    pub host: String,
    /// TCP port.
    #[serde(default = "default_pg_port")]
    pub port: u16,
    /// Database name.
    pub dbname: String,
    /// Login user.
    pub user: String,
    /// TLS mode, as libpq spells it.
    #[serde(default)]
    pub sslmode: SslMode,
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
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// Plain TCP only.
    Disable,
    /// TLS when the server offers it, plain otherwise (libpq's default).
    #[default]
    Prefer,
    /// TLS always; the certificate is not verified.
    Require,
    /// TLS always; the certificate chain is verified.
    VerifyCa,
    /// TLS always; the chain and the host name are verified.
    VerifyFull,
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
}
