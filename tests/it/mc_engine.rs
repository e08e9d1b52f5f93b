//! Tests: sqlwarden's MaxCompute engine against the in-repo emulator (which
//! pyodps proves speaks the real protocol, see `pyodps.rs`).
//!
//! Every request here is really signed, sent over HTTP, and checked by the
//! emulator's own verifier; results come through the real instance tunnel
//! (or the `?result` CSV). `run` and `estimate` take a `CheckedQuery`, so
//! their tests go through the real gate with a MaxCompute policy.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlwarden::config::{Config, ConnectionsFile, JoinsFile, MaxComputeConnection, PolicyFile};
use sqlwarden::engine::maxcompute::MaxComputeEngine;
use sqlwarden::engine::{Engine, PageRequest, Progress, RunContext, Truncation};
use sqlwarden::error::{ErrorCode, ToolError};
use sqlwarden::guard::{CheckedQuery, Gate, TableFacts};
use sqlwarden::policy::Policy;
use sqlwarden::secrets::{MaxComputeKeys, Secret};
use tokio_util::sync::CancellationToken;

use crate::support::maxcompute::{fixture, EmulatorHandle, SignatureVersion};

pub(crate) fn connection(emu: &EmulatorHandle, project: &str) -> MaxComputeConnection {
    MaxComputeConnection {
        endpoint: emu.endpoint(),
        project: project.into(),
        region: None,
        schema: None,
        tunnel_endpoint: None,
        settings: BTreeMap::new(),
        acceleration: Default::default(),
        result_read: Default::default(),
    }
}

pub(crate) fn keys(id: &str, secret: &str, token: Option<&str>) -> Option<MaxComputeKeys> {
    Some(MaxComputeKeys {
        access_key_id: id.into(),
        access_key_secret: Secret::new(secret),
        security_token: token.map(Secret::new),
    })
}

fn engine(emu: &EmulatorHandle) -> MaxComputeEngine {
    MaxComputeEngine::new(
        "dw",
        &connection(emu, "demo"),
        keys(fixture::AK, fixture::SK, None),
    )
    .expect("engine")
}

async fn start() -> EmulatorHandle {
    fixture::start(fixture::config()).await
}

#[tokio::test]
async fn table_columns_reads_types_comments_and_partition_keys() {
    let emu = start().await;
    let engine = engine(&emu);
    let columns = engine
        .table_columns("demo.sales")
        .await
        .expect("columns")
        .expect("table exists");
    assert_eq!(columns.len(), 17);
    assert_eq!(columns[0].name, "id");
    assert_eq!(columns[0].type_name, "bigint");
    assert_eq!(columns[0].comment.as_deref(), Some("sale id"));
    assert_eq!(columns[2].type_name, "decimal(10,2)");
    assert_eq!(columns[14].type_name, "array<string>");
    let ds = columns.last().expect("partition key");
    assert_eq!((ds.name.as_str(), ds.partition_key), ("ds", true));
    assert!(columns[..16].iter().all(|c| !c.partition_key));

    assert_eq!(
        engine
            .table_columns("demo.no_such_table")
            .await
            .expect("lookup"),
        None
    );
    // An unqualified key resolves to the connection's project.
    assert_eq!(
        engine
            .table_columns("customers")
            .await
            .expect("lookup")
            .map(|c| c.len()),
        Some(2)
    );
}

#[tokio::test]
async fn tables_and_schemas_are_listed() {
    let emu = start().await;
    let engine = engine(&emu);
    let tables = engine.list_tables("demo", None).await.expect("tables");
    assert_eq!(tables, ["customers", "profiles", "sales"]);
    let schemas = engine.list_schemas("lake").await.expect("schemas");
    assert_eq!(schemas, ["analytics", "default"]);
    let lake = engine
        .list_tables("lake", Some("analytics"))
        .await
        .expect("3-tier tables");
    assert_eq!(lake, ["visits"]);
}

#[tokio::test]
async fn three_tier_tables_are_addressed_with_their_schema() {
    let emu = start().await;
    let engine = MaxComputeEngine::new(
        "lake",
        &connection(&emu, "lake"),
        keys(fixture::AK, fixture::SK, None),
    )
    .expect("engine");
    let columns = engine
        .table_columns("lake.analytics.visits")
        .await
        .expect("columns")
        .expect("table exists");
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["visit_id", "page"]);
    let sent = emu.requests();
    let lookup = sent
        .iter()
        .find(|r| r.path.ends_with("/tables/visits"))
        .expect("table request");
    assert_eq!(
        lookup.params.get("curr_schema").map(String::as_str),
        Some("analytics")
    );
    assert_eq!(
        lookup.params.get("curr_project").map(String::as_str),
        Some("lake")
    );
}

