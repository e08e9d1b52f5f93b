//! `sqlwarden check` as a doctor, run as the built binary: against the real
//! PostgreSQL as the superuser (loud privilege warnings, exit 0) and as a
//! least-privilege login (clean), with a policy that names dropped tables
//! and columns (drift errors, exit 1), and against the MaxCompute emulator
//! (full scans allowed, drift).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::Value;

use crate::support::maxcompute::{fixture, EmulatorHandle};
use crate::support::pg::{self, TestDb};

const SCHEMA_SQL: &str = "CREATE TABLE public.orders (id int PRIMARY KEY, region text, amount numeric, card text, created date);
CREATE TABLE public.customers (customer_id int PRIMARY KEY, name text, phone text);
CREATE TABLE public.scratch (x int);";

/// A policy over the schema above, every entry valid.
const POLICY: &str = "identity:\n  user_id: alice\n  roles: [manager]\n  attributes: {regions: [EAST]}\nsources:\n  crm:\n    tables:\n      public.orders:\n        allowed_columns: [id, region, amount]\n        denied_columns: [card]\n        columns: {amount: total}\n        row_policies:\n          - role: manager\n            predicate: \"region IN (${user.regions})\"\n      public.customers:\n        denied_columns: [phone]\n";

const JOINS: &str = "joins:\n  - id: orders_to_customers\n    source: crm\n    left_table: public.orders\n    right_table: public.customers\n    on: [{left_field: id, right_field: customer_id}]\n    approved: true\n";

fn write_config(dir: &Path, db: &TestDb, user: &str, policy: &str) {
    std::fs::write(
        dir.join("connections.yaml"),
        format!(
            "connections:\n  crm:\n    engine: postgres\n    host: {}\n    port: {}\n    dbname: {}\n    user: {user}\n    sslmode: disable\n",
            pg::host(),
            pg::port(),
            db.name
        ),
    )
    .unwrap();
    std::fs::write(dir.join("policy.yaml"), policy).unwrap();
    std::fs::create_dir_all(dir.join("catalog")).unwrap();
    std::fs::write(dir.join("catalog/joins.yaml"), JOINS).unwrap();
}

async fn check(dir: &Path, json: bool, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"));
    cmd.arg("--config-dir").arg(dir).arg("check");
    if json {
        cmd.arg("--json");
    }
    cmd.env("SQLWARDEN_AUDIT_DIR", dir.join("audit"))
        .env_remove("PGPASSWORD")
        .env_remove("SQLWARDEN_CONFIG_DIR")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .env_remove("ALIBABA_CLOUD_SECURITY_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn check_json(dir: &Path, env: &[(&str, &str)]) -> (Option<i32>, Value) {
    let (code, out, err) = check(dir, true, env).await;
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    (code, report)
}

fn findings<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["connections"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}

async fn schema_db(label: &str) -> TestDb {
    let db = TestDb::create(label).await;
    db.client().await.batch_execute(SCHEMA_SQL).await.unwrap();
    db
}

#[tokio::test]
async fn a_superuser_login_is_a_loud_warning_but_not_a_failure() {
    let db = schema_db("doctor_super").await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &db, "postgres", POLICY);

    let (code, report) = check_json(dir.path(), &[]).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["problems"], 0, "{report:#}");
    let privileges = findings(&report, "privilege");
    let text: Vec<&str> = privileges
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    for expected in [
        "is a superuser",
        "has CREATEROLE",
        "has CREATEDB",
        "has BYPASSRLS",
        "`pg_read_server_files`",
        "`pg_write_server_files`",
        "`pg_execute_server_program`",
        "can INSERT, UPDATE, DELETE or TRUNCATE 3 table(s)",
        "can CREATE schemas in the database",
        "can CREATE objects in schema(s): public",
    ] {
        assert!(
            text.iter().any(|t| t.contains(expected)),
            "{expected}: {text:#?}"
        );
    }
    for finding in &privileges {
        assert_eq!(finding["level"], "warning");
        assert!(finding["hint"]
            .as_str()
            .unwrap()
            .contains("sqlwarden grants --emit-sql --source crm"));
    }
    assert_eq!(
        report["warnings"].as_u64().unwrap() as usize,
        privileges.len() + findings(&report, "engine").len()
    );
    assert!(findings(&report, "drift").is_empty(), "{report:#}");

    let (code, text, _) = check(dir.path(), false, &[]).await;
    assert_eq!(code, Some(0));
    assert!(
        text.contains("WARNING: the login can write or escape policy"),
        "{text}"
    );
    assert!(
        text.contains("hint: Connect as a login with SELECT grants only"),
        "{text}"
    );
}

