//! The demo's private PostgreSQL cluster, for a machine where no server
//! answers but the server programs are installed: `demo-pg/` in the user's
//! data directory, Unix socket only (no TCP), trust auth inside it, owned
//! by the user (the directory is theirs alone, 0700), superuser
//! `postgres`.
//!
//! The connection the demo writes names the socket directory; `serve`,
//! `query`, `call` and `check` start the cluster when such a connection
//! finds it down ([`start_if_down`]), and `demo --remove` deletes it.

use std::path::PathBuf;
use std::time::Instant;

use crate::cli::printer;
use crate::config::{Config, Connection};
use crate::local_pg::{Cluster, ClusterError, Init, Listen};

/// The superuser `initdb` creates (it loads the demo; queries never run
/// as it).
pub(crate) const SUPERUSER: &str = "postgres";
/// The port in the socket's name (`.s.PGSQL.5432`); nothing listens on TCP.
const PORT: u16 = 5432;

/// Where the private cluster lives, when there is a data directory.
pub(crate) fn location() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "sqlwarden").map(|dirs| dirs.data_dir().join("demo-pg"))
}

/// The private cluster, whether or not it exists yet.
pub(crate) fn cluster() -> Result<Cluster, ClusterError> {
    let dir = location().ok_or_else(|| ClusterError::Io {
        what: "find a data directory for",
        path: PathBuf::from("demo-pg"),
        source: std::io::Error::other("no home directory"),
    })?;
    Cluster::new(&dir, PORT, Listen::SocketOnly)
}

/// Create the cluster if it does not exist and start it if it is down,
/// saying on stderr what takes time.
pub(crate) fn ensure() -> Result<Cluster, ClusterError> {
    let cluster = cluster()?;
    if !cluster.exists() {
        printer::status(&format!(
            "No PostgreSQL server answered; creating a private one in `{}` (initdb) ...",
            cluster.dir().display()
        ));
        let started = Instant::now();
        if let Some(parent) = cluster.dir().parent() {
            fs_err::create_dir_all(parent).map_err(|source| ClusterError::Io {
                what: "create",
                path: parent.to_path_buf(),
                source,
            })?;
        }
        cluster.init(&Init {
            superuser: SUPERUSER,
            password: None,
            durable: true,
            settings: &[],
        })?;
        printer::status(&format!("  initdb done in {:.1} s", secs(started)));
    }
    start(&cluster)?;
    Ok(cluster)
}

fn start(cluster: &Cluster) -> Result<(), ClusterError> {
    if cluster.is_running() {
        return Ok(());
    }
    printer::status(&format!(
        "Starting sqlwarden's private demo PostgreSQL in `{}` ...",
        cluster.dir().display()
    ));
    let started = Instant::now();
    cluster.start()?;
    printer::status(&format!("  started in {:.1} s", secs(started)));
    Ok(())
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// Whether `host` is the private cluster's socket directory.
pub(crate) fn is_private_host(host: &str) -> bool {
    location().is_some_and(|dir| std::path::Path::new(host) == dir)
}

/// Start the private cluster when a PostgreSQL connection of `config`
/// points at it and it exists but is down. A failure is a warning: the
/// engine then reports the connection as unavailable, with its hint.
pub fn start_if_down(config: &Config) {
    let wanted = config.connections.connections.values().any(
        |connection| matches!(connection, Connection::Postgres(pg) if is_private_host(&pg.host)),
    );
    if !wanted {
        return;
    }
    let Ok(cluster) = cluster() else {
        return;
    };
    if !cluster.exists() {
        return;
    }
    if let Err(e) = start(&cluster) {
        printer::warn(&format!(
            "could not start the private demo PostgreSQL: {e} ({})",
            e.hint()
        ));
    }
}
