//! Tests: the official Python SDK (pyodps) against the emulator.
//!
//! This is the proof that the emulator speaks the real protocol: pyodps
//! signs every request (V2, and V4 with `ODPS_REGION_NAME`), parses the
//! XML and JSON, decodes the tunnel stream with its CRC checks and reads
//! the `?result` CSV. pyodps must be installed (`python3 -m pip install
//! pyodps`); a missing SDK fails these tests with that command.

use serde_json::{json, Value};

use crate::support::maxcompute::{fixture, EmulatorHandle, Mode, SignatureVersion};
use crate::support::require;

/// Run `tests/pyodps/<script>.py` against `emu` and parse its JSON output.
async fn run_script(script: &str, emu: &EmulatorHandle, env: &[(&str, &str)]) -> Value {
    require::pyodps();
    let path = format!("{}/tests/pyodps/{script}.py", env!("CARGO_MANIFEST_DIR"));
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg(&path)
        .env("MC_ENDPOINT", emu.endpoint())
        .env("MC_AK", fixture::AK)
        .env("MC_SK", fixture::SK)
        .env("MC_PROJECT", "demo")
        .env("TZ", "UTC")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env_remove("ODPS_REGION_NAME")
        .env_remove("ODPS_ENDPOINT")
        .env_remove("ODPS_TUNNEL_ENDPOINT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("python3 must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        for r in emu.requests() {
            eprintln!(
                "emulator saw: {} {} {:?} -> {}",
                r.method, r.path, r.params, r.status
            );
        }
    }
    assert!(
        out.status.success(),
        "{script}.py failed ({}); is pyodps installed (`pip install pyodps`)?\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{script}.py printed no JSON ({e}): {stdout}\nstderr: {stderr}"))
}

fn cell(t: &str, v: Value) -> Value {
    json!({"type": t, "value": v})
}

