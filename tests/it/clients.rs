//! The official MCP client SDKs against the real binary over stdio, on the
//! demo warehouse: the Python SDK (`tests/clients/python_client.py`) and
//! the TypeScript SDK (`tests/clients/ts_client.mjs`). Each drives tools
//! (the SDKs validate results against the declared output schemas),
//! resources with hostile URIs, prompts, completion, progress of a slow
//! PostgreSQL query and logging, and fails on the first wrong answer.
//! `tests/clients/setup.sh` (run by `.ci/run`) installs both SDKs under
//! `target/clients/`.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;

use crate::stdio::Fixture;
use crate::support::clients;

/// Run `program args` against `fx` and return the report it prints last.
fn run(fx: &Fixture, mut command: Command, what: &str) -> Value {
    let output = command
        .env("SQLWARDEN_BIN", env!("CARGO_BIN_EXE_sqlwarden"))
        .env("SQLWARDEN_CONFIG_DIR", fx.dir.path())
        .env("SQLWARDEN_AUDIT_DIR", fx.audit_dir())
        .output()
        .unwrap_or_else(|e| {
            panic!("{what} did not start ({e}); run tests/clients/setup.sh to install it")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed:\n{stdout}\n{stderr}"
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{what} printed no report ({e}):\n{stdout}"))
}

#[tokio::test]
async fn the_official_python_sdk_drives_every_mcp_feature() {
    let fx = Fixture::new("client_python", "").await;
    let mut command = Command::new(clients::python());
    command.arg(clients::scripts().join("python_client.py"));
    // The client is another process: blocking this test's thread on it
    // holds up nothing the server needs.
    let report = run(&fx, command, "the Python SDK client");
    assert_eq!(report["validated_successes"], 17, "{report}");
    assert_eq!(report["validated_refusals"], 6, "{report}");
    assert!(report["progress"].as_array().is_some_and(|p| !p.is_empty()));
    assert!(report["logs"].as_u64().is_some_and(|n| n > 0));
}

#[tokio::test]
async fn the_official_typescript_sdk_drives_every_mcp_feature() {
    let fx = Fixture::new("client_ts", "").await;
    clients::installed("node/node_modules/@modelcontextprotocol/sdk");
    let script = clients::node_script("ts_client.mjs");
    let mut command = Command::new("node");
    command.arg(&script);
    let report = run(&fx, command, "the TypeScript SDK client");
    assert_eq!(report["validated_successes"], 8, "{report}");
    assert!(report["progress"].as_u64().is_some_and(|n| n > 0));
}
