//! Tests: MaxCompute at interactive speed against the emulator — MaxQA with
//! its fallbacks, long-poll waiting, inline results against the tunnel,
//! the tunnel-session budget, and `max_pt` from partition statistics.
//!
//! The emulator's MaxQA routes are proven against pyodps in `pyodps.rs`;
//! here sqlwarden's engine is judged by them, and every request it sends
//! must pass the emulator's own signature verifier.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlwarden::config::{AccelerationMode, MaxComputeConnection, ResultRead};
use sqlwarden::engine::maxcompute::MaxComputeEngine;
use sqlwarden::engine::{Engine, RunContext, Truncation};
use sqlwarden::error::ErrorCode;
use tokio_util::sync::CancellationToken;

use crate::mc_engine::{checked, connection, keys, policy};
use crate::support::maxcompute::{
    fixture, EmulatorHandle, JobTime, Mode, RecordedRequest, TableSpec,
};

const SMALL: &str =
    "SELECT id, amount, price, name, flag, day, qty FROM demo.sales WHERE ds = '20240102' ORDER BY id";

fn maxqa_connection(emu: &EmulatorHandle, quota: &str, fallback: bool) -> MaxComputeConnection {
    let mut conn = connection(emu, "demo");
    conn.acceleration.mode = AccelerationMode::Maxqa;
    conn.acceleration.interactive_quota = Some(quota.into());
    conn.acceleration.fallback = fallback;
    conn.acceleration.fallback_quota = Some(fixture::BATCH_QUOTA.into());
    conn
}

fn engine_for(conn: &MaxComputeConnection) -> MaxComputeEngine {
    MaxComputeEngine::new("dw", conn, keys(fixture::AK, fixture::SK, None)).expect("engine")
}

/// Requests from `from` on, without the tenant and lookups made once.
fn sent_since(emu: &EmulatorHandle, from: usize) -> Vec<RecordedRequest> {
    emu.requests().split_off(from)
}

fn describe(requests: &[RecordedRequest]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            let flags: Vec<&str> = r
                .params
                .keys()
                .filter(|k| !k.starts_with("curr_"))
                .map(String::as_str)
                .collect();
            format!(
                "{} {}?{} -> {}",
                r.method,
                r.path,
                flags.join("&"),
                r.status
            )
        })
        .collect()
}

/// Every request was signed and accepted by the emulator's verifier.
fn all_signed(emu: &EmulatorHandle) {
    for r in emu.requests() {
        assert!(r.signature.is_some(), "unsigned or refused: {r:?}");
    }
}

#[tokio::test]
async fn an_offline_small_query_is_seen_as_soon_as_it_ends() {
    let job = Duration::from_millis(400);
    let config = fixture::config().job_times(
        JobTime::new(Duration::from_millis(100), job - Duration::from_millis(100)),
        JobTime::default(),
    );
    let emu = fixture::start(config).await;
    let mut conn = connection(&emu, "demo");
    conn.result_read = ResultRead::Inline;
    let engine = engine_for(&conn);
    let policy = policy(&emu, "{}");
    let query = checked(&engine, &policy, SMALL, Some(10))
        .await
        .expect("gate");
    let from = emu.requests().len();
    let started = Instant::now();
    let result = engine
        .run(&query, RunContext::default())
        .await
        .expect("run");
    let took = started.elapsed();
    assert_eq!(result.rows.len(), 3);
    assert!(
        took < job + Duration::from_millis(150),
        "job time + at most 150 ms, took {took:?}"
    );
    let sent = sent_since(&emu, from);
    let id = result.engine_metadata["instance_id"].as_str().expect("id");
    assert_eq!(
        describe(&sent),
        [
            "POST /projects/demo/instances? -> 201".to_string(),
            format!("GET /projects/demo/instances/{id}?instancestatus -> 200"),
            format!("GET /projects/demo/instances/{id}?result -> 200"),
        ],
        "create, one held status poll, one ?result"
    );
    assert_eq!(result.engine_metadata["execution_mode"], "offline");
    assert_eq!(result.engine_metadata["result_source"], "result_csv");
    // Inline offline rows carry no types: text, as `result_read: inline` says.
    assert_eq!(result.rows.to_vec()[0][0], json!("1"));
    all_signed(&emu);
}

