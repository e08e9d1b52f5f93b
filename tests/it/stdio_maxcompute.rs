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

fn write_config(dir: &std::path::Path, emu: &EmulatorHandle) {
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
        "identity:\n  user_id: alice\n  roles: [analyst]\nsecurity:\n  ban_select_star: true\nsources:\n  dw:\n    tables:\n      demo.sales:\n        description: One row per sale\n        allowed_columns: [id, amount, name, ds]\n        require_partition_filter: true\n        default_partition: {field: ds, strategy: max_pt}\n      demo.customers: {}\n",
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
    result.structured_content.unwrap()
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
