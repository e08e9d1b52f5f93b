//! The tests' own PostgreSQL (`sqlwarden::local_pg::testing`): it is not
//! the machine's server, and it is stopped and deleted when the test
//! process dies, even by SIGKILL (no destructor runs then: the watchdog
//! does it).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    // The parent reads this line (stdout is not captured: --nocapture).
    let mut stdout = std::io::stdout();
    writeln!(stdout, "SERVER {} {}", server.host, server.port).unwrap();
    stdout.flush().unwrap();
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn a_killed_test_process_leaves_no_server_behind() {
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
    let port: u16 = loop {
        let line = lines.next().expect("the child printed its server").unwrap();
        // libtest prints `test NAME ... ` first, on the same line.
        if let Some(at) = line.find("SERVER ") {
            break line[at..].split(' ').nth(2).unwrap().parse().unwrap();
        }
    };
    let dirs = || -> Vec<String> {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(&format!("sqlwarden-test-pg-{pid}-")))
            .collect()
    };
    assert_eq!(dirs().len(), 1, "the child's cluster directory");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());

    running.kill().unwrap();
    running.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() || !dirs().is_empty())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server of the killed process still listens on {port}"
    );
    assert_eq!(dirs(), Vec::<String>::new(), "its directory is left behind");
}
