//! Every request with a readable id is answered, through the real stdio
//! server: lines that are not UTF-8, numbers JSON allows but serde_json
//! cannot hold (`1e400`), nesting past serde_json's limit, a request over
//! the line cap, and requests of the wrong shape get a JSON-RPC error with
//! their id; a `tools/call` whose `arguments` are not an object gets the
//! audited `INVALID_ARGUMENT` envelope; a NUL in the SQL is the caller's
//! error and leaves the connection healthy. The server keeps serving and
//! stdout stays JSON-RPC (checked line by line by [`Raw`]).
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use crate::stdio::Fixture;
use crate::stdio_abuse::{call, Raw};

fn error_code(response: &Value) -> i64 {
    response["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not a JSON-RPC error: {response:#}"))
}

#[tokio::test]
async fn unreadable_requests_get_a_json_rpc_error_with_their_id() {
    let fx = Fixture::new("proto_unreadable", "").await;
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;

    // Invalid UTF-8 inside the SQL string.
    let mut line = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_select_sql","arguments":{"source":"demo","sql":"SELECT "#.to_vec();
    line.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    line.extend_from_slice(b" FROM public.orders\"}}}\n");
    raw.send(&line).await;
    // A number JSON allows and a 64-bit float cannot hold.
    raw.line(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"run_select_sql","arguments":{"source":"demo","sql":"SELECT order_id FROM public.orders","limit":1e400}}}"#).await;
    // Nesting far past serde_json's 128 levels, the id after it.
    raw.line(&format!(
        r#"{{"jsonrpc":"2.0","method":"tools/call","params":{{"name":"list_sources","arguments":{{"x":{}{}}}}},"id":"deep"}}"#,
        "[".repeat(5_000),
        "]".repeat(5_000)
    ))
    .await;
    // Well-formed JSON of the wrong shape: params that are not an object.
    raw.line(r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":"list_sources"}"#)
        .await;
    // Plain bad syntax with a readable id.
    raw.line(r#"{"jsonrpc":"2.0","id":5,"method":"tools/list",}"#)
        .await;
    // And the server still serves.
    raw.line(&call(6, "list_sources", json!({}))).await;
    raw.wait_for(&[
        json!(1),
        json!(2),
        json!("deep"),
        json!(4),
        json!(5),
        json!(6),
    ])
    .await;

    for id in [json!(1), json!(2), json!("deep"), json!(5)] {
        let response = raw.response(id.clone());
        assert_eq!(error_code(&response), -32700, "{id}: {response:#}");
        assert_eq!(response["id"], id);
        assert!(
            response["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Parse error"),
            "{response:#}"
        );
    }
    assert_eq!(error_code(&raw.response(json!(4))), -32600);
    assert_eq!(
        raw.response(json!(6))["result"]["structuredContent"]["ok"],
        true
    );
    // One answer each.
    for (id, answers) in raw.responses() {
        assert_eq!(answers.len(), 1, "id {id} answered {} times", answers.len());
    }
    raw.finish().await;
    // The unreadable requests never became tool calls.
    assert_eq!(fx.audit_records().len(), 1);
}

#[tokio::test]
async fn an_over_long_request_is_answered_with_its_id() {
    let fx = Fixture::new("proto_long", "").await;
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    let sql = format!(
        "SELECT '{}' FROM public.orders",
        "x".repeat(20 * 1024 * 1024)
    );
    raw.line(&call(
        1,
        "run_select_sql",
        json!({"source": "demo", "sql": sql}),
    ))
    .await;
    raw.line(&call(2, "list_sources", json!({}))).await;
    raw.wait_for(&[json!(1), json!(2)]).await;
    let response = raw.response(json!(1));
    assert_eq!(error_code(&response), -32600, "{response:#}");
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than"),
        "{response:#}"
    );
    assert_eq!(
        raw.response(json!(2))["result"]["structuredContent"]["ok"],
        true
    );
    raw.finish().await;
}

#[tokio::test]
async fn non_object_arguments_get_the_audited_invalid_argument_envelope() {
    let fx = Fixture::new("proto_args", "").await;
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    let cases = [
        json!(["demo", "SELECT 1"]),
        json!("SELECT order_id FROM public.orders"),
        json!(42),
        json!(true),
    ];
    for (id, arguments) in cases.iter().enumerate() {
        raw.line(&call(id as i64 + 1, "run_select_sql", arguments.clone()))
            .await;
    }
    let ids: Vec<Value> = (1..=cases.len() as i64).map(|i| json!(i)).collect();
    raw.wait_for(&ids).await;
    for id in &ids {
        let response = raw.response(id.clone());
        assert!(response.get("error").is_none(), "{response:#}");
        let result = &response["result"];
        assert_eq!(result["isError"], true, "{response:#}");
        let envelope = &result["structuredContent"];
        assert_eq!(
            envelope["error"]["code"], "INVALID_ARGUMENT",
            "{response:#}"
        );
        assert!(
            envelope["error"]["message"]
                .as_str()
                .unwrap()
                .contains("must be a JSON object"),
            "{response:#}"
        );
    }
    raw.finish().await;
    let records = fx.audit_records();
    assert_eq!(records.len(), cases.len(), "one audit record per call");
    for record in &records {
        assert_eq!(record["tool_name"], "run_select_sql");
        assert_eq!(record["error_code"], "INVALID_ARGUMENT");
    }
}

#[tokio::test]
async fn nul_in_the_sql_is_invalid_argument_and_the_connection_stays_healthy() {
    let fx = Fixture::new("proto_nul", "").await;
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    // Warm the pool first so the NUL call would go to a live connection.
    let good = json!({"source": "demo", "sql": "SELECT order_id FROM public.orders", "limit": 1});
    raw.line(&call(1, "run_select_sql", good.clone())).await;
    raw.wait_for(&[json!(1)]).await;
    for (id, sql) in [
        (2, "SELECT order_id FROM public.orders\u{0}"),
        (
            3,
            "SELECT order_id FROM public.orders WHERE status = 'a\u{0}b'",
        ),
    ] {
        raw.line(&call(
            id,
            "run_select_sql",
            json!({"source": "demo", "sql": sql}),
        ))
        .await;
        raw.line(&call(
            id + 10,
            "estimate_query_cost",
            json!({"source": "demo", "sql": sql}),
        ))
        .await;
    }
    raw.line(&call(4, "run_select_sql", good)).await;
    raw.wait_for(&[2, 3, 4, 12, 13].map(|i| json!(i))).await;
    for id in [2, 3, 12, 13] {
        let envelope = &raw.response(json!(id))["result"]["structuredContent"];
        assert_eq!(
            envelope["error"]["code"], "INVALID_ARGUMENT",
            "{envelope:#}"
        );
        assert!(
            envelope["error"]["message"]
                .as_str()
                .unwrap()
                .contains("NUL"),
            "{envelope:#}"
        );
    }
    assert_eq!(
        raw.response(json!(4))["result"]["structuredContent"]["ok"],
        true
    );
    raw.finish().await;
}