#[tokio::test]
async fn list_partitions_is_newest_first_and_paged() {
    let emu = start().await;
    let engine = engine(&emu);
    let first = engine
        .list_partitions(
            "demo.sales",
            PageRequest {
                marker: None,
                limit: 2,
            },
        )
        .await
        .expect("first page");
    assert_eq!(first.partitions, ["ds=20240103", "ds=20240102"]);
    let marker = first.next_marker.expect("a second page");
    let second = engine
        .list_partitions(
            "demo.sales",
            PageRequest {
                marker: Some(marker),
                limit: 2,
            },
        )
        .await
        .expect("second page");
    assert_eq!(second.partitions, ["ds=20240101"]);
    assert_eq!(second.next_marker, None);

    // More partitions than one server page (10,000): the engine follows
    // the markers before ordering, so the newest come first regardless.
    for i in 0..10_050 {
        emu.add_partition("demo.sales", &format!("ds=3{i:07}"));
    }
    let newest = engine
        .list_partitions(
            "demo.sales",
            PageRequest {
                marker: None,
                limit: 3,
            },
        )
        .await
        .expect("newest page");
    assert_eq!(
        newest.partitions,
        ["ds=30010049", "ds=30010048", "ds=30010047"]
    );
    let pages = emu
        .requests()
        .iter()
        .filter(|r| r.params.contains_key("partitions") && r.params.contains_key("marker"))
        .count();
    assert!(pages >= 1, "the second server page was fetched by marker");

    let missing = engine
        .list_partitions("demo.nope", PageRequest::default())
        .await
        .expect_err("no such table");
    assert_eq!(missing.code, ErrorCode::BackendError);
}

#[tokio::test]
async fn max_partition_runs_max_pt_with_forced_settings_and_skips_empty_partitions() {
    let emu = start().await;
    // Without partition statistics, `MAX_PT` runs as a job.
    emu.faults().hide_partition_stats(true);
    let engine = engine(&emu);
    // 20240103 exists but is empty, so MAX_PT must answer 20240102.
    let newest = engine
        .max_partition("demo.sales", "ds")
        .await
        .expect("max_pt");
    assert_eq!(newest.as_deref(), Some("20240102"));

    let jobs = emu.instances();
    let job = jobs.last().expect("one SQL job");
    assert_eq!(job.task_type, "SQL");
    assert!(job.query.contains("MAX_PT('demo.sales')"), "{}", job.query);
    assert_eq!(
        job.settings.get("odps.sql.read.only").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        job.settings
            .get("odps.sql.allow.fullscan")
            .map(String::as_str),
        Some("false")
    );
    // The rows came through the instance tunnel.
    let sent = emu.requests();
    assert!(sent
        .iter()
        .any(|r| r.tunnel && r.params.contains_key("downloadid")));
    // Every request names its client in the signed header and its project.
    for request in &sent {
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let agent = header("x-odps-user-agent").unwrap_or_default();
        assert!(agent.starts_with("sqlwarden/"), "{request:?}");
        assert_eq!(
            request.params.get("curr_project").map(String::as_str),
            Some("demo")
        );
        if request.tunnel {
            assert_eq!(header("x-odps-tunnel-version"), Some("6"), "{request:?}");
        }
    }
}

#[tokio::test]
async fn connection_settings_are_sent_but_cannot_undo_the_forced_ones() {
    let emu = start().await;
    // Without partition statistics, `MAX_PT` runs as a job.
    emu.faults().hide_partition_stats(true);
    let mut conn = connection(&emu, "demo");
    conn.settings
        .insert("odps.task.wlm.quota".into(), "analysts".into());
    conn.settings
        .insert("odps.sql.read.only".into(), "false".into());
    conn.settings
        .insert("odps.sql.allow.fullscan".into(), "true".into());
    let engine =
        MaxComputeEngine::new("dw", &conn, keys(fixture::AK, fixture::SK, None)).expect("engine");
    engine
        .max_partition("demo.sales", "ds")
        .await
        .expect("max_pt");
    let job = emu.instances().pop().expect("job");
    let settings: Vec<(&str, &str)> = job
        .settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        settings,
        [
            ("odps.sql.allow.fullscan", "false"),
            ("odps.sql.read.only", "true"),
            ("odps.task.wlm.quota", "analysts"),
        ]
    );
}

