//! The real binary over stdio against the in-repo MaxCompute emulator: the
//! same tools, the same envelope, with partitions, the default partition
//! (`max_pt`) and signed REST calls underneath. Keys come from the
//! documented environment fallback.

#![allow(clippy::unwrap_used)]

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};

use crate::support::maxcompute::{fixture, EmulatorHandle};

/// `demo.sales` as the default config keys it: newest partition by default,
/// and a partition filter required.
const SALES_WITH_DEFAULT: &str = "        allowed_columns: [id, amount, name, ds]\n        require_partition_filter: true\n        default_partition: {field: ds, strategy: max_pt}\n";

fn write_config(dir: &std::path::Path, emu: &EmulatorHandle) {
    write_config_with(dir, emu, SALES_WITH_DEFAULT, "");
}

/// The config: source `dw` on the emulator with `sales` (policy body
/// `sales`, indented 8), `customers`, an approved join between them on
/// `sales.id = customers.customer_id`, and `dw_extra` (indented 4) under
/// the source, for example its `defaults`.
fn write_config_with(dir: &std::path::Path, emu: &EmulatorHandle, sales: &str, dw_extra: &str) {
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
        format!("identity:\n  user_id: alice\n  roles: [analyst]\nsecurity:\n  ban_select_star: true\nsources:\n  dw:\n{dw_extra}    tables:\n      demo.sales:\n        description: One row per sale\n{sales}      demo.customers:\n        denied_columns: [region_code]\n"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("catalog")).unwrap();
    std::fs::write(
        dir.join("catalog/joins.yaml"),
        "joins:\n  - id: sales_to_customers\n    source: dw\n    left_table: demo.sales\n    right_table: demo.customers\n    on: [{left_field: id, right_field: customer_id}]\n    cardinality: \"N:1\"\n    approved: true\n    business_purpose: The customer of each sale\n    example_sql: SELECT s.name, c.customer_id FROM demo.sales s JOIN demo.customers c ON s.id = c.customer_id LIMIT 10\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("audit")).unwrap();
}

async fn client(dir: &std::path::Path) -> RunningService<RoleClient, ()> {
    ().serve(transport(dir)).await.unwrap()
}

/// The binary serving `dir`'s config, with the emulator's keys in the
/// documented per-connection environment variables.
fn transport(dir: &std::path::Path) -> TokioChildProcess {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"));
    cmd.arg("serve")
        .env("SQLWARDEN_CONFIG_DIR", dir)
        .env("SQLWARDEN_AUDIT_DIR", dir.join("audit"))
        .env("SQLWARDEN_DW_ACCESS_KEY_ID", fixture::AK)
        .env("SQLWARDEN_DW_ACCESS_KEY_SECRET", fixture::SK)
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .env_remove("ALIBABA_CLOUD_SECURITY_TOKEN");
    TokioChildProcess::new(cmd).unwrap()
}

async fn call<S: rmcp::Service<RoleClient>>(
    client: &RunningService<RoleClient, S>,
    tool: &str,
    args: Value,
) -> Value {
    let Value::Object(map) = args else {
        panic!("object")
    };
    let result: CallToolResult = client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(map))
        .await
        .unwrap();
    let envelope = result.structured_content.unwrap();
    crate::support::output::assert_valid(tool, &envelope).await;
    envelope
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maxcompute_tools_over_stdio() {
    let emu = fixture::start(fixture::config()).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu);
    let client = client(dir.path()).await;

    let described = call(&client, "describe_table", json!({"table": "demo.sales"})).await;
    assert_eq!(described["ok"], true, "{described:#}");
    let columns: Vec<&str> = described["data"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["id", "amount", "name", "ds"]);
    assert_eq!(described["data"]["partition_keys"], json!(["ds"]));

    let partitions = call(
        &client,
        "list_partitions",
        json!({"table": "demo.sales", "limit": 2}),
    )
    .await;
    assert_eq!(partitions["ok"], true, "{partitions:#}");
    assert_eq!(
        partitions["data"]["partitions"],
        json!(["ds=20240103", "ds=20240102"])
    );
    assert_eq!(partitions["metadata"]["truncated"], true);

    let preview = call(&client, "preview_table", json!({"table": "demo.sales"})).await;
    assert_eq!(preview["ok"], true, "{preview:#}");
    // The newest partition is empty, so max_pt picks the one before it.
    assert_eq!(
        preview["metadata"]["partitions_used"],
        json!({"demo.sales": "20240102"})
    );
    assert_eq!(preview["data"]["rows"].as_array().unwrap().len(), 3);

    let query = call(
        &client,
        "run_select_sql",
        json!({"sql": "SELECT name, amount FROM demo.sales WHERE id < 3"}),
    )
    .await;
    assert_eq!(query["ok"], true, "{query:#}");
    assert_eq!(query["metadata"]["row_count"], 2);
    assert_eq!(
        query["metadata"]["partitions_used"],
        json!({"demo.sales": "20240102"})
    );

    let denied = call(
        &client,
        "run_select_sql",
        json!({"sql": "SELECT price FROM demo.sales"}),
    )
    .await;
    assert_eq!(denied["error"]["code"], "COLUMN_NOT_ALLOWED", "{denied:#}");
    let denied = call(
        &client,
        "run_select_sql",
        json!({"sql": "SELECT customer_id FROM demo.customers WHERE region_code = 'EAST'"}),
    )
    .await;
    assert_eq!(denied["error"]["code"], "COLUMN_NOT_ALLOWED", "{denied:#}");

    let sources = call(&client, "list_sources", json!({})).await;
    assert_eq!(sources["ok"], true, "{sources:#}");
    assert_eq!(sources["data"]["sources"][0]["engine"], "maxcompute");
    assert_eq!(
        sources["data"]["sources"][0]["allowed_namespaces"],
        json!(["demo"]),
        "{sources:#}"
    );
    let tables = call(&client, "list_allowed_tables", json!({})).await;
    let keys: Vec<&str> = tables["data"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["demo.customers", "demo.sales"], "{tables:#}");
    let joins = call(&client, "get_join_paths", json!({"table": "demo.sales"})).await;
    assert_eq!(
        joins["data"]["joins"][0]["id"], "sales_to_customers",
        "{joins:#}"
    );

    // The approved join runs (with the default partition injected); the
    // same tables related on other columns are refused before anything runs.
    let joined = call(
        &client,
        "run_select_sql",
        json!({"sql": "SELECT s.name, c.customer_id FROM demo.sales s JOIN demo.customers c ON s.id = c.customer_id ORDER BY s.name"}),
    )
    .await;
    assert_eq!(joined["ok"], true, "{joined:#}");
    // The envelope says which mode ran (offline: no acceleration is set).
    assert_eq!(
        joined["metadata"]["execution"]["mode"], "offline",
        "{joined:#}"
    );
    assert_eq!(
        joined["data"]["rows"],
        json!([["alice", 1], ["bob", 2], ["carol \"c\", 中文", 3]])
    );
    let jobs = emu.instances().len();
    let unapproved = call(
        &client,
        "run_select_sql",
        json!({"sql": "SELECT s.name FROM demo.sales s JOIN demo.customers c ON s.amount = c.customer_id"}),
    )
    .await;
    assert_eq!(
        unapproved["error"]["code"], "JOIN_NOT_APPROVED",
        "{unapproved:#}"
    );
    assert_eq!(emu.instances().len(), jobs, "a refusal sends nothing");

    let estimate = call(
        &client,
        "estimate_query_cost",
        json!({"sql": "SELECT name FROM demo.sales WHERE ds = '20240102'"}),
    )
    .await;
    assert_eq!(estimate["ok"], true, "{estimate:#}");
    // The partition predicate outside the gate's column wrapper still
    // bounds the estimate: the older partition holds one row, not three.
    let older = call(
        &client,
        "estimate_query_cost",
        json!({"sql": "SELECT name FROM demo.sales WHERE ds = '20240101'"}),
    )
    .await;
    assert!(
        older["data"]["estimate"]["input_bytes"].as_u64().unwrap()
            < estimate["data"]["estimate"]["input_bytes"]
                .as_u64()
                .unwrap(),
        "{older:#}"
    );
    assert!(
        estimate["data"]["estimate"]["input_bytes"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(estimate["data"]["budget"]["within_budget"], Value::Null);
    assert_eq!(emu.instances().last().unwrap().task_type, "SQLCost");

    client.cancel().await.unwrap();
}

/// `require_partition_filter` without `default_partition`: the gate knows
/// `ds` is the partition key from the table's schema, so a query that pins
/// it runs and one that does not is refused before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_filter_is_required_without_a_default_partition() {
    let emu = fixture::start(fixture::config()).await;
    let dir = tempfile::tempdir().unwrap();
    // Column rules make the gate wrap `sales` in a derived table; the
    // partition predicate stays outside it, as the agent wrote it.
    let sales = "        allowed_columns: [id, name, ds]\n        require_partition_filter: true\n";
    write_config_with(dir.path(), &emu, sales, "");
    let client = client(dir.path()).await;
    let jobs = emu.instances().len();
    for sql in [
        "SELECT name FROM demo.sales",
        "SELECT name FROM demo.sales WHERE ds = '20240102' OR id = 1",
    ] {
        let refused = call(&client, "run_select_sql", json!({"sql": sql})).await;
        assert_eq!(
            refused["error"]["code"], "PARTITION_FILTER_REQUIRED",
            "{refused:#}"
        );
        assert!(refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`ds`"));
    }
    let preview = call(&client, "preview_table", json!({"table": "demo.sales"})).await;
    assert_eq!(
        preview["error"]["code"], "PARTITION_FILTER_REQUIRED",
        "{preview:#}"
    );
    assert_eq!(emu.instances().len(), jobs, "refusals send nothing");
    let ok = call(
        &client,
        "run_select_sql",
        json!({"sql": "SELECT name FROM demo.sales WHERE ds IN ('20240101', '20240102') ORDER BY name"}),
    )
    .await;
    assert_eq!(ok["ok"], true, "{ok:#}");
    assert_eq!(ok["metadata"]["row_count"], 4);
    assert_eq!(ok["metadata"]["partitions_used"], json!({}));
    client.cancel().await.unwrap();
}

/// The scan budget over stdio: each query is estimated first (a `SQLCost`
/// task) and refused over `max_scan_bytes`; admitted estimates add up
/// against `max_session_scan_bytes`; a failed estimate refuses the query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scan_budget_refuses_before_anything_runs() {
    let emu = fixture::start(fixture::config()).await;
    let dir = tempfile::tempdir().unwrap();
    write_config_with(
        dir.path(),
        &emu,
        SALES_WITH_DEFAULT,
        "    defaults: {max_scan_bytes: 200, max_session_scan_bytes: 60}\n",
    );
    let client = client(dir.path()).await;
    let small = json!({"sql": "SELECT customer_id FROM demo.customers"});
    let sql_jobs = || {
        emu.instances()
            .iter()
            .filter(|i| i.task_type == "SQL")
            .count()
    };

    let estimate = call(&client, "estimate_query_cost", small.clone()).await;
    assert_eq!(estimate["ok"], true, "{estimate:#}");
    let bytes = estimate["data"]["estimate"]["input_bytes"]
        .as_u64()
        .unwrap();
    // The fixture's three customers: two such queries fit the session
    // budget of 60 bytes, a third does not.
    assert!(2 * bytes <= 60 && 3 * bytes > 60, "{bytes}");
    let budget = &estimate["data"]["budget"];
    assert_eq!(budget["session_remaining_bytes"], 60);
    assert_eq!(budget["within_budget"], true);

    // A failed estimate: fail closed, and nothing runs. (A query not
    // estimated before: an identical estimate is reused within a session.)
    emu.faults()
        .fail_next_task("ODPS-0130161:[1,8] Parse exception - injected");
    let before = sql_jobs();
    let unseen = json!({"sql": "SELECT customer_id AS id FROM demo.customers"});
    let blind = call(&client, "run_select_sql", unseen).await;
    assert_eq!(blind["error"]["code"], "COST_BUDGET_EXCEEDED", "{blind:#}");
    assert!(blind["error"]["message"]
        .as_str()
        .unwrap()
        .contains("could not be estimated"));
    assert!(blind["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("never runs a query blind"));
    assert_eq!(sql_jobs(), before);

    // Over the per-query budget, in human units, with the fix in the hint.
    let big = call(
        &client,
        "run_select_sql",
        json!({"sql": "SELECT name FROM demo.sales"}),
    )
    .await;
    assert_eq!(big["error"]["code"], "COST_BUDGET_EXCEEDED", "{big:#}");
    let message = big["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("at most 200 B (`max_scan_bytes`)"),
        "{message}"
    );
    assert!(big["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("partition predicates"));
    let preview = call(&client, "preview_table", json!({"table": "demo.sales"})).await;
    assert_eq!(
        preview["error"]["code"], "COST_BUDGET_EXCEEDED",
        "{preview:#}"
    );
    assert!(
        !emu.instances()
            .iter()
            .any(|i| i.task_type == "SQL" && i.query.contains("SELECT name")),
        "over-budget queries send no SQL job"
    );
    let before = sql_jobs();

    // The session total: two runs fit, the third is refused.
    for _ in 0..2 {
        let ran = call(&client, "run_select_sql", small.clone()).await;
        assert_eq!(ran["ok"], true, "{ran:#}");
    }
    assert_eq!(sql_jobs(), before + 2);
    let third = call(&client, "run_select_sql", small.clone()).await;
    assert_eq!(third["error"]["code"], "COST_BUDGET_EXCEEDED", "{third:#}");
    assert!(third["error"]["message"]
        .as_str()
        .unwrap()
        .contains("left (`max_session_scan_bytes`)"));
    assert_eq!(sql_jobs(), before + 2);
    let after = call(&client, "estimate_query_cost", small).await;
    assert_eq!(
        after["data"]["budget"]["session_remaining_bytes"],
        60 - 2 * bytes
    );
    assert_eq!(after["data"]["budget"]["within_budget"], false);
    client.cancel().await.unwrap();
}

/// Every injected fault fails one call with a clear error, the job is
/// terminated where one was left running, and the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_is_a_clear_error_and_the_server_keeps_serving() {
    let emu = fixture::start(fixture::config()).await;
    let dir = tempfile::tempdir().unwrap();
    write_config_with(
        dir.path(),
        &emu,
        SALES_WITH_DEFAULT,
        "    defaults: {query_timeout_seconds: 2}\n",
    );
    let client = client(dir.path()).await;
    let query = json!({"sql": "SELECT id, name FROM demo.sales ORDER BY id"});
    let healthy = || async {
        emu.faults().clear();
        let ok = call(&client, "run_select_sql", query.clone()).await;
        assert_eq!(ok["ok"], true, "{ok:#}");
        assert_eq!(ok["metadata"]["row_count"], 3);
    };
    // Warm the session (columns, default partition) so each fault below
    // hits the query itself.
    healthy().await;

    type Inject = fn(&EmulatorHandle);
    let cases: [(&str, Inject, &str, &str); 6] = [
        (
            "5xx on create",
            |e| e.faults().server_errors("instances", 1, 500),
            "BACKEND_UNAVAILABLE",
            "InternalServerError",
        ),
        (
            "slow status",
            |e| {
                e.faults()
                    .delay("instancestatus", std::time::Duration::from_secs(5))
            },
            "QUERY_TIMEOUT",
            "terminated",
        ),
        (
            "truncated stream",
            |e| e.faults().truncate_tunnel(true),
            "BACKEND_ERROR",
            "damaged",
        ),
        (
            "corrupted CRC",
            |e| e.faults().corrupt_tunnel_crc(true),
            "BACKEND_ERROR",
            "CRC32C",
        ),
        (
            "never finishes",
            |e| e.faults().hang_instances(true),
            "QUERY_TIMEOUT",
            "was terminated",
        ),
        (
            "failed task",
            |e| {
                e.faults()
                    .fail_next_task("ODPS-0130161:[1,8] Parse exception - injected")
            },
            "BACKEND_ERROR",
            "",
        ),
    ];
    for (what, inject, code, says) in cases {
        inject(&emu);
        let started = std::time::Instant::now();
        let failed = call(&client, "run_select_sql", query.clone()).await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{what}"
        );
        assert_eq!(failed["error"]["code"], code, "{what}: {failed:#}");
        let message = failed["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{what}: {message}");
        assert!(!failed["error"]["hint"].as_str().unwrap().is_empty());
        if code == "QUERY_TIMEOUT" {
            let job = emu
                .instances()
                .into_iter()
                .rfind(|i| i.task_type == "SQL")
                .unwrap();
            assert!(job.terminate_requested, "{what}: the job is terminated");
        }
        healthy().await;
    }

    // Persistent 5xx on metadata: retried, then unavailable; then fine.
    emu.faults().server_errors("tables/customers", 100, 503);
    let down = call(
        &client,
        "describe_table",
        json!({"table": "demo.customers"}),
    )
    .await;
    assert_eq!(down["error"]["code"], "BACKEND_UNAVAILABLE", "{down:#}");
    emu.faults().clear();
    let up = call(
        &client,
        "describe_table",
        json!({"table": "demo.customers"}),
    )
    .await;
    assert_eq!(up["ok"], true, "{up:#}");
    client.cancel().await.unwrap();
}

/// A client that keeps every progress notification it receives.
#[derive(Clone, Default)]
struct ProgressClient {
    seen: std::sync::Arc<std::sync::Mutex<Vec<rmcp::model::ProgressNotificationParam>>>,
}

impl rmcp::ClientHandler for ProgressClient {
    async fn on_progress(
        &self,
        params: rmcp::model::ProgressNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        self.seen.lock().unwrap().push(params);
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reaches_the_client_and_cancellation_terminates_the_job() {
    use rmcp::model::{ClientRequest, Request};
    use rmcp::service::PeerRequestOptions;

    let emu = fixture::start(fixture::config()).await;
    emu.faults().hang_instances(true);
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu);
    let handler = ProgressClient::default();
    let client = handler.clone().serve(transport(dir.path())).await.unwrap();

    let Value::Object(args) = json!({"sql": "SELECT customer_id FROM demo.customers"}) else {
        unreachable!()
    };
    let request = ClientRequest::CallToolRequest(Request::new(
        CallToolRequestParams::new("run_select_sql").with_arguments(args),
    ));
    let handle = client
        .send_cancellable_request(request, PeerRequestOptions::no_options())
        .await
        .unwrap();
    eventually("a progress notification", || {
        !handler.seen.lock().unwrap().is_empty()
    })
    .await;
    let token = handle.progress_token.clone();
    assert!(handler
        .seen
        .lock()
        .unwrap()
        .iter()
        .all(|p| p.progress_token == token));

    handle.cancel(Some("stop".into())).await.unwrap();
    eventually("the instance to be terminated", || {
        emu.instances()
            .iter()
            .any(|i| i.task_type == "SQL" && i.terminate_requested)
    })
    .await;

    // The server keeps serving, and the cancelled call was audited.
    emu.faults().hang_instances(false);
    let sources = call(&client, "list_sources", json!({})).await;
    assert_eq!(sources["ok"], true);
    client.cancel().await.unwrap();
    let audit: String = std::fs::read_dir(dir.path().join("audit"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let cancelled = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["tool_name"] == "run_select_sql")
        .expect("cancelled call audited");
    assert_eq!(cancelled["outcome"], "error", "{cancelled:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_in_flight_when_the_client_leaves_is_terminated_and_audited() {
    use rmcp::model::{ClientRequest, Request};
    use rmcp::service::PeerRequestOptions;

    let emu = fixture::start(fixture::config()).await;
    emu.faults().hang_instances(true);
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu);
    let handler = ProgressClient::default();
    let client = handler.clone().serve(transport(dir.path())).await.unwrap();
    let Value::Object(args) = json!({"sql": "SELECT customer_id FROM demo.customers"}) else {
        unreachable!()
    };
    let _pending = client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(Request::new(
                CallToolRequestParams::new("run_select_sql").with_arguments(args),
            )),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    eventually("the job to run", || {
        !handler.seen.lock().unwrap().is_empty()
    })
    .await;

    // Closing the connection waits for the server process to exit.
    client.cancel().await.unwrap();
    assert!(emu
        .instances()
        .iter()
        .any(|i| i.task_type == "SQL" && i.terminate_requested));
    let audit: String = std::fs::read_dir(dir.path().join("audit"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        audit.contains("\"tool_name\":\"run_select_sql\""),
        "the abandoned call was audited: {audit}"
    );
}

/// `sqlwarden query` against MaxCompute: Ctrl-C (SIGINT) cancels the call,
/// the job is terminated, the process exits with a clear message, and
/// stdout (not a terminal here) gets nothing.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_in_the_query_command_terminates_the_job() {
    let emu = fixture::start(fixture::config()).await;
    emu.faults().hang_instances(true);
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu);
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .args(["query", "SELECT customer_id FROM demo.customers"])
        .env("SQLWARDEN_CONFIG_DIR", dir.path())
        .env("SQLWARDEN_AUDIT_DIR", dir.path().join("audit"))
        .env("SQLWARDEN_DW_ACCESS_KEY_ID", fixture::AK)
        .env("SQLWARDEN_DW_ACCESS_KEY_SECRET", fixture::SK)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    eventually("the job to run", || {
        emu.instances()
            .iter()
            .any(|i| i.task_type == "SQL" && i.status == "Running")
    })
    .await;
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let output = tokio::time::timeout(std::time::Duration::from_secs(15), child.wait_with_output())
        .await
        .expect("the process exits after Ctrl-C")
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("QUERY_TIMEOUT"), "{stderr}");
    assert!(
        stderr.contains("Interrupted: the query was cancelled and its job terminated"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\x1b'),
        "no progress line when stderr is not a terminal: {stderr}"
    );
    assert!(emu
        .instances()
        .iter()
        .any(|i| i.task_type == "SQL" && i.terminate_requested));
}

/// On a terminal, `sqlwarden query` draws a progress line on stderr while
/// the job runs (`script` gives the process a pseudo-terminal; util-linux).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_command_shows_progress_on_a_terminal() {
    let emu = fixture::start(fixture::config()).await;
    emu.faults().hang_instances(true);
    let dir = tempfile::tempdir().unwrap();
    write_config_with(
        dir.path(),
        &emu,
        SALES_WITH_DEFAULT,
        "    defaults: {query_timeout_seconds: 2}\n",
    );
    let command = format!(
        "{} query 'SELECT customer_id FROM demo.customers'",
        env!("CARGO_BIN_EXE_sqlwarden")
    );
    let output = tokio::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("SQLWARDEN_CONFIG_DIR", dir.path())
        .env("SQLWARDEN_AUDIT_DIR", dir.path().join("audit"))
        .env("SQLWARDEN_DW_ACCESS_KEY_ID", fixture::AK)
        .env("SQLWARDEN_DW_ACCESS_KEY_SECRET", fixture::SK)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("`script` (util-linux) runs");
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(
        screen.contains("MaxCompute instance") && screen.contains("(Ctrl-C cancels)"),
        "{screen}"
    );
    assert!(
        screen.contains("\r\x1b[2K"),
        "the line is redrawn: {screen:?}"
    );
    assert!(screen.contains("QUERY_TIMEOUT"), "{screen}");
    assert!(emu.instances().iter().any(|i| i.terminate_requested));
}
