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
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"));
    cmd.arg("serve")
        .env("SQLWARDEN_CONFIG_DIR", dir)
        .env("SQLWARDEN_AUDIT_DIR", dir.join("audit"))
        .env("SQLWARDEN_DW_ACCESS_KEY_ID", fixture::AK)
        .env("SQLWARDEN_DW_ACCESS_KEY_SECRET", fixture::SK)
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .env_remove("ALIBABA_CLOUD_SECURITY_TOKEN");
    ().serve(TokioChildProcess::new(cmd).unwrap())
        .await
        .unwrap()
}

async fn call(client: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> Value {
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