#[tokio::test]
async fn max_partition_refuses_a_wrong_field_or_an_unpartitioned_table() {
    let emu = start().await;
    let engine = engine(&emu);
    let wrong = engine
        .max_partition("demo.sales", "day")
        .await
        .expect_err("not the key");
    assert_eq!(wrong.code, ErrorCode::BackendError);
    assert!(
        wrong.hint.contains("default_partition.field: ds"),
        "{}",
        wrong.hint
    );
    let flat = engine
        .max_partition("demo.customers", "region_code")
        .await
        .expect_err("flat");
    assert!(flat.hint.contains("not partitioned"), "{}", flat.hint);
    assert!(
        emu.instances().is_empty(),
        "no job may run for a refused table"
    );
}

#[tokio::test]
async fn the_result_csv_is_read_when_the_tunnel_refuses() {
    let emu = start().await;
    // Without partition statistics, `MAX_PT` runs as a job.
    emu.faults().hide_partition_stats(true);
    emu.faults().refuse_tunnel_downloads(true);
    let engine = engine(&emu);
    let newest = engine
        .max_partition("demo.sales", "ds")
        .await
        .expect("max_pt via ?result");
    assert_eq!(newest.as_deref(), Some("20240102"));
    assert!(emu
        .requests()
        .iter()
        .any(|r| r.params.contains_key("result")));
}

