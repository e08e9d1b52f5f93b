//! `sqlwarden demo` on the machines users have: (a) a server whose
//! superuser is `postgres`, (b) a server with only a login named after the
//! OS user (Homebrew's layout), (c) no server at all (the demo makes its
//! private socket-only cluster). Each case then runs the next-steps
//! commands exactly as printed, through `sh`.
//!
//! The demo probes the local server's Unix socket directories and
//! `localhost` on `PGPORT`, so every case sets `PGPORT` to a cluster of its
//! own (or to a free port): none of them can reach any other server.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sqlwarden::local_pg::{Cluster, Listen};

use crate::support::pg_cluster::{Auth, PgCluster};

/// A clean home: config, data and audit directories all inside it.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        // A home others may enter, as on most systems: as root, the
        // private cluster belongs to the `postgres` account, which must
        // reach it.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Home { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config_dir(&self) -> PathBuf {
        self.path().join(".config/sqlwarden")
    }

    fn private_cluster_dir(&self) -> PathBuf {
        self.path().join(".local/share/sqlwarden/demo-pg")
    }

    /// `program` with this home and no libpq or sqlwarden variables but
    /// `set`.
    fn command(&self, program: &str, set: &[(&str, String)]) -> Command {
        let mut command = Command::new(program);
        command.env("HOME", self.path());
        for var in [
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME",
            "SQLWARDEN_CONFIG_DIR",
            "SQLWARDEN_AUDIT_DIR",
            "SQLWARDEN_DEMO_DB",
            "PGHOST",
            "PGHOSTADDR",
            "PGPORT",
            "PGUSER",
            "PGPASSWORD",
            "PGSERVICE",
            "PGSERVICEFILE",
            "PGDATABASE",
        ] {
            command.env_remove(var);
        }
        for (var, value) in set {
            command.env(var, value);
        }
        command
    }

    fn sqlwarden(&self, args: &[&str], set: &[(&str, String)]) -> Output {
        self.command(env!("CARGO_BIN_EXE_sqlwarden"), set)
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        // A failed test may leave the private cluster running.
        if let Ok(cluster) = Cluster::new(&self.private_cluster_dir(), 5432, Listen::SocketOnly) {
            let _ = cluster.stop();
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Run `sqlwarden demo`; its stdout (the next steps) when it succeeded.
fn demo(home: &Home, set: &[(&str, String)]) -> (String, String) {
    let out = home.sqlwarden(&["demo"], set);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

/// Run every command under "Try it:" through `sh`, exactly as printed
/// (the binary by its path, as it is not on PATH); the two refusals must
/// exit 1 with their error codes, everything else 0.
fn next_steps_work_as_printed(home: &Home, next: &str, set: &[(&str, String)]) {
    let steps: Vec<&str> = next
        .lines()
        .skip_while(|l| !l.starts_with("Try it:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(steps.len(), 7, "{next}");
    for step in steps {
        let out = home.command("sh", set).args(["-c", step]).output().unwrap();
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        let expected = if step.contains("# refused") { 1 } else { 0 };
        assert_eq!(
            out.status.code(),
            Some(expected),
            "`{step}`\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        if step.contains("phone") {
            assert!(stderr.contains("COLUMN_NOT_ALLOWED"), "{stderr}");
        }
        if step.contains("employees") {
            assert!(stderr.contains("TABLE_NOT_ALLOWED"), "{stderr}");
        }
        if step.contains("GROUP BY region_code") {
            // The row policy: only EAST and NORTH.
            assert!(
                stdout.contains("EAST") && stdout.contains("NORTH"),
                "{stdout}"
            );
            assert!(!stdout.contains("WEST"), "{stdout}");
        }
    }
}

/// The connection `demo` wrote.
fn connections(home: &Home) -> String {
    std::fs::read_to_string(home.config_dir().join("connections.yaml")).unwrap()
}

#[test]
fn demo_uses_a_server_whose_superuser_is_postgres() {
    let server = PgCluster::start(Auth::Trust);
    let home = Home::new();
    let set = [("PGPORT", server.port().to_string())];
    let (next, progress) = demo(&home, &set);
    assert!(
        progress.contains(&format!(
            "Using `postgres` at localhost port {}",
            server.port()
        )),
        "{progress}"
    );
    assert!(
        progress.contains("Loading the sales warehouse"),
        "{progress}"
    );
    let written = connections(&home);
    assert!(written.contains("host: \"localhost\""), "{written}");
    assert!(!written.contains("private demo cluster"), "{written}");
    next_steps_work_as_printed(&home, &next, &set);
}

#[tokio::test]
async fn demo_uses_a_server_with_only_the_os_users_login() {
    let me = sqlwarden::audit::os_user().unwrap();
    assert_ne!(
        me, "postgres",
        "run this test as another OS user than `postgres`"
    );
    let server = PgCluster::start_as(&me, Auth::Trust);
    let home = Home::new();
    let set = [("PGPORT", server.port().to_string())];
    let (next, progress) = demo(&home, &set);
    assert!(
        progress.contains(&format!("Using `{me}` at localhost port {}", server.port())),
        "{progress}"
    );
    // No `postgres` role: the OS user's login did the work.
    let (client, connection) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user={me} dbname=postgres",
            server.port()
        ),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let postgres_roles: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_roles WHERE rolname = 'postgres'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(postgres_roles, 0);
    next_steps_work_as_printed(&home, &next, &set);
}

#[test]
fn demo_makes_a_private_cluster_when_no_server_answers() {
    let home = Home::new();
    let nowhere = home.path().join("no-server-here");
    let set = [
        ("PGHOST", nowhere.display().to_string()),
        ("PGPORT", free_port().to_string()),
    ];
    let (next, progress) = demo(&home, &set);
    let cluster_dir = home.private_cluster_dir();
    assert!(progress.contains("creating a private one"), "{progress}");
    assert!(progress.contains("initdb done in"), "{progress}");
    assert!(progress.contains("loaded in"), "{progress}");
    assert!(
        next.contains("sqlwarden's private PostgreSQL cluster"),
        "{next}"
    );
    let written = connections(&home);
    assert!(
        written.contains(&format!("host: \"{}\"", cluster_dir.display())),
        "{written}"
    );
    assert!(written.contains("private demo cluster"), "{written}");
    // Unix socket only: the server listens on no TCP address at all.
    let conf = std::fs::read_to_string(cluster_dir.join("data/postgresql.conf")).unwrap();
    assert!(conf.contains("listen_addresses = ''"), "{conf}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cluster_dir)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the cluster's directory is its owner's alone"
        );
    }

    // Down (a reboot): the first command starts it again.
    let cluster = Cluster::new(&cluster_dir, 5432, Listen::SocketOnly).unwrap();
    cluster.stop().unwrap();
    assert!(!cluster.is_running());
    next_steps_work_as_printed(&home, &next, &set);
    assert!(cluster.is_running());

    // Running it again finds the private cluster and its database.
    let again = home.sqlwarden(&["demo"], &set);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("--remove"),
        "{}",
        text(&again.stderr)
    );

    let removed = home.sqlwarden(&["demo", "--remove"], &set);
    assert_eq!(removed.status.code(), Some(0), "{}", text(&removed.stderr));
    assert!(!cluster_dir.exists());
    assert!(!home.config_dir().join("connections.yaml").exists());
    assert!(!home.config_dir().join("policy.yaml").exists());
}

#[test]
fn demo_remove_keeps_a_config_that_points_elsewhere() {
    let home = Home::new();
    std::fs::create_dir_all(home.config_dir()).unwrap();
    let mine = "connections: {}\n";
    std::fs::write(home.config_dir().join("connections.yaml"), mine).unwrap();
    let out = home.sqlwarden(&["demo", "--remove"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Kept"), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(home.config_dir().join("connections.yaml")).unwrap(),
        mine
    );
}

#[test]
fn demo_named_server_that_is_down_fails_with_what_was_tried() {
    let home = Home::new();
    let port = free_port().to_string();
    let out = home.sqlwarden(
        &[
            "demo",
            "--pg-url",
            &format!("postgresql://postgres@127.0.0.1:{port}/postgres"),
        ],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("named on the command line"), "{stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1 port {port}")),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
    // A named server is never replaced by a private one.
    assert!(!home.private_cluster_dir().exists());
}
