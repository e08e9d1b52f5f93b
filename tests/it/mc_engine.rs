//! Tests: sqlwarden's MaxCompute engine against the in-repo emulator (which
//! pyodps proves speaks the real protocol, see `pyodps.rs`).
//!
//! Every request here is really signed, sent over HTTP, and checked by the
//! emulator's own verifier; results come through the real instance tunnel
//! (or the `?result` CSV). `run` and `estimate` take a `CheckedQuery`, which
//! only the gate makes; until the gate speaks the MaxCompute dialect, the
//! SQL job path is driven here through `max_partition` (a real `MAX_PT` job:
//! create, poll, tunnel download with CRC checks), and `run`/`estimate` are
//! covered by unit tests in `src/engine/maxcompute`.

use std::collections::BTreeMap;

use sqlwarden::config::MaxComputeConnection;
use sqlwarden::engine::maxcompute::MaxComputeEngine;
use sqlwarden::engine::{Engine, PageRequest};
use sqlwarden::error::ErrorCode;
use sqlwarden::secrets::{MaxComputeKeys, Secret};

use crate::support::maxcompute::{fixture, EmulatorHandle, SignatureVersion};

fn connection(emu: &EmulatorHandle, project: &str) -> MaxComputeConnection {
    MaxComputeConnection {
        endpoint: emu.endpoint(),
        project: project.into(),
        region: None,
        schema: None,
        tunnel_endpoint: None,
        settings: BTreeMap::new(),
    }
}

fn keys(id: &str, secret: &str, token: Option<&str>) -> Option<MaxComputeKeys> {
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

    let missing = engine
        .list_partitions("demo.nope", PageRequest::default())
        .await
        .expect_err("no such table");
    assert_eq!(missing.code, ErrorCode::BackendError);
}

#[tokio::test]
async fn max_partition_runs_max_pt_with_forced_settings_and_skips_empty_partitions() {
    let emu = start().await;
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
    assert!(emu
        .requests()
        .iter()
        .any(|r| r.tunnel && r.params.contains_key("downloadid")));
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
