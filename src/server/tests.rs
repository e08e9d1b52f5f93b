use super::*;
use crate::audit::AuditLog;
use crate::cli::demo::{config_files, write_files, DemoArgs};
use crate::policy::Policy;
use crate::tools::{ConfiguredEngines, TOOLS};

/// A session over the demo config (pointing at a port where nothing
/// listens) with a real audit log, both in `dir`.
pub(super) fn session(dir: &std::path::Path) -> Session {
    let args = DemoArgs::unreachable("nothing_here");
    write_files(dir, &config_files(&args)).unwrap();
    let config = crate::config::load(dir).unwrap();
    let log = AuditLog::open(&dir.join("audit"), 1).unwrap();
    Session::new(
        Policy::new(config),
        Arc::new(ConfiguredEngines),
        Arc::new(log),
    )
}

/// The handler in-process over a duplex pipe: results carry the
/// envelope as structured content and failures set `isError`.
#[tokio::test]
async fn call_tool_maps_envelopes_to_results() {
    let dir = tempfile::tempdir().unwrap();
    let server = SqlwardenServer::new(Arc::new(session(dir.path())));
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let running = server.serve(server_io).await.unwrap();
        let _ = running.waiting().await;
    });
    let client = ().serve(client_io).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), TOOLS.len());

    let ok = client
        .call_tool(CallToolRequestParams::new("list_allowed_tables"))
        .await
        .unwrap();
    assert_eq!(ok.is_error, Some(false));
    let envelope = ok.structured_content.unwrap();
    assert_eq!(envelope["ok"], true);
    assert_eq!(envelope["metadata"]["source"], "demo");

    let down = client
        .call_tool(
            CallToolRequestParams::new("describe_table").with_arguments(
                serde_json::json!({"table": "public.orders"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(down.is_error, Some(true));
    let envelope = down.structured_content.unwrap();
    assert_eq!(envelope["error"]["code"], "BACKEND_UNAVAILABLE");
    let text: String = down
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    assert!(text.starts_with("error BACKEND_UNAVAILABLE: "), "{text}");
    client.cancel().await.unwrap();
}

/// What clients read in `tools/list`; any change to a description or a
/// schema shows up in review.
#[test]
fn tools_list_wire_format() {
    let tools: Vec<Tool> = TOOLS.iter().map(mcp_tool).collect();
    insta::assert_json_snapshot!("tools_list", tools);
}

#[test]
fn instructions_state_the_security_posture() {
    let info = SqlwardenServer::server_config();
    let instructions = info.instructions.unwrap_or_default();
    for needle in ["read-only", "untrusted-data", "audit", "hint"] {
        assert!(instructions.contains(needle), "{needle}");
    }
    assert_eq!(info.server_info.name, "sqlwarden");
    assert!(info.capabilities.tools.is_some());
}