#[tokio::test]
async fn a_maxqa_small_query_takes_two_requests_and_keeps_its_types() {
    let emu = fixture::start(fixture::config()).await;
    let conn = maxqa_connection(&emu, fixture::MAXQA_QUOTA, true);
    let engine = engine_for(&conn);
    let policy = policy(&emu, "{}");
    let query = checked(&engine, &policy, SMALL, Some(10))
        .await
        .expect("gate");
    let first = engine
        .run(&query, RunContext::default())
        .await
        .expect("first");
    let lookups = emu
        .requests()
        .iter()
        .filter(|r| r.path == "/connection/mcqa")
        .count();
    assert_eq!(lookups, 1, "the connection is looked up once");
    let from = emu.requests().len();
    let second = engine
        .run(&query, RunContext::default())
        .await
        .expect("second");
    let sent = sent_since(&emu, from);
    assert_eq!(sent.len(), 2, "{:#?}", describe(&sent));
    assert_eq!(sent[0].path, "/mcqa/projects/demo/instances");
    assert!(sent[1].params.contains_key("instancestatus"));
    let cookie = sent[1]
        .headers
        .iter()
        .find(|(n, _)| n == "x-odps-mcqa-query-cookie")
        .expect("cookie echoed");
    assert!(!cookie.1.is_empty());
    for result in [&first, &second] {
        assert_eq!(result.engine_metadata["execution_mode"], "maxqa");
        assert_eq!(result.engine_metadata["quota"], fixture::MAXQA_QUOTA);
        assert_eq!(result.engine_metadata["result_source"], "maxqa_inline");
        let id = result.engine_metadata["instance_id"].as_str().expect("id");
        assert!(id.ends_with("_mcqa"), "{id}");
    }
    // The same rows and types the tunnel gives an offline run.
    let offline = engine_for(&connection(&emu, "demo"))
        .run(&query, RunContext::default())
        .await
        .expect("offline");
    assert_eq!(offline.engine_metadata["result_source"], "instance_tunnel");
    assert_eq!(second.columns, offline.columns);
    assert_eq!(second.rows, offline.rows);
    // The forced settings go with every MaxQA job.
    for job in emu.instances() {
        assert_eq!(job.settings["odps.sql.read.only"], "true");
        assert_eq!(job.settings["odps.sql.allow.fullscan"], "false");
    }
    all_signed(&emu);
}

