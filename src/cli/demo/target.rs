//! Which PostgreSQL server the demo loads into, in order: the server named
//! on the command line (`--pg-url`, `--pg-host`, `--pg-port`,
//! `--pg-user`: only that one), else the libpq environment (`PGSERVICE`,
//! `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`), then the local server as
//! the OS user and as `postgres`. The first login that answers and may
//! create databases and roles wins; what each other one said is kept for
//! the message when none does.

use std::time::Duration;

use tokio_postgres::{Client, NoTls};

use super::service;

/// Where the demo's own Unix sockets are looked for, then TCP.
const LOCAL_HOSTS: &[&str] = &["/var/run/postgresql", "/tmp", "localhost"];
const DEFAULT_PORT: u16 = 5432;

/// One server and login to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// Host name, address or socket directory (as written to the config).
    pub(crate) host: String,
    /// Port.
    pub(crate) port: u16,
    /// Login.
    pub(crate) user: String,
    /// Password, if one was given.
    pub(crate) password: Option<String>,
    /// Where it came from, for messages.
    pub(crate) source: &'static str,
}

impl Candidate {
    /// `user@host:port`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "`{}` at {} port {} ({})",
            self.user, self.host, self.port, self.source
        )
    }

    /// Connect to `dbname` as this login.
    pub(crate) async fn connect(&self, dbname: &str) -> Result<Client, tokio_postgres::Error> {
        let mut pg = tokio_postgres::Config::new();
        pg.host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(dbname)
            .application_name("sqlwarden-demo")
            .connect_timeout(Duration::from_secs(5));
        if let Some(password) = &self.password {
            pg.password(password);
        }
        let (client, connection) = pg.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "demo connection closed");
            }
        });
        Ok(client)
    }
}

/// The command line's explicit server, if it names one.
#[derive(Debug, Default, Clone)]
pub(crate) struct Explicit {
    /// `--pg-url`: a libpq URL or `key=value` string.
    pub(crate) url: Option<String>,
    /// `--pg-host`.
    pub(crate) host: Option<String>,
    /// `--pg-port`.
    pub(crate) port: Option<u16>,
    /// `--pg-user`.
    pub(crate) user: Option<String>,
}

/// The candidates to try, in order; `Err` for an unreadable `--pg-url`.
pub(crate) fn candidates(explicit: &Explicit, os_user: &str) -> Result<Vec<Candidate>, String> {
    let env = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
    let password = env("PGPASSWORD");
    if explicit.url.is_some()
        || explicit.host.is_some()
        || explicit.port.is_some()
        || explicit.user.is_some()
    {
        let mut found = match &explicit.url {
            Some(url) => from_url(url, password.clone())?,
            None => Vec::new(),
        };
        if found.is_empty() {
            // No user named anywhere: as libpq, the OS user; then `postgres`.
            let users = match explicit.user.clone().or_else(|| env("PGUSER")) {
                Some(user) => vec![user],
                None => vec![os_user.to_string(), "postgres".to_string()],
            };
            for user in users {
                for host in hosts_or_local(env("PGHOST")) {
                    found.push(Candidate {
                        host,
                        port: env("PGPORT")
                            .and_then(|p| p.parse().ok())
                            .unwrap_or(DEFAULT_PORT),
                        user: user.clone(),
                        password: password.clone(),
                        source: "command line",
                    });
                }
            }
        }
        for candidate in &mut found {
            if let Some(host) = &explicit.host {
                candidate.host.clone_from(host);
            }
            if let Some(port) = explicit.port {
                candidate.port = port;
            }
            if let Some(user) = &explicit.user {
                candidate.user.clone_from(user);
            }
        }
        found.dedup();
        return Ok(found);
    }

    let mut found = Vec::new();
    // libpq: the service file's settings first, the environment for what
    // it leaves unset.
    let service = env("PGSERVICE").and_then(|name| service::lookup(&name));
    let setting = |key: &str, var: &str| {
        service
            .as_ref()
            .and_then(|s| s.get(key).cloned())
            .or_else(|| env(var))
    };
    let port = setting("port", "PGPORT")
        .and_then(|p| p.parse().ok())
        .unwrap_or(DEFAULT_PORT);
    if service.is_some() || env("PGHOST").is_some() || env("PGUSER").is_some() {
        let user = setting("user", "PGUSER").unwrap_or_else(|| os_user.to_string());
        let password = setting("password", "PGPASSWORD");
        for host in hosts_or_local(setting("host", "PGHOST")) {
            found.push(Candidate {
                host,
                port,
                user: user.clone(),
                password: password.clone(),
                source: "libpq environment",
            });
        }
    }
    let local_port = env("PGPORT")
        .and_then(|p| p.parse().ok())
        .unwrap_or(DEFAULT_PORT);
    for user in [os_user, "postgres"] {
        for host in LOCAL_HOSTS {
            let candidate = Candidate {
                host: (*host).to_string(),
                port: local_port,
                user: user.to_string(),
                password: password.clone(),
                source: "local server",
            };
            if !found.iter().any(|c| {
                (&c.host, c.port, &c.user) == (&candidate.host, candidate.port, &candidate.user)
            }) {
                found.push(candidate);
            }
        }
    }
    Ok(found)
}

/// A comma-separated host list, or the local hosts when unset.
fn hosts_or_local(hosts: Option<String>) -> Vec<String> {
    match hosts {
        Some(hosts) => hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_string)
            .collect(),
        None => LOCAL_HOSTS.iter().map(|h| (*h).to_string()).collect(),
    }
}

/// One candidate per host of a libpq URL or `key=value` string.
fn from_url(url: &str, password: Option<String>) -> Result<Vec<Candidate>, String> {
    let parsed: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("`--pg-url` is not a PostgreSQL connection string: {e}"))?;
    let user = parsed
        .get_user()
        .map(str::to_string)
        .unwrap_or_else(|| "postgres".into());
    let password = parsed
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .or(password);
    let ports = parsed.get_ports();
    let hosts: Vec<String> = parsed
        .get_hosts()
        .iter()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let hosts = if hosts.is_empty() {
        LOCAL_HOSTS.iter().map(|h| (*h).to_string()).collect()
    } else {
        hosts
    };
    Ok(hosts
        .into_iter()
        .enumerate()
        .map(|(i, host)| Candidate {
            host,
            port: ports
                .get(i)
                .or_else(|| ports.first())
                .copied()
                .unwrap_or(DEFAULT_PORT),
            user: user.clone(),
            password: password.clone(),
            source: "command line",
        })
        .collect())
}

/// Whether the login may create the demo's database and role.
pub(crate) async fn may_create(client: &Client) -> Result<bool, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT rolsuper OR (rolcreatedb AND rolcreaterole) FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// The first candidate that connects and may create; else what each said.
pub(crate) async fn first_usable(candidates: &[Candidate]) -> Result<Candidate, Vec<String>> {
    let mut tried = Vec::new();
    for candidate in candidates {
        match candidate.connect("postgres").await {
            Ok(client) => match may_create(&client).await {
                Ok(true) => return Ok(candidate.clone()),
                Ok(false) => tried.push(format!(
                    "{}: may not create databases and roles",
                    candidate.describe()
                )),
                Err(e) => tried.push(format!("{}: {}", candidate.describe(), short(&e))),
            },
            Err(e) => tried.push(format!("{}: {}", candidate.describe(), short(&e))),
        }
    }
    Err(tried)
}

/// The server's own message when there is one, else the error's.
pub(crate) fn short(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |db| db.message().to_string())
}
