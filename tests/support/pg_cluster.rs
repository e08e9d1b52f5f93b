//! A private PostgreSQL cluster for one test, on a free port, stopped and
//! removed on drop.
//!
//! The shared server on 5432 must stay up for every other test, so tests
//! that need a server asking for passwords, or one they can stop, restart
//! or start again, run their own with `initdb` and `pg_ctl`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How the cluster authenticates local logins.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// Every login is let in (as the shared test server).
    Trust,
    /// `scram-sha-256`; user `postgres` has this password.
    Password(&'a str),
}

/// A running private cluster; user `postgres`, database `postgres`.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PgCluster {
    /// `initdb` a new cluster and start it on a free port of 127.0.0.1.
    pub fn start(auth: Auth<'_>) -> PgCluster {
        let bin = postgres_bin_dir();
        let dir = tempfile::tempdir().expect("tempdir");
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let mut initdb_args: Vec<std::ffi::OsString> = vec![
            "-D".into(),
            dir.path().join("data").into(),
            "-U".into(),
            "postgres".into(),
            "-N".into(),
        ];
        match auth {
            Auth::Trust => initdb_args.push("--auth=trust".into()),
            Auth::Password(password) => {
                let pwfile = dir.path().join("pw");
                std::fs::write(&pwfile, password).expect("pwfile");
                initdb_args.push("--auth=scram-sha-256".into());
                initdb_args.push("--pwfile".into());
                initdb_args.push(pwfile.into());
            }
        }
        as_server_owner(dir.path());
        let args: Vec<&std::ffi::OsStr> = initdb_args.iter().map(|a| a.as_os_str()).collect();
        run_as_owner(&bin.join("initdb"), &args);
        let cluster = PgCluster { dir, bin, port };
        cluster.pg_ctl(&["-w", "start"]);
        cluster
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `pg_ctl restart -m fast`: every session is ended, the server comes
    /// back on the same port.
    pub fn restart(&self) {
        self.pg_ctl(&["-w", "-m", "fast", "restart"]);
    }

    /// `pg_ctl stop -m fast`.
    pub fn stop(&self) {
        self.pg_ctl(&["-w", "-m", "fast", "stop"]);
    }

    /// Start the stopped cluster again, on the same port.
    pub fn start_again(&self) {
        self.pg_ctl(&["-w", "start"]);
    }

    /// A tokio-postgres client as `postgres` on database `dbname`.
    pub async fn client(&self, dbname: &str) -> tokio_postgres::Client {
        let conn = format!(
            "host=127.0.0.1 port={} user=postgres dbname={dbname}",
            self.port
        );
        let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("the private cluster on port {}: {e}", self.port));
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    /// Run `pg_ctl` on this cluster's data directory with the server
    /// options (port, socket directory, loopback only, no fsync).
    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let mut all: Vec<&std::ffi::OsStr> = vec![
            "-D".as_ref(),
            data.as_os_str(),
            "-o".as_ref(),
            options.as_ref(),
            // With a log file the server does not hold our output pipe
            // open, so waiting for pg_ctl ends.
            "-l".as_ref(),
            log.as_os_str(),
        ];
        all.extend(args.iter().map(|a| std::ffi::OsStr::new(*a)));
        run_as_owner(&self.bin.join("pg_ctl"), &all);
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = owner_command(&self.bin.join("pg_ctl"))
            .args([
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "stop".as_ref(),
            ])
            .output();
    }
}

/// The directory of `initdb` and `pg_ctl`, from `pg_config` or Debian's
/// layout; panics with the reason when there is none.
fn postgres_bin_dir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
        .pop()
        .filter(|dir| dir.join("initdb").exists())
        .expect("this test needs the PostgreSQL server binaries (initdb, pg_ctl)")
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// initdb refuses to run as root, so as root the cluster belongs to the
/// `postgres` system user.
fn owner_command(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn as_server_owner(dir: &Path) {
    if running_as_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir)
            .status()
            .expect("chown");
        assert!(status.success(), "chown {dir:?} failed");
    }
}

fn run_as_owner(program: &Path, args: &[&std::ffi::OsStr]) {
    let out = owner_command(program).args(args).output().expect("spawn");
    assert!(
        out.status.success(),
        "{program:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
