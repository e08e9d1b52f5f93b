//! One PostgreSQL cluster in a directory of its own: `data/` (the cluster),
//! the Unix socket beside it, and `server.log`.
//!
//! Where it listens is written into its `postgresql.conf` at `initdb`, so a
//! later `pg_ctl start` (another process, another day) brings it back the
//! same way. Trust auth is safe here because a [`Listen::SocketOnly`]
//! cluster is reachable only through a socket in a directory only its owner
//! may enter; the tests' [`Listen::Loopback`] clusters are throwaway.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::find::{bin_dir, NotInstalled};

/// The system account PostgreSQL runs as when sqlwarden runs as root.
pub const SERVER_ACCOUNT: &str = "postgres";

/// Where a cluster accepts connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// Only the Unix socket in the cluster's directory (no TCP at all).
    SocketOnly,
    /// The socket and TCP on 127.0.0.1.
    Loopback,
}

/// Why a cluster could not be created, started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No `initdb` / `pg_ctl` on this machine.
    #[error(transparent)]
    NotInstalled(#[from] NotInstalled),
    /// A file or directory could not be made.
    #[error("could not {what} `{path}`: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A PostgreSQL program failed; `output` is the end of what it said.
    #[error("`{program}` failed: {output}")]
    Program {
        /// The program and its subcommand.
        program: String,
        /// Its last lines of output (and the server log's, when starting).
        output: String,
    },
    /// Running as root with no `postgres` account to run the server as.
    #[error("PostgreSQL refuses to run as root, and there is no `{SERVER_ACCOUNT}` account to run it as")]
    Root,
}

impl ClusterError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::NotInstalled(e) => e.hint(),
            Self::Io { .. } => "Check that the directory is writable and the disk is not full".into(),
            Self::Program { .. } => "The lines above are PostgreSQL's own; `server.log` in the cluster's directory has the rest".into(),
            Self::Root => "Run sqlwarden as an ordinary user".into(),
        }
    }
}

/// How [`Cluster::init`] makes a cluster.
#[derive(Debug, Clone, Copy)]
pub struct Init<'a> {
    /// The bootstrap superuser.
    pub superuser: &'a str,
    /// `None`: trust auth; a password: `scram-sha-256` with it for the
    /// superuser.
    pub password: Option<&'a str>,
    /// `false` skips initdb's final fsync (throwaway clusters).
    pub durable: bool,
    /// Settings added to `postgresql.conf`.
    pub settings: &'a [(&'a str, &'a str)],
}

/// A cluster in `dir` (which need not exist yet).
#[derive(Debug, Clone)]
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    listen: Listen,
}

impl Cluster {
    /// The cluster in `dir`, using the server programs [`bin_dir`] finds.
    /// `port` names the socket file (`.s.PGSQL.<port>`) and, for
    /// [`Listen::Loopback`], the TCP port.
    pub fn new(dir: &Path, port: u16, listen: Listen) -> Result<Cluster, ClusterError> {
        Ok(Cluster {
            bin: bin_dir()?,
            dir: dir.to_path_buf(),
            port,
            listen,
        })
    }

    /// The directory holding the cluster, its socket and its log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of the Unix socket (a libpq `host`).
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// The port (of the socket file, and of TCP when listening there).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory (`PGDATA`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The server's log file.
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// Whether `initdb` has made the cluster.
    pub fn exists(&self) -> bool {
        self.data_dir().join("PG_VERSION").is_file()
    }

    /// Create the directory (only its owner may enter it) and `initdb` the
    /// cluster as `init` says.
    pub fn init(&self, init: &Init<'_>) -> Result<(), ClusterError> {
        create_private_dir(&self.dir)?;
        let pwfile = self.dir.join("initdb.pw");
        if let Some(password) = init.password {
            fs_err::write(&pwfile, password).map_err(|source| ClusterError::Io {
                what: "write",
                path: pwfile.clone(),
                source,
            })?;
        }
        self.hand_to_server_account(&self.dir)?;
        let mut args: Vec<OsString> = vec![
            "-D".into(),
            self.data_dir().into(),
            "-U".into(),
            init.superuser.into(),
            "-E".into(),
            "UTF8".into(),
            // C.UTF-8 is on every Linux; macOS has only C for UTF-8 data.
            if cfg!(target_os = "linux") {
                "--locale=C.UTF-8".into()
            } else {
                "--locale=C".into()
            },
        ];
        if init.password.is_some() {
            args.extend([
                "--auth=scram-sha-256".into(),
                "--pwfile".into(),
                pwfile.clone().into(),
            ]);
        } else {
            args.push("--auth=trust".into());
        }
        if !init.durable {
            args.push("-N".into());
        }
        let made = self.run("initdb", &args);
        let _ = fs_err::remove_file(&pwfile);
        made?;
        let listen = match self.listen {
            Listen::SocketOnly => "",
            Listen::Loopback => "127.0.0.1",
        };
        let socket_dir = self.dir.display().to_string();
        let mut lines = String::from("\n# Written by sqlwarden.\n");
        for (name, value) in [
            ("port", self.port.to_string().as_str()),
            ("listen_addresses", listen),
            ("unix_socket_directories", socket_dir.as_str()),
        ]
        .iter()
        .chain(init.settings)
        {
            lines.push_str(&format!("{name} = '{}'\n", value.replace('\'', "''")));
        }
        let conf = self.data_dir().join("postgresql.conf");
        let append = || -> std::io::Result<()> {
            use std::io::Write;
            let mut file = fs_err::OpenOptions::new().append(true).open(&conf)?;
            file.write_all(lines.as_bytes())
        };
        append().map_err(|source| ClusterError::Io {
            what: "configure",
            path: conf.clone(),
            source,
        })
    }

