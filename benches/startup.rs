//! Process start to the `initialize` response, and to the first
//! `tools/list` answer, over a real stdio pipe; plus the idle resident
//! memory of a served process.
//!
//! The server must not touch the network or the keyring before it answers
//! `initialize`, so this needs no database: it points the binary at a
//! temporary config directory with one PostgreSQL connection that is never
//! contacted.

#![allow(clippy::expect_used, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const TOOLS_LIST: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;

fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("connections.yaml"),
        "connections:\n  crm:\n    engine: postgres\n    host: 127.0.0.1\n    port: 1\n    dbname: crm\n    user: agent_ro\n",
    )
    .expect("write connections.yaml");
    std::fs::write(
        dir.path().join("policy.yaml"),
        "identity:\n  user_id: bench\nsources:\n  crm:\n    tables:\n      public.orders:\n        allowed_columns: [order_id, amount]\n",
    )
    .expect("write policy.yaml");
    dir
}

struct Served {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

fn spawn(config: &std::path::Path, audit: &std::path::Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .arg("serve")
        .env("SQLWARDEN_CONFIG_DIR", config)
        .env("SQLWARDEN_AUDIT_DIR", audit)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sqlwarden");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    Served { child, stdout }
}

impl Served {
    fn send(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin.write_all(line.as_bytes()).expect("write");
        stdin.write_all(b"\n").expect("write");
        stdin.flush().expect("flush");
    }

    fn recv(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read");
        assert!(line.contains("\"result\""), "unexpected answer: {line}");
        line
    }

    fn finish(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

fn startup(c: &mut Criterion) {
    let config = config_dir();
    let audit = tempfile::tempdir().expect("audit dir");
    let mut group = c.benchmark_group("startup");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("spawn_to_initialize", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let mut served = spawn(config.path(), audit.path());
                served.send(INITIALIZE);
                served.recv();
                total += start.elapsed();
                served.finish();
            }
            total
        })
    });
    group.bench_function("spawn_to_tools_list", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let mut served = spawn(config.path(), audit.path());
                served.send(INITIALIZE);
                served.recv();
                served.send(INITIALIZED);
                served.send(TOOLS_LIST);
                served.recv();
                total += start.elapsed();
                served.finish();
            }
            total
        })
    });
    group.finish();

    let mut served = spawn(config.path(), audit.path());
    served.send(INITIALIZE);
    served.recv();
    served.send(INITIALIZED);
    served.send(TOOLS_LIST);
    served.recv();
    std::thread::sleep(Duration::from_millis(200));
    eprintln!(
        "idle resident memory after tools/list: {} KiB",
        served.rss_kib()
    );
    served.finish();
}

criterion_group!(benches, startup);
criterion_main!(benches);