#[tokio::test]
async fn maxqa_refused_before_an_instance_exists_runs_offline_once() {
    let emu = fixture::start(fixture::config()).await;
    let engine = engine_for(&maxqa_connection(&emu, fixture::MAXQA_QUOTA, true));
    let policy = policy(&emu, "{}");
    let query = checked(&engine, &policy, SMALL, Some(10))
        .await
        .expect("gate");
    emu.faults().refuse_mcqa_submissions(1);
    let result = engine
        .run(&query, RunContext::default())
        .await
        .expect("offline");
    assert_eq!(result.rows.len(), 3);
    assert_eq!(result.engine_metadata["execution_mode"], "offline");
    assert_eq!(result.engine_metadata["maxqa_fallback"], "client");
    assert_eq!(result.engine_metadata["quota"], fixture::BATCH_QUOTA);
    let jobs = emu.instances();
    assert_eq!(jobs.len(), 1, "nothing ran twice: {jobs:?}");
    assert_eq!(jobs[0].mode, Mode::Offline);
    assert_eq!(
        jobs[0].settings["odps.task.wlm.quota"],
        fixture::BATCH_QUOTA
    );
    assert_eq!(jobs[0].settings["odps.sql.read.only"], "true");
    let posts: Vec<u16> = emu
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && !r.tunnel)
        .map(|r| r.status)
        .collect();
    assert_eq!(
        posts,
        [400, 201],
        "one refused MaxQA submission, one offline job"
    );

    // A quota that is not interactive: offline at once, no /mcqa call.
    let batch = engine_for(&maxqa_connection(&emu, fixture::BATCH_QUOTA, true));
    let from = emu.requests().len();
    let result = batch
        .run(&query, RunContext::default())
        .await
        .expect("offline");
    assert_eq!(result.engine_metadata["maxqa_fallback"], "client");
    assert!(!sent_since(&emu, from)
        .iter()
        .any(|r| r.path.starts_with("/mcqa")));

    // Without fallback, the refusal is a clear error and nothing runs.
    let strict = engine_for(&maxqa_connection(&emu, fixture::BATCH_QUOTA, false));
    let before = emu.instances().len();
    let error = strict
        .run(&query, RunContext::default())
        .await
        .expect_err("no fallback");
    assert_eq!(error.code, ErrorCode::BackendError);
    assert!(
        error.message.contains("not an interactive quota"),
        "{}",
        error.message
    );
    assert!(error.hint.contains("acceleration"), "{}", error.hint);
    assert_eq!(emu.instances().len(), before);
    all_signed(&emu);
}

#[tokio::test]
async fn a_fallback_signalled_by_the_server_is_read_as_offline() {
    let emu = fixture::start(fixture::config()).await;
    let engine = engine_for(&maxqa_connection(&emu, fixture::MAXQA_QUOTA, true));
    let policy = policy(&emu, "{}");
    let query = checked(&engine, &policy, SMALL, Some(10))
        .await
        .expect("gate");
    emu.faults().mcqa_unsupported(true);
    let result = engine
        .run(&query, RunContext::default())
        .await
        .expect("fell back");
    assert_eq!(result.rows.len(), 3);
    assert_eq!(result.engine_metadata["execution_mode"], "offline");
    assert_eq!(result.engine_metadata["maxqa_fallback"], "server");
    assert_eq!(result.engine_metadata["quota"], fixture::BATCH_QUOTA);
    let jobs = emu.instances();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        jobs[0].mode,
        Mode::FellBack {
            quota: fixture::BATCH_QUOTA.into()
        }
    );
    let submit = emu
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("submission");
    let header: Value = submit
        .headers
        .iter()
        .find(|(n, _)| n == "x-odps-fallback-infos")
        .map(|(_, v)| serde_json::from_str(v).expect("JSON"))
        .expect("fallback header");
    assert_eq!(
        header,
        json!({"Fallback": "true", "FallbackQuota": "batch_q"})
    );

    // Without the header the service fails the task; sqlwarden does not
    // run it again (an instance existed).
    let strict = engine_for(&maxqa_connection(&emu, fixture::MAXQA_QUOTA, false));
    let error = strict
        .run(&query, RunContext::default())
        .await
        .expect_err("no fallback");
    assert_eq!(error.code, ErrorCode::BackendError);
    assert!(error
        .untrusted_detail
        .as_deref()
        .is_some_and(|d| d.contains("ODPS-1850001")));
    assert_eq!(emu.instances().len(), 2, "the failed job is not rerun");
}