fn check_walkthrough(out: &Value) {
    assert_eq!(out["projects"], json!(["demo", "lake"]));
    assert_eq!(out["exists"], json!([true, false]));
    assert_eq!(out["tables"], json!(["customers", "profiles", "sales"]));
    assert_eq!(out["table_comment"], "One row per sale");
    let cols = out["columns"].as_array().expect("columns");
    assert_eq!(cols.len(), 16);
    assert_eq!(
        cols[0],
        json!({"name": "id", "type": "bigint", "comment": "sale id"})
    );
    assert_eq!(cols[2]["type"], "decimal(10,2)");
    assert_eq!(cols[4]["type"], "varchar(8)");
    assert_eq!(cols[14]["type"], "array<string>");
    assert_eq!(
        out["partition_keys"],
        json!([{"name": "ds", "type": "string", "comment": "business day"}])
    );
    assert_eq!(
        out["partitions"],
        json!(["ds='20240101'", "ds='20240102'", "ds='20240103'"])
    );

    // Tunnel: typed values, MAX_PT skipped the empty 20240103.
    assert_eq!(out["tunnel_count"], 3);
    let rows = out["tunnel_rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 3);
    let first = rows[0].as_array().expect("row");
    assert_eq!(first[0], cell("int", json!(1)));
    assert_eq!(first[1], cell("float", json!(2.5)));
    assert_eq!(first[2], cell("Decimal", json!("12.34")));
    assert_eq!(first[3], cell("str", json!("alice")));
    assert_eq!(first[4], cell("str", json!("A-1")));
    assert_eq!(first[5], cell("bool", json!(true)));
    assert_eq!(
        first[6],
        cell("datetime", json!("2024-01-02T03:04:05.678000"))
    );
    assert_eq!(first[7], cell("date", json!("2024-01-02")));
    assert_eq!(first[8], cell("int", json!(7)));
    assert_eq!(first[11], cell("float", json!(0.5)));
    assert_eq!(first[12], cell("str", json!("abc")));
    assert_eq!(first[13], cell("bytes", json!("AAH/")));
    assert_eq!(
        first[14],
        json!({"type": "list", "value": [cell("str", json!("x")), cell("str", json!("y"))]})
    );
    assert_eq!(first[15], cell("str", json!("20240102")));
    // NULLs are omitted from the stream and read back as None.
    let second = rows[1].as_array().expect("row");
    assert_eq!(second[1], cell("NoneType", Value::Null));
    assert_eq!(second[2], cell("NoneType", Value::Null));
    let third = rows[2].as_array().expect("row");
    assert_eq!(third[2], cell("Decimal", json!("-0.05")));
    assert_eq!(third[3], cell("str", json!("carol \"c\", 中文")));
    assert_eq!(third[6], cell("datetime", json!("1970-01-01T00:00:00")));
    assert_eq!(third[7], cell("date", json!("1969-12-31")));
    assert_eq!(third[8], cell("int", json!(-128)));
    assert_eq!(
        third[14],
        json!({"type": "list", "value": [cell("str", json!("z")), cell("NoneType", Value::Null)]})
    );

    // `?result` CSV: the same rows as strings, NULL as None.
    let csv = out["result_rows"].as_array().expect("csv rows");
    assert_eq!(csv.len(), 3);
    assert_eq!(csv[0][0], cell("str", json!("1")));
    assert_eq!(csv[0][3], cell("str", json!("alice")));
    assert_eq!(csv[1][1], cell("NoneType", Value::Null));
    assert_eq!(csv[2][3], cell("str", json!("carol \"c\", 中文")));

    // map<>, struct<> and array<struct<>> through the tunnel.
    let complex = &out["complex_rows"];
    assert_eq!(
        complex[0],
        json!([
            cell("int", json!(1)),
            {"type": "dict", "value": {"a": cell("int", json!(1)), "b": cell("NoneType", Value::Null)}},
            {"type": "struct", "value": {"city": cell("str", json!("Hangzhou")), "zip": cell("int", json!(310000))}},
            {"type": "list", "value": [
                {"type": "struct", "value": {"day": cell("date", json!("2024-01-01")), "score": cell("float", json!(1.5))}},
                cell("NoneType", Value::Null),
            ]},
        ])
    );
    assert_eq!(complex[1][1], cell("NoneType", Value::Null));
    assert_eq!(
        complex[1][2],
        json!({"type": "struct", "value": {"city": cell("NoneType", Value::Null), "zip": cell("int", json!(1))}})
    );

    let input: u64 = out["cost"]["input_size"]
        .as_u64()
        .or_else(|| out["cost"]["input_size"].as_str()?.parse().ok())
        .expect("cost input");
    assert!(input > 0, "cost input {input}");
    assert_eq!(out["cost"]["complexity"], "1.0");
    assert_eq!(out["cost"]["udf_num"], "0");

    let fullscan = out["fullscan_error"]["message"]
        .as_str()
        .expect("fullscan refused");
    assert!(
        fullscan.contains("ODPS-0130071") && fullscan.contains("is full scan with all partitions"),
        "{fullscan}"
    );
    let bad = out["bad_column_error"]["message"]
        .as_str()
        .expect("bad column refused");
    assert!(bad.contains("ODPS-0130071"), "{bad}");
}

#[tokio::test]
async fn pyodps_walkthrough_with_v2_signatures() {
    let emu = fixture::start(fixture::config()).await;
    let out = run_script("walkthrough", &emu, &[]).await;
    check_walkthrough(&out);
    let requests = emu.requests();
    assert!(requests.iter().any(|r| r.tunnel), "the tunnel was used");
    assert!(
        requests
            .iter()
            .all(|r| r.signature == Some(SignatureVersion::V2)),
        "all V2: {requests:?}"
    );
    let sql = emu
        .instances()
        .into_iter()
        .find(|i| i.query.contains("max_pt"))
        .expect("query instance");
    assert_eq!(sql.task_type, "SQL");
    assert_eq!(sql.task_status, "Success");
    let cost = emu
        .instances()
        .into_iter()
        .find(|i| i.task_type == "SQLCost")
        .expect("cost instance");
    assert_eq!(cost.task_status, "Success");
    let fullscan = emu
        .instances()
        .into_iter()
        .find(|i| {
            i.settings
                .get("odps.sql.allow.fullscan")
                .map(String::as_str)
                == Some("false")
        })
        .expect("the hint reached the settings");
    assert_eq!(fullscan.task_status, "Failed");
}

#[tokio::test]
async fn pyodps_walkthrough_with_v4_signatures() {
    let emu = fixture::start(fixture::config()).await;
    let out = run_script("walkthrough", &emu, &[("ODPS_REGION_NAME", "cn-hangzhou")]).await;
    check_walkthrough(&out);
    let requests = emu.requests();
    // pyodps signs the service plane V4 and the tunnel plane V2 (doc §8.1).
    assert!(requests
        .iter()
        .filter(|r| !r.tunnel)
        .all(|r| r.signature == Some(SignatureVersion::V4)));
    assert!(requests
        .iter()
        .filter(|r| r.tunnel)
        .all(|r| r.signature == Some(SignatureVersion::V2)));
    assert!(requests.iter().any(|r| r.tunnel));
}

#[tokio::test]
async fn pyodps_v4_with_another_region_is_refused() {
    let emu = fixture::start(fixture::config()).await;
    let out = run_script("list_tables", &emu, &[("ODPS_REGION_NAME", "cn-beijing")]).await;
    assert_eq!(out["error"]["code"], "SignatureNotMatch", "{out}");
}

#[tokio::test]
async fn pyodps_wrong_secret_is_signature_not_match() {
    let emu = fixture::start(fixture::config()).await;
    let out = run_script("list_tables", &emu, &[("MC_SK", "not-the-secret")]).await;
    assert_eq!(out["error"]["code"], "SignatureNotMatch", "{out}");
    assert!(out["error"]["request_id"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    assert!(emu
        .requests()
        .iter()
        .all(|r| r.signature.is_none() && r.status == 401));
    // And the right secret works on the same emulator.
    let ok = run_script("list_tables", &emu, &[]).await;
    assert_eq!(ok["tables"], json!(["customers", "profiles", "sales"]));
}

#[tokio::test]
async fn pyodps_stops_a_hanging_instance() {
    let emu = fixture::start(fixture::config()).await;
    emu.faults().hang_instances(true);
    let out = run_script("stop_instance", &emu, &[]).await;
    assert_eq!(out["before"], "Running");
    assert_eq!(out["after"], "Terminated");
    assert_eq!(out["tasks"]["AnonymousSQLTask"], "CANCELLED");
    let inst = emu
        .instances()
        .into_iter()
        .find(|i| i.id == out["id"])
        .expect("instance");
    assert!(inst.terminate_requested);
    assert_eq!(inst.task_status, "Cancelled");
}

#[tokio::test]
async fn pyodps_sts_account_needs_its_token() {
    let emu = fixture::start(fixture::config()).await;
    let sts = [
        ("MC_AK", fixture::STS_AK),
        ("MC_SK", fixture::STS_SK),
        ("MC_STS_TOKEN", fixture::STS_TOKEN),
    ];
    let ok = run_script("list_tables", &emu, &sts).await;
    assert_eq!(
        ok["tables"],
        json!(["customers", "profiles", "sales"]),
        "{ok}"
    );
    let last = emu.requests().pop().expect("a request");
    assert!(last
        .headers
        .contains(&("authorization-sts-token".into(), fixture::STS_TOKEN.into())));
    assert!(last.headers.iter().any(|(n, _)| n == "x-odps-user-agent"));
    assert!(!last.headers.iter().any(|(n, _)| n == "authorization"));
    let without = run_script("list_tables", &emu, &sts[..2]).await;
    assert_eq!(without["error"]["code"], "Unauthorized", "{without}");
}

#[tokio::test]
async fn pyodps_three_tier_project_with_schema() {
    let mut config = fixture::config();
    config.tenant_schemas = true;
    let emu = fixture::start(config).await;
    let out = run_script(
        "three_tier",
        &emu,
        &[("MC_PROJECT", "lake"), ("MC_SCHEMA", "analytics")],
    )
    .await;
    assert_eq!(out["tables"], json!(["visits"]));
    assert_eq!(out["columns"], json!(["visit_id", "page"]));
    assert_eq!(out["rows"], json!([["/home"], ["/cart"]]));
    let inst = emu.instances().pop().expect("instance");
    assert_eq!(inst.settings["odps.default.schema"], "analytics");
    assert_eq!(inst.settings["odps.namespace.schema"], "true");
}

#[tokio::test]
async fn pyodps_detects_a_corrupted_or_truncated_tunnel_stream() {
    let emu = fixture::start(fixture::config()).await;
    let clean = run_script("read_faulty", &emu, &[]).await;
    assert_eq!(clean["rows"].as_array().map(Vec::len), Some(3), "{clean}");
    emu.faults().corrupt_tunnel_crc(true);
    let out = run_script("read_faulty", &emu, &[]).await;
    assert_eq!(out["error"]["class"], "ChecksumError", "{out}");
    emu.faults().clear();
    emu.faults().truncate_tunnel(true);
    let out = run_script("read_faulty", &emu, &[]).await;
    // Cut mid-record, the half record fails its checksum (or, cut
    // elsewhere, the footer is missing): either way pyodps refuses it.
    let class = out["error"]["class"].as_str().unwrap_or_default();
    assert!(
        ["ChecksumError", "StreamTruncatedException", "DecodeError"].contains(&class),
        "a truncated stream must fail: {out}"
    );
}

#[tokio::test]
async fn pyodps_retries_through_injected_503s() {
    let emu = fixture::start(fixture::config()).await;
    emu.faults().server_errors("/tables", 2, 503);
    let out = run_script("list_tables", &emu, &[]).await;
    assert_eq!(
        out["tables"],
        json!(["customers", "profiles", "sales"]),
        "{out}"
    );
    let statuses: Vec<u16> = emu
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/tables"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
}

#[tokio::test]
async fn pyodps_reads_project_properties_as_the_doctor_does() {
    let emu = fixture::start(fixture::config()).await;
    emu.set_project_property("demo", "odps.sql.allow.fullscan", "true");
    let out = run_script("project_properties", &emu, &[]).await;
    assert_eq!(
        out,
        json!({
            "fullscan": "true",
            "schemas": "false",
            "all": ["odps.schema.model.enabled", "odps.sql.allow.fullscan"]
        })
    );
    let requests = emu.requests();
    assert!(requests.iter().any(|r| r.path.ends_with("/projects/demo")
        && r.params.get("properties").map(String::as_str) == Some("all")));
}

fn maxqa_env(scenario: &str) -> Vec<(&str, &str)> {
    vec![
        ("MC_SCENARIO", scenario),
        ("MC_QUOTA", fixture::MAXQA_QUOTA),
    ]
}

/// The typed values pyodps reads for ids 1 and 2 of `sales` (20240102).
fn check_maxqa_rows(rows: &Value) {
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        rows[0],
        json!([
            cell("int", json!(1)),
            cell("float", json!(2.5)),
            cell("Decimal", json!("12.34")),
            cell("str", json!("alice")),
            cell("bool", json!(true)),
            cell("date", json!("2024-01-02")),
            cell("int", json!(100)),
        ])
    );
    assert_eq!(rows[1][1], cell("NoneType", Value::Null));
    assert_eq!(rows[2][3], cell("str", json!("carol \"c\", 中文")));
}

#[tokio::test]
async fn pyodps_runs_maxqa_queries_through_the_connection_api() {
    let emu = fixture::start(fixture::config()).await;
    let out = run_script("maxqa", &emu, &maxqa_env("read")).await;
    let id = out["id"].as_str().expect("id");
    assert!(id.ends_with("_mcqa"), "{out}");
    assert_eq!(out["successful"], true);
    assert_eq!(out["select_result_status"], "FULL");
    assert_eq!(out["schema"][2], json!(["price", "decimal(10,2)"]));
    check_maxqa_rows(&out["inline_rows"]);
    check_maxqa_rows(&out["tunnel_rows"]);
    let requests = emu.requests();
    let lookup = requests
        .iter()
        .find(|r| r.path == "/connection/mcqa")
        .expect("connection lookup");
    assert_eq!(lookup.params["quota"], fixture::MAXQA_QUOTA);
    let submit = requests
        .iter()
        .find(|r| r.method == "POST" && r.path == "/mcqa/projects/demo/instances")
        .expect("MaxQA submission");
    assert!(submit.headers.iter().any(|(n, _)| n == "x-odps-mcqa-conn"));
    assert_eq!(submit.status, 201);
    // Every later /mcqa call echoed the cookie, and every request signed.
    assert!(requests
        .iter()
        .filter(|r| r.path.starts_with("/mcqa/") && r.method == "GET")
        .all(|r| r
            .headers
            .iter()
            .any(|(n, _)| n == "x-odps-mcqa-query-cookie")));
    assert!(requests
        .iter()
        .any(|r| r.params.contains_key("instancestatus")));
    assert!(requests.iter().all(|r| r.signature.is_some()), "all signed");
    assert!(
        requests.iter().any(|r| r.tunnel),
        "the tunnel read the _mcqa id"
    );
    let inst = emu.instances().pop().expect("instance");
    assert_eq!(
        inst.mode,
        Mode::Maxqa {
            quota: fixture::MAXQA_QUOTA.into(),
            cookie: match &inst.mode {
                Mode::Maxqa { cookie, .. } => cookie.clone(),
                other => panic!("{other:?}"),
            }
        }
    );
}

#[tokio::test]
async fn pyodps_looks_maxqa_up_through_the_quota_api_on_older_servers() {
    let emu = fixture::start(fixture::config()).await;
    emu.faults().connection_api_missing(true);
    let out = run_script("maxqa", &emu, &maxqa_env("read")).await;
    check_maxqa_rows(&out["inline_rows"]);
    let requests = emu.requests();
    assert!(requests
        .iter()
        .any(|r| r.path == "/connection/mcqa" && r.status == 405));
    let quota = requests
        .iter()
        .find(|r| r.path == format!("/quotas/{}", fixture::MAXQA_QUOTA))
        .expect("quota lookup");
    assert_eq!(quota.params["version"], "wlm");
    assert_eq!(quota.status, 200);
}

#[tokio::test]
async fn pyodps_reads_a_truncated_maxqa_result_through_the_tunnel() {
    let mut config = fixture::config();
    config.mcqa_inline_rows = 2;
    let emu = fixture::start(config).await;
    let out = run_script("maxqa", &emu, &maxqa_env("truncated")).await;
    assert_eq!(out["select_result_status"], "TRUNCATED");
    assert!(
        out["inline_error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("truncated")),
        "{out}"
    );
    assert_eq!(out["tunnel_count"], 3);
    check_maxqa_rows(&out["tunnel_rows"]);
}

#[tokio::test]
async fn pyodps_maxqa_fallback_runs_offline_on_the_fallback_quota() {
    let emu = fixture::start(fixture::config()).await;
    emu.faults().mcqa_unsupported(true);
    let mut env = maxqa_env("fallback");
    env.push(("MC_FALLBACK_QUOTA", fixture::BATCH_QUOTA));
    let out = run_script("maxqa", &emu, &env).await;
    assert!(!out["id"].as_str().expect("id").ends_with("_mcqa"), "{out}");
    assert_eq!(out["successful"], true);
    check_maxqa_rows(&out["tunnel_rows"]);
    let submit = emu
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/mcqa/projects/demo/instances")
        .expect("submission");
    let infos = submit
        .headers
        .iter()
        .find(|(n, _)| n == "x-odps-fallback-infos")
        .map(|(_, v)| serde_json::from_str::<Value>(v).expect("JSON"))
        .expect("fallback header");
    assert_eq!(infos["Fallback"], "true");
    let inst = emu.instances().pop().expect("instance");
    assert_eq!(
        inst.mode,
        Mode::FellBack {
            quota: fixture::BATCH_QUOTA.into()
        }
    );
}

#[tokio::test]
async fn pyodps_cancels_a_maxqa_job() {
    let emu = fixture::start(fixture::config()).await;
    emu.faults().hang_instances(true);
    let out = run_script("maxqa", &emu, &maxqa_env("cancel")).await;
    assert_eq!(out["before"], "Running");
    assert_eq!(out["after"], "Terminated");
    let cancel = emu
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT" && r.path.starts_with("/mcqa/projects/demo/instances/"))
        .expect("cancel through /mcqa");
    assert_eq!(cancel.status, 200);
    let inst = emu.instances().pop().expect("instance");
    assert!(inst.terminate_requested);
    assert_eq!(inst.task_status, "Cancelled");
}
