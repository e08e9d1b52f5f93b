use super::*;

fn answered(line: &[u8]) -> Option<(Value, i32)> {
    match judge(line, false) {
        Verdict::Answer { id, error } => Some((id, error.code)),
        _ => None,
    }
}

#[test]
fn unreadable_requests_with_ids_are_answered() {
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":"deep","method":"tools/call","params":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert_eq!(
        answered(deep.as_bytes()),
        Some((json!("deep"), PARSE_ERROR))
    );
    let big = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":{"limit":1e400}}}"#;
    assert_eq!(answered(big), Some((json!(7), PARSE_ERROR)));
    let mut binary = br#"{"jsonrpc":"2.0","method":"tools/call","params":{"sql":""#.to_vec();
    binary.extend_from_slice(&[0xff, 0xfe]);
    binary.extend_from_slice(br#""},"id":"late"}"#);
    assert_eq!(answered(&binary), Some((json!("late"), PARSE_ERROR)));
    let shape = br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":"list_sources"}"#;
    assert_eq!(answered(shape), Some((json!(5), INVALID_REQUEST)));
}

#[test]
fn lines_without_a_request_id_are_not_answered() {
    assert!(matches!(judge(b"{garbage", false), Verdict::Drop(_)));
    assert!(matches!(
        judge(br#"{"jsonrpc":"2.0","id":1e400,"method":"x"}"#, false),
        Verdict::Drop(_)
    ));
    // Valid JSON that rmcp answers or ignores itself.
    assert!(matches!(
        judge(br#"{"jsonrpc":"2.0","id":10}"#, false),
        Verdict::Pass
    ));
    assert!(matches!(
        judge(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, false),
        Verdict::Read(_)
    ));
}

#[test]
fn the_outline_scan_follows_strings_and_nesting() {
    let line = br#" { "params" : {"id": 1, "s": "}\"{"}, "id" : "x\"y", "method":"m" }"#;
    assert_eq!(
        outline(line),
        Outline {
            id: Some(json!("x\"y")),
            has_method: true
        }
    );
    assert_eq!(outline(br#"{"id": {"a":1}, "method": "m"}"#).id, None);
    assert_eq!(outline(br#"{"id": 12"#).id, None);
}

#[tokio::test]
async fn over_long_lines_keep_only_a_prefix() {
    let mut text = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"sql":""#.to_vec();
    text.resize(MAX_LINE + 10, b'x');
    text.extend_from_slice(b"\"}}\nnext\n");
    let mut input = tokio::io::BufReader::new(&text[..]);
    let mut line = Vec::new();
    assert_eq!(
        read_line(&mut input, &mut line).await.expect("read"),
        Some(true)
    );
    assert_eq!(line.len(), KEPT_PREFIX);
    assert!(matches!(judge(&line, true), Verdict::Answer { .. }));
    assert_eq!(
        read_line(&mut input, &mut line).await.expect("read"),
        Some(false)
    );
    assert_eq!(line, b"next");
    assert_eq!(read_line(&mut input, &mut line).await.expect("read"), None);
}

/// Lines that read as messages go over the channel, read once; what rmcp
/// must read itself goes on as text, in order; the channel closes when
/// the input ends.
#[tokio::test]
async fn messages_go_over_the_channel_and_the_rest_as_text() {
    let input = concat!(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        "\n  \n",
        r#"{"jsonrpc":"2.0","id":10}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x"},}"#,
        "\n",
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
        "\n",
    );
    let (to_rmcp, mut from_intake) = tokio::io::duplex(64 * 1024);
    let (read, mut messages) = mpsc::channel(8);
    pump(tokio::io::BufReader::new(input.as_bytes()), to_rmcp, read).await;
    let mut ids = Vec::new();
    while let Some(message) = messages.recv().await {
        ids.push(serde_json::to_value(&message).unwrap()["id"].clone());
    }
    assert_eq!(ids, [json!(1), Value::Null]);
    let mut text = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut from_intake, &mut text)
        .await
        .unwrap();
    let lines: Vec<Value> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], json!({"jsonrpc": "2.0", "id": 10}));
    assert_eq!(lines[1]["id"], 2);
    assert_eq!(lines[1]["method"], UNREADABLE_METHOD);
    assert_eq!(lines[1]["params"]["code"], PARSE_ERROR);
}
