//! The PostgreSQL server the tests use: a throwaway cluster per test
//! process, or the server named by [`HOST_ENV`] / [`PORT_ENV`].
//!
//! The first test that asks ([`server`]) runs `initdb` into a temporary
//! directory and starts the cluster on a free port of 127.0.0.1 (trust
//! auth, superuser `postgres`, TLS with a self-signed certificate for
//! `localhost`, no fsync). Statics are never dropped, so the cluster is
//! not stopped by a destructor: a watchdog (`sh`, in its own process
//! group so Ctrl-C does not reach it) waits for the pipe from this process
//! to close, which the kernel does however the process ends (a clean
//! exit, a panic, a kill), then stops the cluster and deletes it.
//!
//! The lib's unit tests and the `it` binary are separate processes, so
//! each has its own cluster (about a second each). Child processes the
//! tests start get [`child_env`], which points them at this one.

use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use super::cluster::{Cluster, Init, Listen};

/// Use this server instead of starting one (its host).
pub const HOST_ENV: &str = "SQLWARDEN_TEST_PG_HOST";
/// Use this server instead of starting one (its port).
pub const PORT_ENV: &str = "SQLWARDEN_TEST_PG_PORT";

/// The server the tests use; user `postgres`, trust auth.
#[derive(Debug)]
pub struct TestServer {
    /// A host name, address or socket directory.
    pub host: String,
    /// The port.
    pub port: u16,
    /// Held for the life of the process.
    _watchdog: Option<Watchdog>,
}

impl TestServer {
    /// A libpq-style connection string as `postgres` to `dbname`.
    pub fn conninfo(&self, dbname: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={dbname}",
            self.host, self.port
        )
    }
}

/// The server for this process, started on first use. Panics, with what
/// to install, when there are no PostgreSQL server programs.
pub fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| match configured() {
        Some(server) => server,
        None => start().unwrap_or_else(|message| panic!("{message}")),
    })
}

/// The environment that points a child process at [`server`].
pub fn child_env() -> [(&'static str, String); 2] {
    let server = server();
    [
        (HOST_ENV, server.host.clone()),
        (PORT_ENV, server.port.to_string()),
    ]
}

fn configured() -> Option<TestServer> {
    let host = std::env::var(HOST_ENV).ok()?;
    let port = std::env::var(PORT_ENV)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5432);
    Some(TestServer {
        host,
        port,
        _watchdog: None,
    })
}

fn start() -> Result<TestServer, String> {
    let failed = |e: super::ClusterError| {
        format!(
            "The tests start their own PostgreSQL cluster, and could not: {e}\nhint: {}",
            e.hint()
        )
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "sqlwarden-test-pg-{}-{stamp:08x}",
        std::process::id()
    ));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let mut last = None;
    // The port is free when picked but may be taken before the server
    // binds it; another port is tried then.
    for attempt in 0..5 {
        let cluster_dir = dir.join(format!("pg{attempt}"));
        let cluster = Cluster::new(&cluster_dir, free_port()?, Listen::Loopback).map_err(failed)?;
        let tls = write_certificate(&dir)?;
        cluster.hand_to_server_account(&dir).map_err(failed)?;
        let cert = tls.0.display().to_string();
        let key = tls.1.display().to_string();
        cluster
            .init(&Init {
                superuser: "postgres",
                password: None,
                durable: false,
                settings: &[
                    ("fsync", "off"),
                    ("synchronous_commit", "off"),
                    ("full_page_writes", "off"),
                    ("max_connections", "300"),
                    ("ssl", "on"),
                    ("ssl_cert_file", &cert),
                    ("ssl_key_file", &key),
                ],
            })
            .map_err(failed)?;
        match cluster.start() {
            Ok(()) => {
                let watchdog = Watchdog::start(&cluster, &dir).map_err(failed)?;
                return Ok(TestServer {
                    host: "127.0.0.1".into(),
                    port: cluster.port(),
                    _watchdog: Some(watchdog),
                });
            }
            Err(e) => last = Some(e),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Err(last.map_or_else(|| "no attempt made".into(), failed))
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// A self-signed certificate for `localhost` and its key, in `dir`
/// (the key readable by its owner only, as the server demands).
fn write_certificate(dir: &std::path::Path) -> Result<(PathBuf, PathBuf), String> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .map_err(|e| format!("cannot make a TLS certificate: {e}"))?;
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    std::fs::write(&cert, certified.cert.pem()).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&key)
            .and_then(|mut f| f.write_all(certified.signing_key.serialize_pem().as_bytes()))
            .map_err(|e| e.to_string())?;
    }
    #[cfg(not(unix))]
    std::fs::write(&key, certified.signing_key.serialize_pem()).map_err(|e| e.to_string())?;
    Ok((cert, key))
}

/// Stops a cluster and deletes its directory when this process lets go of
/// it, however that happens: a drop, a clean exit, a panic or a kill.
///
/// The watchdog is `sh`, in its own process group so Ctrl-C does not reach
/// it, blocked reading a pipe from this process; the kernel closes the
/// pipe when this process drops the [`Watchdog`] or dies, and `sh` then
/// runs `pg_ctl stop -m immediate` and `rm -rf` on the directory.
#[derive(Debug)]
pub struct Watchdog {
    _pipe: Mutex<ChildStdin>,
}

impl Watchdog {
    /// Watch `cluster`, whose files are all under `dir`.
    pub fn start(cluster: &Cluster, dir: &std::path::Path) -> Result<Self, super::ClusterError> {
        let stop = cluster.stop_command("immediate")?;
        let io = |source| super::ClusterError::Io {
            what: "start the watchdog for",
            path: dir.to_path_buf(),
            source,
        };
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(r#"read _ignored; "$@"; rm -rf -- "$SQLWARDEN_TEST_PG_DIR""#)
            .arg("sqlwarden-test-pg-watchdog")
            .args(stop)
            .env("SQLWARDEN_TEST_PG_DIR", dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let mut child = command.spawn().map_err(io)?;
        let pipe = child
            .stdin
            .take()
            .ok_or_else(|| io(std::io::Error::other("no pipe to the watchdog")))?;
        Ok(Self {
            _pipe: Mutex::new(pipe),
        })
    }
}