#[tokio::test]
async fn a_truncated_tunnel_stream_is_an_error_not_a_short_answer() {
    let emu = start().await;
    // Without partition statistics, `MAX_PT` runs as a job.
    emu.faults().hide_partition_stats(true);
    emu.faults().truncate_tunnel(true);
    let error = engine(&emu)
        .max_partition("demo.sales", "ds")
        .await
        .expect_err("truncated");
    assert_eq!(error.code, ErrorCode::BackendError);
    assert!(error.message.contains("damaged"), "{}", error.message);
    assert!(
        error.message.contains("no rows were returned"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_corrupted_tunnel_checksum_is_an_error() {
    let emu = start().await;
    // Without partition statistics, `MAX_PT` runs as a job.
    emu.faults().hide_partition_stats(true);
    emu.faults().corrupt_tunnel_crc(true);
    let error = engine(&emu)
        .max_partition("demo.sales", "ds")
        .await
        .expect_err("bad crc");
    assert_eq!(error.code, ErrorCode::BackendError);
    assert!(error.message.contains("CRC32C"), "{}", error.message);
}

#[tokio::test]
async fn a_failed_task_keeps_the_server_message_as_untrusted_detail() {
    let emu = start().await;
    // Without partition statistics, `MAX_PT` runs as a job.
    emu.faults().hide_partition_stats(true);
    emu.faults()
        .fail_next_task("ODPS-0130161:[1,8] Parse exception - invalid token 'x'");
    let error = engine(&emu)
        .max_partition("demo.sales", "ds")
        .await
        .expect_err("failed task");
    assert_eq!(error.code, ErrorCode::BackendError);
    let detail = error.untrusted_detail.expect("server text");
    assert!(detail.contains("ODPS-0130161"), "{detail}");
    assert!(
        !error.message.contains("invalid token"),
        "server text stays out of the message"
    );
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried() {
    let emu = start().await;
    let engine = engine(&emu);
    emu.faults().server_errors("tables/customers", 2, 503);
    assert!(engine
        .table_columns("demo.customers")
        .await
        .expect("after retries")
        .is_some());
    emu.faults().qps_exceeded("tables/customers", 2);
    assert!(engine
        .table_columns("demo.customers")
        .await
        .expect("after retries")
        .is_some());
    let attempts = emu
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/tables/customers"))
        .count();
    assert_eq!(attempts, 6, "two failures and one success, twice");
}

#[tokio::test]
async fn persistent_server_errors_are_backend_unavailable() {
    let emu = start().await;
    emu.faults().server_errors("tables/customers", 100, 500);
    let error = engine(&emu)
        .table_columns("demo.customers")
        .await
        .expect_err("keeps failing");
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
    assert!(
        error.message.contains("InternalServerError"),
        "{}",
        error.message
    );
    let attempts = emu
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/tables/customers"))
        .count();
    assert_eq!(attempts, 4, "bounded retries");
}

#[tokio::test]
async fn a_wrong_secret_is_credentials_missing_with_the_fix() {
    let emu = start().await;
    let engine = MaxComputeEngine::new(
        "dw",
        &connection(&emu, "demo"),
        keys(fixture::AK, "wrong", None),
    )
    .expect("engine");
    let error = engine
        .table_columns("demo.sales")
        .await
        .expect_err("bad signature");
    assert_eq!(error.code, ErrorCode::CredentialsMissing);
    assert!(
        error.hint.contains("sqlwarden auth set dw"),
        "{}",
        error.hint
    );
    assert!(
        !format!("{error:?}").contains("wrong"),
        "the secret never appears in an error"
    );
}

#[tokio::test]
async fn v4_signatures_and_sts_tokens_are_accepted() {
    let emu = start().await;
    // Without partition statistics, `MAX_PT` runs as a job.
    emu.faults().hide_partition_stats(true);
    let mut conn = connection(&emu, "demo");
    conn.region = Some("cn-hangzhou".into());
    let engine = MaxComputeEngine::new(
        "dw",
        &conn,
        keys(fixture::STS_AK, fixture::STS_SK, Some(fixture::STS_TOKEN)),
    )
    .expect("engine");
    let newest = engine
        .max_partition("demo.sales", "ds")
        .await
        .expect("V4 + STS");
    assert_eq!(newest.as_deref(), Some("20240102"));
    let sent = emu.requests();
    assert!(sent
        .iter()
        .filter(|r| !r.tunnel)
        .all(|r| r.signature == Some(SignatureVersion::V4)));
    // pyodps signs the tunnel plane V2; so does sqlwarden (protocol doc §8.1).
    assert!(sent
        .iter()
        .filter(|r| r.tunnel)
        .all(|r| r.signature == Some(SignatureVersion::V2)));

    let no_token = MaxComputeEngine::new("dw", &conn, keys(fixture::STS_AK, fixture::STS_SK, None))
        .expect("engine");
    let error = no_token
        .table_columns("demo.sales")
        .await
        .expect_err("token missing");
    assert_eq!(error.code, ErrorCode::CredentialsMissing);
}

#[tokio::test]
async fn probe_reports_the_project() {
    let emu = start().await;
    let report = engine(&emu).probe().await.expect("probe");
    assert!(
        report.server_version.contains("`demo`"),
        "{}",
        report.server_version
    );
    assert!(
        report.login.contains("****") || report.login.ends_with("****"),
        "{}",
        report.login
    );
    assert!(!report.login.contains(fixture::SK));
    assert!(report
        .warnings
        .iter()
        .any(|w| w.contains("odps.sql.read.only")));
}

/// A policy for source `dw` (project `demo`) on the emulator, with
/// `defaults` as given.
pub(crate) fn policy(emu: &EmulatorHandle, defaults: &str) -> Policy {
    let tables = "      demo.sales:\n        require_partition_filter: true\n        default_partition: {field: ds, strategy: max_pt}\n      demo.customers: {}\n";
    policy_for(emu, "demo", defaults, tables)
}

pub(crate) fn policy_for(
    emu: &EmulatorHandle,
    project: &str,
    defaults: &str,
    tables: &str,
) -> Policy {
    let connections = format!(
        "connections:\n  dw:\n    engine: maxcompute\n    endpoint: {}\n    project: {project}\n",
        emu.endpoint()
    );
    let policy = format!(
        "identity:\n  user_id: alice\n  roles: [analyst]\ndefaults: {defaults}\nsecurity:\n  ban_select_star: true\nsources:\n  dw:\n    tables:\n{tables}"
    );
    Policy::new(Config {
        dir: ".".into(),
        connections: serde_saphyr::from_str::<ConnectionsFile>(&connections).expect("connections"),
        policy: serde_saphyr::from_str::<PolicyFile>(&policy).expect("policy"),
        joins: JoinsFile::default(),
        ..Default::default()
    })
}

/// Pass `sql` through the gate, with column facts and the default
/// partition from the engine itself (as the tools gather them).
pub(crate) async fn checked(
    engine: &MaxComputeEngine,
    policy: &Policy,
    sql: &str,
    limit: Option<u64>,
) -> Result<CheckedQuery, ToolError> {
    let rules = policy.source("dw").expect("source dw");
    let gate = Gate::new(&rules);
    let prepared = gate.prepare(sql)?;
    let mut facts = TableFacts::default();
    for table in prepared.tables() {
        let columns = engine.table_columns(table).await?.expect("table exists");
        facts
            .columns
            .insert(table.clone(), columns.into_iter().map(|c| c.name).collect());
        if table == "demo.sales" {
            let newest = engine.max_partition(table, "ds").await?.expect("data");
            facts.default_partitions.insert(table.clone(), newest);
        }
    }
    gate.check(prepared, &facts, limit)
}

const TYPED: &str = "SELECT id, amount, price, name, code, flag, created, day, tiny, qty, small, ratio, tag, raw, tags, ts \
                     FROM demo.sales WHERE ds = '20240102' ORDER BY id";

#[tokio::test]
async fn run_returns_every_type_without_loss_through_the_tunnel() {
    let emu = start().await;
    let engine = engine(&emu);
    let policy = policy(&emu, "{}");
    let query = checked(&engine, &policy, TYPED, None).await.expect("gate");
    let result = engine
        .run(&query, RunContext::default())
        .await
        .expect("run");
    let types: Vec<&str> = result
        .columns
        .iter()
        .map(|c| c.type_name.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "bigint",
            "double",
            "decimal(10,2)",
            "string",
            "varchar(8)",
            "boolean",
            "datetime",
            "date",
            "tinyint",
            "int",
            "smallint",
            "float",
            "char(3)",
            "binary",
            "array<string>",
            "timestamp"
        ]
    );
    assert_eq!(result.rows.len(), 3);
    assert_eq!(result.truncation, None);
    assert_eq!(
        result.rows.to_vec()[0],
        vec![
            json!(1),
            json!(2.5),
            json!("12.34"),
            json!("alice"),
            json!("A-1"),
            json!(true),
            json!("2024-01-02T03:04:05.678Z"),
            json!("2024-01-02"),
            json!(7),
            json!(100),
            json!(1000),
            json!(0.5),
            json!("abc"),
            json!("AAH/"),
            json!(["x", "y"]),
            json!("2024-01-02T03:04:05.123456000Z"),
        ]
    );
    let mut bob = vec![Value::Null; 16];
    bob[0] = json!(2);
    bob[3] = json!("bob");
    bob[5] = json!(false);
    assert_eq!(result.rows.to_vec()[1], bob, "NULLs stay null");
    assert_eq!(result.rows.to_vec()[2][3], json!("carol \"c\", 中文"));
    assert_eq!(result.rows.to_vec()[2][7], json!("1969-12-31"));
    assert_eq!(result.rows.to_vec()[2][14], json!(["z", null]));
    assert_eq!(
        result.engine_metadata["result_source"],
        json!("instance_tunnel")
    );
    assert!(result.engine_metadata.contains_key("instance_id"));

    // What ran is the gate's rendering, with only policy settings.
    let job = emu.instances().pop().expect("job");
    assert_eq!(job.query.trim_end_matches(';'), query.sql());
    let keys: Vec<&str> = job.settings.keys().map(String::as_str).collect();
    assert_eq!(keys, ["odps.sql.allow.fullscan", "odps.sql.read.only"]);
}

#[tokio::test]
async fn run_returns_maps_structs_and_nested_arrays() {
    let emu = start().await;
    let engine = engine(&emu);
    let policy = policy_for(&emu, "demo", "{}", "      demo.profiles: {}\n");
    let sql = "SELECT id, attrs, info, history FROM demo.profiles ORDER BY id";
    let query = checked(&engine, &policy, sql, None).await.expect("gate");
    let result = engine
        .run(&query, RunContext::default())
        .await
        .expect("run");
    // The same rows pyodps's tunnel reader decodes in `pyodps.rs`.
    assert_eq!(
        result.rows,
        vec![
            vec![
                json!(1),
                json!({"a": 1, "b": null}),
                json!({"city": "Hangzhou", "zip": 310000}),
                json!([{"day": "2024-01-01", "score": 1.5}, null]),
            ],
            vec![
                json!(2),
                Value::Null,
                json!({"city": null, "zip": 1}),
                Value::Null
            ],
        ]
    );
}

#[tokio::test]
async fn run_reads_a_three_tier_table_with_the_namespace_settings() {
    let emu = start().await;
    let engine = MaxComputeEngine::new(
        "dw",
        &connection(&emu, "lake"),
        keys(fixture::AK, fixture::SK, None),
    )
    .expect("engine");
    let policy = policy_for(&emu, "lake", "{}", "      lake.analytics.visits: {}\n");
    let sql = "SELECT visit_id, page FROM lake.analytics.visits ORDER BY visit_id";
    let query = checked(&engine, &policy, sql, None).await.expect("gate");
    let result = engine
        .run(&query, RunContext::default())
        .await
        .expect("run");
    assert_eq!(
        result.rows,
        vec![
            vec![json!(1), json!("/home")],
            vec![json!(2), json!("/cart")]
        ]
    );
    let job = emu.instances().pop().expect("job");
    assert_eq!(
        job.settings
            .get("odps.namespace.schema")
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(
        job.settings
            .get("odps.sql.allow.namespace.schema")
            .map(String::as_str),
        Some("true")
    );
}

#[tokio::test]
async fn run_applies_the_row_limit_with_one_extra_row() {
    let emu = start().await;
    let engine = engine(&emu);
    let policy = policy(&emu, "{}");
    let query = checked(&engine, &policy, TYPED, Some(2))
        .await
        .expect("gate");
    let result = engine
        .run(&query, RunContext::default())
        .await
        .expect("run");
    assert_eq!(result.rows.len(), 2);
    assert_eq!(result.truncation, Some(Truncation::RowLimit));
    let ids: Vec<Value> = result.rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, [json!(1), json!(2)]);
}

#[tokio::test]
async fn run_applies_the_cell_and_result_byte_caps() {
    let emu = start().await;
    let engine = engine(&emu);
    let cells = policy(&emu, "{max_cell_bytes: 3}");
    let sql = "SELECT name FROM demo.sales WHERE ds = '20240102' ORDER BY id";
    let query = checked(&engine, &cells, sql, None).await.expect("gate");
    let result = engine
        .run(&query, RunContext::default())
        .await
        .expect("run");
    assert_eq!(result.rows.to_vec()[0], vec![json!("ali")]);
    // "alice" and "carol …" are cut; "bob" fits.
    assert_eq!(result.cells_truncated, 2);

    let bytes = policy(&emu, "{max_result_bytes: 20}");
    let query = checked(&engine, &bytes, sql, None).await.expect("gate");
    let result = engine
        .run(&query, RunContext::default())
        .await
        .expect("run");
    assert_eq!(result.truncation, Some(Truncation::ResultBytes));
    assert_eq!(
        result.rows.len(),
        2,
        "[\"alice\"] and [\"bob\"] fit in 20 bytes"
    );
    assert!(result.bytes <= 20);
}

#[tokio::test]
async fn run_falls_back_to_result_csv_when_the_tunnel_refuses() {
    let emu = start().await;
    let engine = engine(&emu);
    let policy = policy(&emu, "{}");
    let sql = "SELECT id, name, code FROM demo.sales WHERE ds = '20240102' ORDER BY id";
    let query = checked(&engine, &policy, sql, Some(2)).await.expect("gate");
    emu.faults().refuse_tunnel_downloads(true);
    let result = engine
        .run(&query, RunContext::default())
        .await
        .expect("run");
    assert_eq!(result.engine_metadata["result_source"], json!("result_csv"));
    assert_eq!(
        result.rows,
        vec![
            vec![json!("1"), json!("alice"), json!("A-1")],
            vec![json!("2"), json!("bob"), Value::Null]
        ]
    );
    assert_eq!(result.truncation, Some(Truncation::RowLimit));
    assert!(result.columns.iter().all(|c| c.type_name == "string"));
}

#[tokio::test]
async fn job_creation_is_retried_when_throttled_but_never_after_a_server_error() {
    let emu = start().await;
    let engine = engine(&emu);
    let policy = policy(&emu, "{}");
    let query = checked(&engine, &policy, TYPED, Some(1))
        .await
        .expect("gate");
    let posts = |emu: &EmulatorHandle| {
        emu.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/instances"))
            .count()
    };
    let before = posts(&emu);
    emu.faults().qps_exceeded("instances", 1);
    let result = engine
        .run(&query, RunContext::default())
        .await
        .expect("after throttling");
    assert_eq!(result.rows.len(), 1);
    assert_eq!(posts(&emu) - before, 2, "throttled, then accepted");

    // A 5xx on POST may have created the instance: no second, billed copy.
    let before = posts(&emu);
    emu.faults().server_errors("instances", 1, 500);
    let error = engine
        .run(&query, RunContext::default())
        .await
        .expect_err("5xx");
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
    assert_eq!(posts(&emu) - before, 1, "not retried");
}

#[tokio::test]
async fn a_job_past_its_timeout_is_terminated() {
    let emu = start().await;
    let engine = engine(&emu);
    let policy = policy(&emu, "{query_timeout_seconds: 2}");
    let query = checked(&engine, &policy, TYPED, None).await.expect("gate");
    emu.faults().hang_instances(true);
    let reports = Arc::new(Mutex::new(Vec::<Progress>::new()));
    let sink = reports.clone();
    let ctx = RunContext {
        cancel: CancellationToken::new(),
        progress: Some(Arc::new(move |p| sink.lock().expect("sink").push(p))),
    };
    let started = Instant::now();
    let error = engine.run(&query, ctx).await.expect_err("timeout");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(error.code, ErrorCode::QueryTimeout);
    assert!(
        error.message.contains("was terminated"),
        "{}",
        error.message
    );
    let job = emu.instances().pop().expect("job");
    assert!(job.terminate_requested, "the instance must be terminated");
    let reports = reports.lock().expect("reports");
    assert!(!reports.is_empty(), "progress while the job ran");
    assert_eq!(reports[0].total, Some(2.0));
    assert!(reports[0].message.contains(&job.id));
}

#[tokio::test]
async fn slow_status_answers_run_into_the_timeout_and_terminate() {
    let emu = start().await;
    let engine = engine(&emu);
    let policy = policy(&emu, "{query_timeout_seconds: 2}");
    let query = checked(&engine, &policy, TYPED, None).await.expect("gate");
    emu.faults().delay("instancestatus", Duration::from_secs(5));
    let started = Instant::now();
    let error = engine
        .run(&query, RunContext::default())
        .await
        .expect_err("timeout");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the deadline holds during a slow request"
    );
    assert_eq!(error.code, ErrorCode::QueryTimeout);
    assert!(emu.instances().pop().expect("job").terminate_requested);
}

#[tokio::test]
async fn a_job_created_after_the_deadline_is_still_terminated() {
    let emu = start().await;
    let engine = engine(&emu);
    let policy = policy(&emu, "{query_timeout_seconds: 1}");
    let query = checked(&engine, &policy, TYPED, None).await.expect("gate");
    let jobs_before = emu.instances().len();
    // Only the create request (`/instances?…`) is slow.
    emu.faults().delay("instances?", Duration::from_secs(3));
    let error = engine
        .run(&query, RunContext::default())
        .await
        .expect_err("timeout");
    assert_eq!(error.code, ErrorCode::QueryTimeout);
    assert!(
        error.message.contains("was terminated"),
        "{}",
        error.message
    );
    let jobs = emu.instances();
    assert_eq!(jobs.len(), jobs_before + 1);
    assert!(jobs.last().expect("job").terminate_requested);
}

#[tokio::test]
async fn a_cancelled_job_is_terminated() {
    let emu = start().await;
    let engine = engine(&emu);
    let policy = policy(&emu, "{}");
    let query = checked(&engine, &policy, TYPED, None).await.expect("gate");
    emu.faults().hang_instances(true);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        trigger.cancel();
    });
    let ctx = RunContext {
        cancel,
        progress: None,
    };
    let error = engine.run(&query, ctx).await.expect_err("cancelled");
    assert_eq!(error.code, ErrorCode::QueryTimeout);
    assert!(error.message.contains("cancelled"), "{}", error.message);
    assert!(emu.instances().pop().expect("job").terminate_requested);
}

