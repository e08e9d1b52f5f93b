//! The CLI as a person uses it: `init`, `check`, `query`, `call` and `demo`
//! run as the built binary against temp config dirs and real databases.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::stdio::Fixture;
use crate::support::pg::{self, TestDb};

fn sqlwarden(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .arg("--config-dir")
        .arg(dir)
        .args(args)
        .env("SQLWARDEN_AUDIT_DIR", dir.join("audit"))
        .env_remove("SQLWARDEN_CONFIG_DIR")
        .env_remove("PGPASSWORD")
        .output()
        .expect("run sqlwarden")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn init_writes_the_examples_and_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let first = sqlwarden(dir.path(), &["init"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    for file in [
        "connections.yaml",
        "policy.yaml",
        "catalog/joins.yaml",
        "catalog/domains.yaml",
        "catalog/terms.yaml",
        "catalog/metrics.yaml",
    ] {
        assert!(dir.path().join(file).is_file(), "{file} written");
    }
    // What `init` writes is a valid config set, semantic catalog included.
    sqlwarden::cli::session::load(dir.path()).unwrap_or_else(|e| panic!("{e:?}"));
    std::fs::write(dir.path().join("policy.yaml"), "# mine\n").unwrap();
    let second = sqlwarden(dir.path(), &["init"]);
    assert_eq!(second.status.code(), Some(1));
    assert!(stderr(&second).contains("hint: "), "{}", stderr(&second));
    assert!(stderr(&second).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("policy.yaml")).unwrap(),
        "# mine\n"
    );
    let forced = sqlwarden(dir.path(), &["init", "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    assert_ne!(
        std::fs::read_to_string(dir.path().join("policy.yaml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn check_points_at_the_broken_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("connections.yaml"),
        "connections:\n  crm:\n    engine: postgres\n    host: localhost\n    dbname: crm\n    user: ro\n    passwrd: oops\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("policy.yaml"), "sources: {}\n").unwrap();
    let out = sqlwarden(dir.path(), &["check"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("connections.yaml:7:"), "{all}");
    assert!(all.contains("passwrd"), "{all}");
}

#[tokio::test]
async fn query_prints_a_table_or_the_envelope() {
    let fx = Fixture::new("cli_query", "").await;
    let sql = "SELECT region_code, count(order_id) AS orders FROM public.orders GROUP BY region_code ORDER BY region_code";
    let out = sqlwarden(fx.dir.path(), &["query", "--source", "demo", sql]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert!(
        lines.next().unwrap().starts_with("region_code | orders"),
        "{text}"
    );
    assert!(
        lines.next().unwrap().starts_with("------------+-"),
        "{text}"
    );
    assert!(text.contains("EAST        | 600"), "{text}");
    assert!(
        !text.contains("SOUTH"),
        "row policy applies to the CLI too: {text}"
    );

    let json = sqlwarden(
        fx.dir.path(),
        &["query", "--source", "demo", "--json", "--limit", "1", sql],
    );
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let envelope: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(envelope["ok"], true);
    assert_eq!(envelope["metadata"]["applied_limit"], 1);
    assert_eq!(envelope["metadata"]["truncated"], true);

    let refused = sqlwarden(
        fx.dir.path(),
        &[
            "query",
            "--source",
            "demo",
            "SELECT phone FROM public.customers",
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("COLUMN_NOT_ALLOWED"),
        "{}",
        stderr(&refused)
    );
    assert!(stderr(&refused).contains("hint: "));
    assert!(stdout(&refused).is_empty());
}

#[tokio::test]
async fn call_prints_the_envelope_an_agent_would_get() {
    let fx = Fixture::new("cli_call", "").await;
    let out = sqlwarden(
        fx.dir.path(),
        &[
            "call",
            "describe_table",
            r#"{"source": "demo", "table": "public.orders"}"#,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let envelope: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(envelope["ok"], true);
    assert_eq!(envelope["metadata"]["tool_name"], "describe_table");
    assert_eq!(envelope["data"]["table"], "public.orders");

    let bad = sqlwarden(
        fx.dir.path(),
        &["call", "run_select_sql", r#"{"source": "demo"}"#],
    );
    assert_eq!(bad.status.code(), Some(1));
    let envelope: Value = serde_json::from_str(&stdout(&bad)).unwrap();
    assert_eq!(envelope["error"]["code"], "INVALID_ARGUMENT");
}

#[tokio::test]
async fn demo_loads_a_database_and_writes_a_working_config() {
    // TestDb picks a unique name and drops the database afterwards; the demo
    // recreates it with --force.
    let db = TestDb::create("cli_demo").await;
    let dir = tempfile::tempdir().unwrap();
    let port = pg::port().to_string();
    let host = pg::host();
    let args = [
        "demo",
        "--force",
        "--dbname",
        db.name.as_str(),
        "--pg-host",
        host.as_str(),
        "--pg-port",
        port.as_str(),
    ];
    let out = sqlwarden(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let next = stdout(&out);
    assert!(next.contains("sqlwarden --config-dir"), "{next}");
    assert!(next.contains("claude mcp add"), "{next}");
    assert!(next.contains("mcpServers"), "{next}");
    // The test binary is not on PATH: every command names it by its
    // absolute path, and the install commands are offered.
    let exe = env!("CARGO_BIN_EXE_sqlwarden");
    let add = next
        .lines()
        .find_map(|l| l.trim().strip_prefix("claude mcp add sqlwarden -- "))
        .unwrap_or_else(|| panic!("{next}"));
    assert!(add.starts_with(&format!("{exe} --config-dir ")), "{add}");
    for client in ["claude-code", "claude-desktop"] {
        assert!(
            next.contains(&format!(
                "{exe} --config-dir {} install {client}",
                dir.path().display()
            )),
            "{next}"
        );
    }
    assert!(next.contains(&format!("\"command\":\"{exe}\"")), "{next}");

    let again = sqlwarden(
        dir.path(),
        &args[..1]
            .iter()
            .chain(&args[2..])
            .copied()
            .collect::<Vec<_>>(),
    );
    assert_eq!(again.status.code(), Some(2), "no overwrite without --force");
    assert!(stderr(&again).contains("--force"));

    let rows = db
        .client()
        .await
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(rows, 3000);

    let query = sqlwarden(
        dir.path(),
        &["query", "SELECT c.segment, count(o.order_id) AS n FROM orders o JOIN customers c ON o.customer_id = c.customer_id GROUP BY c.segment ORDER BY c.segment"],
    );
    assert_eq!(query.status.code(), Some(0), "{}", stderr(&query));
    assert!(stdout(&query).contains("enterprise"), "{}", stdout(&query));
}

#[tokio::test]
async fn check_reports_each_connection_and_fails_on_a_dead_one() {
    let fx = Fixture::new("cli_check", "").await;
    let out = sqlwarden(fx.dir.path(), &["check"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("config: ok"), "{text}");
    let demo =
        &text[text.find("connection `demo`").unwrap()..text.find("connection `down`").unwrap()];
    assert!(demo.contains("credentials: none stored"), "{demo}");
    assert!(demo.contains("reachable: yes"), "{demo}");
    // The demo logs in as its own least-privilege login: nothing to warn of.
    assert!(!demo.contains("WARNING: the login can write"), "{demo}");
    let down = &text[text.find("connection `down`").unwrap()..];
    assert!(down.contains("reachable: no"), "{down}");
    assert!(down.contains("BACKEND_UNAVAILABLE"), "{down}");
    assert!(down.contains("hint: "), "{down}");
    assert!(stderr(&out).contains("1 connection(s) have problems"));
}

#[tokio::test]
async fn auth_status_names_where_the_secret_comes_from_never_the_value() {
    let fx = Fixture::new("cli_auth", "").await;
    let out = Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .args(["--config-dir"])
        .arg(fx.dir.path())
        .args(["auth", "status", "demo"])
        .env("SQLWARDEN_DEMO_PASSWORD", "hunter2-not-printed")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("SQLWARDEN_DEMO_PASSWORD"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    let unknown = sqlwarden(fx.dir.path(), &["auth", "status", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("`demo`"), "{}", stderr(&unknown));
}

#[test]
fn help_reads_no_config() {
    let out = Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .arg("--help")
        .env("SQLWARDEN_CONFIG_DIR", "/nonexistent/sqlwarden")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("help", stdout(&out));
}

#[test]
fn auth_set_status_delete_round_trip_in_a_private_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("kr_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    std::fs::write(
        dir.path().join("connections.yaml"),
        format!("connections:\n  {name}:\n    engine: postgres\n    host: 127.0.0.1\n    dbname: x\n    user: x\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("policy.yaml"), "sources: {}\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_sqlwarden");
    // A fresh kernel keyring session, so the user's keyring is untouched.
    let script = format!(
        "set -e; B='{bin}'; D='{dir}'; \
         printf 's3cret-value\\n' | \"$B\" --config-dir \"$D\" auth set {name} --stdin; \
         \"$B\" --config-dir \"$D\" auth status {name}; \
         \"$B\" --config-dir \"$D\" auth delete {name}; \
         \"$B\" --config-dir \"$D\" auth status {name}",
        dir = dir.path().display()
    );
    let out = Command::new("keyctl")
        .args(["session", "-", "sh", "-c", &script])
        .env_remove("PGPASSWORD")
        .output()
        .expect("keyctl (Debian package keyutils) is needed for this test");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("Stored the secret"), "{text}");
    assert!(lines[1].contains("OS keyring"), "{text}");
    assert!(lines[2].starts_with("Deleted the secret"), "{text}");
    assert!(lines[3].contains("no secret stored"), "{text}");
    assert!(!format!("{text}{}", stderr(&out)).contains("s3cret"));
}

#[tokio::test]
async fn audit_verify_passes_a_clean_log_and_names_an_edited_record() {
    let fx = Fixture::new("cli_audit", "").await;
    for _ in 0..3 {
        let out = sqlwarden(fx.dir.path(), &["call", "list_sources"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let audit_dir = fx.dir.path().join("audit");
    let dir_arg = audit_dir.to_str().unwrap();
    let clean = sqlwarden(fx.dir.path(), &["audit", "verify", "--dir", dir_arg]);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    assert!(stdout(&clean).contains("3 record(s)"), "{}", stdout(&clean));
    assert!(stdout(&clean).contains("intact"));

    let file = std::fs::read_dir(&audit_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("list_sources", "list_sourcez", 1)).unwrap();
    let broken = sqlwarden(fx.dir.path(), &["audit", "verify", "--dir", dir_arg]);
    assert_eq!(broken.status.code(), Some(1));
    let message = stderr(&broken);
    assert!(message.contains("broken"), "{message}");
    assert!(message.contains(":1"), "names the line: {message}");
}