#[tokio::test]
async fn a_cancelled_maxqa_job_is_terminated_through_mcqa() {
    let emu = fixture::start(fixture::config()).await;
    let engine = engine_for(&maxqa_connection(&emu, fixture::MAXQA_QUOTA, true));
    let policy = policy(&emu, "{}");
    let query = checked(&engine, &policy, SMALL, Some(10))
        .await
        .expect("gate");
    emu.faults().hang_instances(true);
    let cancel = CancellationToken::new();
    let ctx = RunContext {
        cancel: cancel.clone(),
        progress: None,
    };
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let error = engine.run(&query, ctx).await.expect_err("cancelled");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(error.code, ErrorCode::QueryTimeout);
    assert!(
        error.message.contains("was terminated"),
        "{}",
        error.message
    );
    let job = emu.instances().pop().expect("job");
    assert!(job.id.ends_with("_mcqa"));
    assert!(job.terminate_requested);
    let put = emu
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .expect("terminate");
    assert_eq!(
        put.path,
        format!("/mcqa/projects/demo/instances/{}", job.id)
    );
    assert_eq!(put.status, 200, "the cookie and connection were accepted");
}

#[tokio::test]
async fn an_expired_connection_is_looked_up_again_once() {
    let emu = fixture::start(fixture::config()).await;
    let engine = engine_for(&maxqa_connection(&emu, fixture::MAXQA_QUOTA, true));
    let policy = policy(&emu, "{}");
    let query = checked(&engine, &policy, SMALL, Some(10))
        .await
        .expect("gate");
    engine
        .run(&query, RunContext::default())
        .await
        .expect("first");
    emu.faults().expire_mcqa_connections();
    let from = emu.requests().len();
    let result = engine
        .run(&query, RunContext::default())
        .await
        .expect("after refresh");
    assert_eq!(result.engine_metadata["execution_mode"], "maxqa");
    let sent = sent_since(&emu, from);
    let steps: Vec<(String, u16)> = sent
        .iter()
        .filter(|r| !r.params.contains_key("instancestatus"))
        .map(|r| (format!("{} {}", r.method, r.path), r.status))
        .collect();
    assert_eq!(
        steps,
        [
            ("POST /mcqa/projects/demo/instances".to_string(), 400),
            ("GET /connection/mcqa".to_string(), 200),
            ("POST /mcqa/projects/demo/instances".to_string(), 201),
        ]
    );
    assert!(emu
        .instances()
        .iter()
        .all(|i| matches!(i.mode, Mode::Maxqa { .. })));
}

#[tokio::test]
async fn a_truncated_inline_result_is_read_whole_through_the_tunnel() {
    let mut config = fixture::config();
    config.mcqa_inline_rows = 2;
    let capped = fixture::start(config).await;
    let whole = fixture::start(fixture::config()).await;
    let mut results = Vec::new();
    for emu in [&capped, &whole] {
        let engine = engine_for(&maxqa_connection(emu, fixture::MAXQA_QUOTA, true));
        let policy = policy(emu, "{}");
        let query = checked(&engine, &policy, SMALL, Some(10))
            .await
            .expect("gate");
        results.push(
            engine
                .run(&query, RunContext::default())
                .await
                .expect("run"),
        );
        // One row asked for: two inline rows prove it and are enough.
        let one = checked(&engine, &policy, SMALL, Some(1))
            .await
            .expect("gate");
        let first = engine.run(&one, RunContext::default()).await.expect("one");
        assert_eq!(first.engine_metadata["result_source"], "maxqa_inline");
        assert_eq!(first.truncation, Some(Truncation::RowLimit));
    }
    assert_eq!(
        results[0].engine_metadata["result_source"],
        "instance_tunnel"
    );
    assert_eq!(results[1].engine_metadata["result_source"], "maxqa_inline");
    assert_eq!(results[0].columns, results[1].columns);
    assert_eq!(results[0].rows, results[1].rows, "identical rows");
    assert_eq!(results[0].rows.len(), 3);
    assert!(capped.requests().iter().any(|r| r.tunnel));
    assert!(!whole.requests().iter().any(|r| r.tunnel));
}