#[tokio::test]
async fn estimate_runs_a_sqlcost_task() {
    let emu = start().await;
    let engine = engine(&emu);
    let policy = policy(&emu, "{}");
    let query = checked(&engine, &policy, TYPED, None).await.expect("gate");
    let estimate = engine.estimate(&query).await.expect("estimate");
    let input = estimate.input_bytes.expect("input bytes");
    assert!(input > 0);
    assert_eq!(estimate.cost, Some(1.0));
    let price = estimate.details["estimated_price_cny"]
        .as_f64()
        .expect("price");
    let expected = input as f64 / 1_073_741_824.0 * 0.3;
    assert!((price - expected).abs() < 0.0001, "{price} vs {expected}");
    let job = emu.instances().pop().expect("job");
    assert_eq!(job.task_type, "SQLCost");
    assert_eq!(
        job.settings.get("odps.sql.read.only").map(String::as_str),
        Some("true")
    );
}

#[tokio::test]
async fn a_server_side_full_scan_refusal_is_partition_filter_required() {
    let emu = start().await;
    let engine = engine(&emu);
    // Ask the emulator to fail the next task the way MaxCompute refuses a
    // full scan (the gate already stops these; this is the backstop).
    emu.faults().fail_next_task(
        "ODPS-0130071:[0,0] Semantic analysis exception - physical plan generation failed: \
         java.lang.RuntimeException: Table(demo,sales) is full scan with all partitions, please specify partition predicates.",
    );
    let policy = policy(&emu, "{}");
    let query = checked(
        &engine,
        &policy,
        "SELECT customer_id FROM demo.customers",
        None,
    )
    .await
    .expect("gate");
    let error = engine
        .run(&query, RunContext::default())
        .await
        .expect_err("refused");
    assert_eq!(error.code, ErrorCode::PartitionFilterRequired);
}

