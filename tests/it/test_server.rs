//! The tests' own PostgreSQL (`sqlwarden::local_pg::testing`): it is not
//! the machine's server, and it is stopped and deleted when the test
//! process dies, even by SIGKILL (no destructor runs then: the watchdog
//! does it). So is a test's private cluster ([`PgCluster`]).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::pg_cluster::{Auth, PgCluster};
use crate::support::{child, pg};

#[tokio::test]
async fn the_tests_bring_their_own_server() {
    if std::env::var_os("SQLWARDEN_TEST_PG_HOST").is_some() {
        // A server was named explicitly (a bench run); nothing to prove.
        return;
    }
    assert_eq!(pg::host(), "127.0.0.1");
    assert_ne!(pg::port(), 5432);
    let client = pg::connect("postgres").await;
    let dir: String = client
        .query_one("SHOW data_directory", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        dir.starts_with(&std::env::temp_dir().display().to_string()),
        "{dir}"
    );
}

#[test]
#[ignore = "run by a_killed_test_process_leaves_no_server_behind"]
fn start_a_server_and_wait() {
    if !child::is_child() {
        return;
    }
    let server = sqlwarden::local_pg::testing::server();
    let cluster = PgCluster::start(Auth::Trust);
    // The parent reads these lines (stdout is not captured: --nocapture).
    let mut stdout = std::io::stdout();
    writeln!(stdout, "\nSERVER {} {}", server.host, server.port).unwrap();
    writeln!(
        stdout,
        "CLUSTER {} {}",
        cluster.port(),
        cluster.dir().display()
    )
    .unwrap();
    stdout.flush().unwrap();
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn a_killed_test_process_leaves_no_server_behind() {
    // The process's test server and a private cluster of one of its
    // tests: both must go.
    let mut running = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "test_server::start_a_server_and_wait",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(child::CHILD_ENV, "1")
        .env_remove("SQLWARDEN_TEST_PG_HOST")
        .env_remove("SQLWARDEN_TEST_PG_PORT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = running.id();
    let mut lines = BufReader::new(running.stdout.take().unwrap()).lines();
    let mut next_line = |tag: &str| loop {
        let line = lines
            .next()
            .expect("the child printed its servers")
            .unwrap();
        if let Some(rest) = line.strip_prefix(tag) {
            break rest.to_string();
        }
    };
    let port: u16 = next_line("SERVER ")
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let cluster = next_line("CLUSTER ");
    let (cluster_port, cluster_dir) = cluster.split_once(' ').unwrap();
    let cluster_port: u16 = cluster_port.parse().unwrap();
    let cluster_dir = std::path::PathBuf::from(cluster_dir);
    assert!(cluster_dir.is_dir(), "{}", cluster_dir.display());
    let listening = |port: u16| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
    let dirs = || -> Vec<String> {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(&format!("sqlwarden-test-pg-{pid}-")))
            .collect()
    };
    assert_eq!(dirs().len(), 1, "the child's cluster directory");
    assert!(listening(port));
    assert!(listening(cluster_port));

    running.kill().unwrap();
    running.wait().unwrap();
    let gone = || {
        !listening(port) && dirs().is_empty() && !listening(cluster_port) && !cluster_dir.exists()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !gone() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !listening(port),
        "the server of the killed process still listens on {port}"
    );
    assert_eq!(dirs(), Vec::<String>::new(), "its directory is left behind");
    assert!(
        !listening(cluster_port),
        "the private cluster of the killed process still listens on {cluster_port}"
    );
    assert!(
        !cluster_dir.exists(),
        "the private cluster's directory is left behind: {}",
        cluster_dir.display()
    );
}