#[tokio::test]
async fn a_spent_tunnel_budget_reads_inline_or_says_so() {
    let emu = fixture::start(fixture::config()).await;
    let engine = engine_for(&connection(&emu, "demo"));
    let policy = policy(&emu, "{max_limit: 20000}");
    let small = checked(&engine, &policy, SMALL, Some(10))
        .await
        .expect("gate");
    emu.faults().tunnel_session_budget(0);
    let result = engine
        .run(&small, RunContext::default())
        .await
        .expect("inline instead");
    assert_eq!(result.engine_metadata["result_source"], "result_csv");
    assert_eq!(result.engine_metadata["tunnel_budget_spent"], true);
    assert_eq!(result.rows.len(), 3);
    let large = checked(&engine, &policy, SMALL, Some(10_000))
        .await
        .expect("gate");
    let error = engine
        .run(&large, RunContext::default())
        .await
        .expect_err("too large for inline");
    assert_eq!(error.code, ErrorCode::RateLimitExceeded);
    assert!(
        error.message.contains("200 sessions per 5 minutes"),
        "{}",
        error.message
    );
    assert!(error.hint.contains("9,999"), "{}", error.hint);

    // MaxQA reads small results inline and never opens a session.
    let maxqa = engine_for(&maxqa_connection(&emu, fixture::MAXQA_QUOTA, true));
    let result = maxqa
        .run(&small, RunContext::default())
        .await
        .expect("maxqa");
    assert_eq!(result.engine_metadata["result_source"], "maxqa_inline");

    // `result_read: inline` refuses a limit inline cannot hold, before any job.
    let mut conn = connection(&emu, "demo");
    conn.result_read = ResultRead::Inline;
    let before = emu.instances().len();
    let error = engine_for(&conn)
        .run(&large, RunContext::default())
        .await
        .expect_err("inline cap");
    assert_eq!(error.code, ErrorCode::ResultTooLarge);
    assert_eq!(emu.instances().len(), before);
}

#[tokio::test]
async fn max_pt_from_metadata_matches_the_max_pt_job_on_every_table() {
    let emu = fixture::start(fixture::config()).await;
    // Two levels, with the newest first level empty in every subpartition,
    // and an older one holding data in one subpartition only.
    emu.create_table(
        &TableSpec::new("demo.events")
            .column("n", "bigint", "")
            .partition_key("pt", "string", "")
            .partition_key("region", "string", ""),
    )
    .await;
    emu.insert(
        "demo.events",
        "(1, '20240101', 'east'), (2, '20240102', 'west')",
    )
    .await;
    emu.add_partition("demo.events", "pt=20240102/region=east");
    emu.add_partition("demo.events", "pt=20240103/region=east");
    emu.add_partition("demo.events", "pt=20240103/region=west");
    let tables = [
        ("demo.sales", "ds"),
        ("demo.events", "pt"),
        ("demo.customers", "customer_id"),
        ("demo.profiles", "id"),
    ];
    let metadata = engine_for(&connection(&emu, "demo"));
    let mut from_metadata = Vec::new();
    for (table, field) in tables {
        from_metadata.push(
            metadata
                .max_partition(table, field)
                .await
                .map_err(|e| e.code),
        );
    }
    assert!(emu.instances().is_empty(), "no job for metadata answers");
    assert_eq!(from_metadata[0], Ok(Some("20240102".into())));
    assert_eq!(from_metadata[1], Ok(Some("20240102".into())));
    assert_eq!(from_metadata[2], Err(ErrorCode::BackendError));

    emu.faults().hide_partition_stats(true);
    let jobs = engine_for(&connection(&emu, "demo"));
    for ((table, field), expected) in tables.iter().zip(&from_metadata) {
        let from_job = jobs.max_partition(table, field).await.map_err(|e| e.code);
        assert_eq!(&from_job, expected, "{table}");
    }
    assert!(
        emu.instances().iter().any(|i| i.query.contains("MAX_PT")),
        "without statistics MAX_PT ran as a job"
    );

    // Cached briefly: asking again sends nothing.
    let from = emu.requests().len();
    metadata
        .max_partition("demo.sales", "ds")
        .await
        .expect("cached");
    assert_eq!(emu.requests().len(), from);

    // Partitions that all hold nothing: the table is empty (`None`, as the
    // engine contract says), where a `MAX_PT` job would fail.
    emu.faults().clear();
    emu.create_table(
        &TableSpec::new("demo.empty")
            .column("n", "bigint", "")
            .partition_key("pt", "string", ""),
    )
    .await;
    emu.add_partition("demo.empty", "pt=20240101");
    let jobs_before = emu.instances().len();
    assert_eq!(
        metadata
            .max_partition("demo.empty", "pt")
            .await
            .expect("empty"),
        None
    );
    assert_eq!(emu.instances().len(), jobs_before);
}