    /// Start the cluster and wait until it accepts connections.
    pub fn start(&self) -> Result<(), ClusterError> {
        let args: Vec<OsString> = vec![
            "-D".into(),
            self.data_dir().into(),
            // With a log file the server holds none of our pipes open, so
            // waiting for pg_ctl ends.
            "-l".into(),
            self.log_file().into(),
            "-w".into(),
            "-t".into(),
            "120".into(),
            "start".into(),
        ];
        self.run("pg_ctl", &args).map_err(|e| match e {
            ClusterError::Program { program, output } => ClusterError::Program {
                program,
                output: format!("{output}\n{}", self.log_tail()),
            },
            other => other,
        })
    }

    /// Whether the cluster's server is running (`pg_ctl status`).
    pub fn is_running(&self) -> bool {
        self.exists()
            && self
                .command("pg_ctl")
                .map(|mut c| c.arg("status").arg("-D").arg(self.data_dir()).output())
                .is_ok_and(|out| out.is_ok_and(|o| o.status.success()))
    }

    /// Stop the server (`fast`: sessions are ended, then a clean shutdown).
    pub fn stop(&self) -> Result<(), ClusterError> {
        if !self.is_running() {
            return Ok(());
        }
        let args: Vec<OsString> = self.stop_args("fast");
        self.run("pg_ctl", &args)
    }

    /// The `pg_ctl` command line that stops the server in `mode`, as the
    /// account that owns it (for a watchdog to run later).
    pub fn stop_command(&self, mode: &str) -> Result<Vec<OsString>, ClusterError> {
        let mut argv = self.owner_prefix()?;
        argv.push(self.bin.join("pg_ctl").into());
        argv.extend(self.stop_args(mode));
        Ok(argv)
    }

    fn stop_args(&self, mode: &str) -> Vec<OsString> {
        vec![
            "-D".into(),
            self.data_dir().into(),
            "-m".into(),
            mode.into(),
            "-w".into(),
            "stop".into(),
        ]
    }

    /// Stop the server and delete the cluster's directory.
    pub fn remove(&self) -> Result<(), ClusterError> {
        self.stop()?;
        fs_err::remove_dir_all(&self.dir).map_err(|source| ClusterError::Io {
            what: "remove",
            path: self.dir.clone(),
            source,
        })
    }

    /// As root, make `path` (and what is under it) the server account's,
    /// so the server may use it; otherwise nothing.
    pub fn hand_to_server_account(&self, path: &Path) -> Result<(), ClusterError> {
        if !running_as_root() {
            return Ok(());
        }
        let out = Command::new("chown")
            .args(["-R", SERVER_ACCOUNT])
            .arg(path)
            .output()
            .map_err(|source| ClusterError::Io {
                what: "chown",
                path: path.to_path_buf(),
                source,
            })?;
        check("chown", out)
    }

    /// The end of the server log, for errors.
    fn log_tail(&self) -> String {
        let log = fs_err::read_to_string(self.log_file()).unwrap_or_default();
        tail(&log, 10)
    }

    /// `program` from the server programs' directory, as the account that
    /// owns the cluster.
    fn command(&self, program: &str) -> Result<Command, ClusterError> {
        let path = self.bin.join(program);
        let prefix = self.owner_prefix()?;
        Ok(match prefix.split_first() {
            Some((first, rest)) => {
                let mut command = Command::new(first);
                command.args(rest).arg(path);
                command
            }
            None => Command::new(path),
        })
    }

    /// Nothing, or (as root) `runuser -u postgres --`.
    fn owner_prefix(&self) -> Result<Vec<OsString>, ClusterError> {
        if !running_as_root() {
            return Ok(Vec::new());
        }
        let known = Command::new("id")
            .args(["-u", SERVER_ACCOUNT])
            .output()
            .is_ok_and(|o| o.status.success());
        if !known {
            return Err(ClusterError::Root);
        }
        Ok(["runuser", "-u", SERVER_ACCOUNT, "--"]
            .map(OsString::from)
            .to_vec())
    }

    fn run(&self, program: &str, args: &[OsString]) -> Result<(), ClusterError> {
        let out = self
            .command(program)?
            .args(args)
            .output()
            .map_err(|source| ClusterError::Io {
                what: "run",
                path: self.bin.join(program),
                source,
            })?;
        check(program, out)
    }
}

fn check(program: &str, out: Output) -> Result<(), ClusterError> {
    if out.status.success() {
        return Ok(());
    }
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Err(ClusterError::Program {
        program: program.into(),
        output: tail(&said, 10),
    })
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Whether this process runs as root (PostgreSQL refuses to).
pub fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        rustix::process::geteuid().is_root()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Create `dir` and its parents; `dir` itself only its owner may enter.
fn create_private_dir(dir: &Path) -> Result<(), ClusterError> {
    let io = |source| ClusterError::Io {
        what: "create",
        path: dir.to_path_buf(),
        source,
    };
    fs_err::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}