/// Text that MaxCompute's lexer and the gate's parser cut differently
/// (backslash escapes in both quote styles, double-quoted strings, doubled
/// backticks, comments and hints) never runs as something the gate did not
/// check: each variant is refused, or run on the emulator (whose lexer
/// gives tokens their MaxCompute meaning) without returning the denied
/// `region_code`.
#[tokio::test]
async fn lexer_confusions_never_run_unchecked_sql_on_maxcompute() {
    let emu = start().await;
    let engine = engine(&emu);
    let tables = "      demo.customers:\n        denied_columns: [region_code]\n";
    let policy = policy_for(&emu, "demo", "{}", tables);
    let fragments: &[(&str, &str)] = &[
        (r"'a\'", "'"),
        (r#""a\""#, "\""),
        ("\"a", "\""),
        ("'a''", "'"),
        ("`a``", "`"),
        ("/*", "*/"),
        ("/*+", "*/"),
        ("--", "\n"),
        ("q'[", "]'"),
    ];
    let positions = [
        "SELECT customer_id AS {} FROM demo.customers",
        "SELECT customer_id, {} AS t FROM demo.customers",
        "SELECT customer_id FROM demo.customers WHERE customer_id = {}",
        "SELECT lower({}) AS l FROM demo.customers",
    ];
    let payloads = [
        ", region_code FROM demo.customers --",
        ", (SELECT max(region_code) FROM demo.customers) AS r FROM demo.customers --",
    ];
    let (mut accepted, mut refused) = (0, 0);
    for (open, close) in fragments {
        for position in positions {
            for payload in payloads {
                let sql = position.replace("{}", &format!("{open}{payload}{close}"));
                let query = match checked(&engine, &policy, &sql, None).await {
                    Ok(query) => query,
                    Err(e) => {
                        assert!(
                            ["SQL_PARSE_ERROR", "GATE_MISMATCH", "COLUMN_NOT_ALLOWED"]
                                .contains(&e.code.as_str()),
                            "{sql}: {} {}",
                            e.code,
                            e.message
                        );
                        refused += 1;
                        continue;
                    }
                };
                accepted += 1;
                let text = match engine.run(&query, RunContext::default()).await {
                    Ok(result) => serde_json::to_string(&result.rows).expect("rows serialize"),
                    Err(e) => format!("{} {:?}", e.code, e.untrusted_detail),
                };
                for region in ["EAST", "NORTH", "WEST"] {
                    assert!(
                        !text.contains(region),
                        "{sql}\nran as {}\nand returned {region}",
                        query.sql()
                    );
                }
            }
        }
    }
    eprintln!("maxcompute lexer family: {accepted} accepted and run safely, {refused} refused");
    assert!(accepted + refused >= 72);
}