#[tokio::test]
async fn an_identical_estimate_is_reused_within_the_session() {
    let emu = fixture::start(fixture::config()).await;
    let engine = engine_for(&connection(&emu, "demo"));
    let policy = policy(&emu, "{}");
    let query = checked(&engine, &policy, SMALL, Some(10))
        .await
        .expect("gate");
    let first = engine.estimate(&query).await.expect("estimate");
    let from = emu.requests().len();
    let second = engine.estimate(&query).await.expect("again");
    assert_eq!(emu.requests().len(), from, "no second SQLCost job");
    assert_eq!(first.input_bytes, second.input_bytes);
    assert_eq!(second.details["cached"], true);
    let cost_jobs = emu
        .instances()
        .iter()
        .filter(|i| i.task_type == "SQLCost")
        .count();
    assert_eq!(cost_jobs, 1);
    // The cost job waits like the others: create, a held poll, ?result.
    let polls: Vec<String> = describe(&emu.requests()[..from])
        .into_iter()
        .filter(|d| d.contains("/instances"))
        .collect();
    assert_eq!(polls.len(), 3, "{polls:#?}");
}

#[tokio::test]
async fn check_reports_whether_the_maxqa_quota_is_interactive() {
    let emu = fixture::start(fixture::config()).await;
    let good = engine_for(&maxqa_connection(&emu, fixture::MAXQA_QUOTA, true))
        .probe()
        .await
        .expect("probe");
    assert!(
        good.server_version
            .contains("MaxQA on interactive quota `maxqa_q`"),
        "{}",
        good.server_version
    );
    assert!(!good.warnings.iter().any(|w| w.contains("MaxQA")));
    let batch = engine_for(&maxqa_connection(&emu, fixture::BATCH_QUOTA, true))
        .probe()
        .await
        .expect("probe");
    assert!(
        batch
            .warnings
            .iter()
            .any(|w| w.contains("`batch_q` is not an interactive quota")),
        "{:?}",
        batch.warnings
    );
    let missing = engine_for(&maxqa_connection(&emu, "nope", false))
        .probe()
        .await
        .expect("probe");
    assert!(
        missing
            .warnings
            .iter()
            .any(|w| w.contains("lookup failed") && w.contains("will fail")),
        "{:?}",
        missing.warnings
    );
}

/// The emulator's job-time model and status hold, as the bench uses them.
#[tokio::test]
async fn the_status_hold_ends_when_the_job_ends() {
    let config = fixture::config().job_times(
        JobTime::new(Duration::from_millis(200), Duration::from_millis(300)),
        JobTime::default(),
    );
    let emu = fixture::start(config).await;
    let engine = engine_for(&connection(&emu, "demo"));
    let policy = policy(&emu, "{}");
    let query = checked(&engine, &policy, SMALL, Some(10))
        .await
        .expect("gate");
    let from = emu.requests().len();
    engine
        .run(&query, RunContext::default())
        .await
        .expect("run");
    let polls: Vec<Duration> = sent_since(&emu, from)
        .iter()
        .filter(|r| r.params.contains_key("instancestatus"))
        .map(|r| r.handled_in)
        .collect();
    assert_eq!(polls.len(), 1, "one held poll");
    assert!(polls[0] >= Duration::from_millis(400), "{polls:?}");
}
