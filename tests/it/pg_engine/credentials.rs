//! `CREDENTIALS_MISSING` against a server that really asks for a password:
//! the shared test server trusts every local login, so these tests start a
//! private cluster with `scram-sha-256` authentication.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use sqlwarden::config::SslMode;
use sqlwarden::engine::postgres::PostgresEngine;
use sqlwarden::engine::Engine;
use sqlwarden::error::ErrorCode;
use sqlwarden::secrets::Secret;

use super::connection;

/// A private PostgreSQL cluster that requires `scram-sha-256` passwords,
/// stopped and removed on drop.
struct PasswordServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

const SERVER_PASSWORD: &str = "correct horse battery staple";

impl PasswordServer {
    fn start() -> PasswordServer {
        let bin = postgres_bin_dir();
        let dir = tempfile::tempdir().expect("tempdir");
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, SERVER_PASSWORD).expect("pwfile");
        as_server_owner(dir.path());
        let data = dir.path().join("data");
        let log = dir.path().join("server.log");
        run_as_owner(
            &bin.join("initdb"),
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth=scram-sha-256".as_ref(),
                "--pwfile".as_ref(),
                pwfile.as_os_str(),
                "-N".as_ref(),
            ],
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.path().display()
        );
        run_as_owner(
            &bin.join("pg_ctl"),
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                // With a log file the server does not hold our output pipe
                // open, so waiting for pg_ctl ends.
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        );
        PasswordServer { dir, bin, port }
    }

    fn engine(&self, password: Option<&str>) -> PostgresEngine {
        self.engine_with_tls(password, SslMode::Disable)
    }

    fn engine_with_tls(&self, password: Option<&str>, sslmode: SslMode) -> PostgresEngine {
        let mut conn = connection("postgres");
        conn.host = "127.0.0.1".into();
        conn.port = self.port;
        conn.sslmode = sslmode;
        PostgresEngine::new("pwdb", &conn, password.map(Secret::new))
    }
}

impl Drop for PasswordServer {
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

#[tokio::test]
async fn password_prompt_without_a_stored_password_is_credentials_missing() {
    let server = PasswordServer::start();

    let error = server.engine(None).probe().await.expect_err("no password");
    assert_eq!(error.code, ErrorCode::CredentialsMissing, "{error:?}");
    assert!(
        error.message.contains("none is stored"),
        "{}",
        error.message
    );
    assert!(
        error.hint.contains("sqlwarden auth set pwdb"),
        "{}",
        error.hint
    );
    assert!(
        error.hint.contains("SQLWARDEN_PWDB_PASSWORD"),
        "{}",
        error.hint
    );
    assert!(error.hint.contains("PGPASSWORD"), "{}", error.hint);

    let error = server
        .engine(Some("wrong"))
        .probe()
        .await
        .expect_err("wrong password");
    assert_eq!(error.code, ErrorCode::CredentialsMissing);
    assert!(
        error.message.contains("refused the stored password"),
        "{}",
        error.message
    );
    assert!(
        !format!("{error:?}").contains("wrong\""),
        "the secret never appears"
    );

    let report = server
        .engine(Some(SERVER_PASSWORD))
        .probe()
        .await
        .expect("right password");
    assert_eq!(report.login, "postgres");
}

/// The private cluster has no TLS: `prefer` falls back to plain TCP (as
/// libpq does), `require` refuses to connect.
#[tokio::test]
async fn prefer_falls_back_and_require_refuses_without_server_tls() {
    let server = PasswordServer::start();
    server
        .engine_with_tls(Some(SERVER_PASSWORD), SslMode::Prefer)
        .probe()
        .await
        .expect("prefer connects without TLS");
    let error = server
        .engine_with_tls(Some(SERVER_PASSWORD), SslMode::Require)
        .probe()
        .await
        .expect_err("require needs TLS");
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
    assert!(error.message.contains("TLS"), "{}", error.message);
}