#[tokio::test]
async fn a_least_privilege_login_is_clean() {
    let db = schema_db("doctor_least").await;
    let role = format!("sqlwarden_doctor_{}", std::process::id());
    let admin = db.client().await;
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN;
             GRANT SELECT (id, region, amount, created) ON public.orders TO {role};
             GRANT SELECT (customer_id, name) ON public.customers TO {role};"
        ))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &db, &role, POLICY);

    let (code, report) = check_json(dir.path(), &[]).await;
    admin
        .batch_execute(&format!("DROP OWNED BY {role}"))
        .await
        .unwrap();
    pg::connect("postgres")
        .await
        .batch_execute(&format!("DROP ROLE {role}"))
        .await
        .unwrap();
    assert_eq!(code, Some(0), "{report:#}");
    let connection = &report["connections"][0];
    assert_eq!(connection["reachable"], true);
    assert_eq!(connection["login"], role.as_str());
    assert_eq!(connection["credentials"], "none");
    let unexpected: Vec<&Value> = connection["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] != "engine")
        .collect();
    assert!(unexpected.is_empty(), "{report:#}");
    assert_eq!(report["problems"], 0);
}

#[tokio::test]
async fn policy_naming_dropped_objects_is_drift_and_fails() {
    let db = schema_db("doctor_drift").await;
    let dir = tempfile::tempdir().unwrap();
    let policy = format!(
        "{POLICY}      public.scratch: {{}}\n      public.gone:\n        allowed_columns: [x]\n"
    );
    write_config(dir.path(), &db, "postgres", &policy);
    db.client()
        .await
        .batch_execute(
            "ALTER TABLE public.orders DROP COLUMN region, DROP COLUMN card, DROP COLUMN amount;
             ALTER TABLE public.customers RENAME COLUMN customer_id TO id;
             DROP TABLE public.scratch;",
        )
        .await
        .unwrap();

    let (code, report) = check_json(dir.path(), &[]).await;
    assert_eq!(code, Some(1), "{report:#}");
    let drift: Vec<(String, String, String)> = findings(&report, "drift")
        .iter()
        .map(|f| {
            assert_eq!(f["level"], "error");
            let d = &f["drift"];
            (
                d["file"].as_str().unwrap().to_owned(),
                d["entry"].as_str().unwrap().to_owned(),
                d["missing"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let t = |f: &str, e: &str, m: &str| (f.to_owned(), e.to_owned(), m.to_owned());
    assert_eq!(
        drift,
        vec![
            t(
                "policy.yaml",
                "sources.crm.tables.public.gone",
                "table public.gone"
            ),
            t(
                "policy.yaml",
                "sources.crm.tables.public.orders.allowed_columns",
                "column public.orders.region"
            ),
            t(
                "policy.yaml",
                "sources.crm.tables.public.orders.allowed_columns",
                "column public.orders.amount"
            ),
            t(
                "policy.yaml",
                "sources.crm.tables.public.orders.denied_columns",
                "column public.orders.card"
            ),
            t(
                "policy.yaml",
                "sources.crm.tables.public.orders.columns",
                "column public.orders.amount"
            ),
            t(
                "policy.yaml",
                "sources.crm.tables.public.orders.row_policies[0].predicate",
                "column public.orders.region"
            ),
            t(
                "policy.yaml",
                "sources.crm.tables.public.scratch",
                "table public.scratch"
            ),
            t(
                "catalog/joins.yaml",
                "joins.orders_to_customers.on.right_field",
                "column public.customers.customer_id"
            ),
        ]
    );
    assert_eq!(report["problems"], 8);

    let (code, text, err) = check(dir.path(), false, &[]).await;
    assert_eq!(code, Some(1));
    assert!(
        text.contains(
            "drift: policy.yaml `sources.crm.tables.public.gone`: table public.gone does not exist"
        ),
        "{text}"
    );
    assert!(err.contains("8 problem(s)"), "{err}");
}

#[tokio::test]
async fn a_broken_config_is_a_problem_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("connections.yaml"),
        "connections:\n  crm:\n    engine: postgres\n    hots: x\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("policy.yaml"), "sources: {}\n").unwrap();
    let (code, report) = check_json(dir.path(), &[]).await;
    assert_eq!(code, Some(1));
    let errors = report["config_errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    assert!(
        errors[0].as_str().unwrap().contains("connections.yaml:4"),
        "{errors:?}"
    );
}

async fn mc_emulator() -> EmulatorHandle {
    fixture::start(fixture::config()).await
}

fn write_mc_config(dir: &Path, emu: &EmulatorHandle, tables: &str) {
    std::fs::write(
        dir.join("connections.yaml"),
        format!(
            "connections:\n  dw:\n    engine: maxcompute\n    endpoint: {}\n    project: demo\n",
            emu.endpoint()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("policy.yaml"),
        format!("sources:\n  dw:\n    tables:\n{tables}"),
    )
    .unwrap();
}

const MC_KEYS: [(&str, &str); 2] = [
    ("SQLWARDEN_DW_ACCESS_KEY_ID", fixture::AK),
    ("SQLWARDEN_DW_ACCESS_KEY_SECRET", fixture::SK),
];

#[tokio::test]
async fn maxcompute_full_scans_are_a_warning_and_drift_an_error() {
    let emu = mc_emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_mc_config(
        dir.path(),
        &emu,
        "      demo.sales:\n        allowed_columns: [id, amount, ds]\n        default_partition: {field: ds, strategy: max_pt}\n      demo.customers: {}\n",
    );
    let (code, report) = check_json(dir.path(), &MC_KEYS).await;
    assert_eq!(code, Some(0), "{report:#}");
    let full_scan = |report: &Value| {
        findings(report, "engine").iter().any(|f| {
            f["message"]
                .as_str()
                .unwrap()
                .contains("odps.sql.allow.fullscan=true")
        })
    };
    assert!(!full_scan(&report), "{report:#}");
    assert_eq!(report["connections"][0]["credentials"], "environment");

    emu.set_project_property("demo", "odps.sql.allow.fullscan", "true");
    write_mc_config(
        dir.path(),
        &emu,
        "      demo.sales:\n        allowed_columns: [id, Amount, gone_column, pt]\n        default_partition: {field: pt, strategy: max_pt}\n      demo.nothing: {}\n",
    );
    let (code, report) = check_json(dir.path(), &MC_KEYS).await;
    assert_eq!(code, Some(1), "{report:#}");
    assert!(full_scan(&report), "{report:#}");
    let missing: Vec<&str> = findings(&report, "drift")
        .iter()
        .map(|f| f["drift"]["missing"].as_str().unwrap())
        .collect();
    assert_eq!(
        missing,
        [
            "table demo.nothing",
            "column demo.sales.gone_column",
            "column demo.sales.pt",
            "column demo.sales.pt"
        ]
    );
    // The doctor asked for every project property, as pyodps does.
    assert!(emu
        .requests()
        .iter()
        .any(|r| r.path.ends_with("/projects/demo")
            && r.params.get("properties").map(String::as_str) == Some("all")));
}
