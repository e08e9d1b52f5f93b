use std::time::Duration;

use rmcp::ServiceExt;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::net::UnixStream;

use super::*;
use crate::server::tests::session;
use crate::server::SqlwardenServer;

/// The server over a streamed transport, in process: its stdin is a pipe
/// the test writes lines to, its stdout a socket the test reads lines
/// from.
struct Wire {
    input: DuplexStream,
    output: tokio::io::Lines<BufReader<UnixStream>>,
    held: Arc<Held>,
    /// The server's session, ended when the input ends.
    served: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Wire {
    async fn start() -> Wire {
        let dir = tempfile::tempdir().unwrap();
        let server = SqlwardenServer::new(Arc::new(session(dir.path())));
        let (input, server_input) = tokio::io::duplex(64 * 1024);
        let (server_output, output) = std::os::unix::net::UnixStream::pair().unwrap();
        output.set_nonblocking(true).unwrap();
        let output = UnixStream::from_std(output).unwrap();
        let held = Arc::new(Held::default());
        // Through the intake, as `serve_stdio` wires it: messages come read
        // over the channel, the rest as text through rmcp's reader.
        let (to_rmcp, from_intake) = tokio::io::duplex(64 * 1024);
        let (read, messages) = mpsc::channel(4);
        tokio::spawn(crate::server::intake::pump(
            BufReader::new(server_input),
            to_rmcp,
            read,
        ));
        let transport =
            StreamedStdio::new(messages, from_intake, Box::new(server_output), held.clone());
        let served = tokio::spawn(async move {
            if let Ok(running) = server.serve(transport).await {
                let _ = running.waiting().await;
            }
        });
        let mut wire = Wire {
            input,
            output: BufReader::new(output).lines(),
            held,
            served,
            _dir: dir,
        };
        wire.send(
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "streamed-test", "version": "1"}}}),
        )
        .await;
        let answer = wire.next().await;
        assert!(answer["result"]["serverInfo"].is_object(), "{answer}");
        wire.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        wire
    }

    async fn send(&mut self, message: Value) {
        self.line(&message.to_string()).await;
    }

    async fn line(&mut self, line: &str) {
        self.input.write_all(line.as_bytes()).await.unwrap();
        self.input.write_all(b"\n").await.unwrap();
    }

    /// The next message written, skipping log notifications.
    async fn next(&mut self) -> Value {
        loop {
            let line = tokio::time::timeout(Duration::from_secs(30), self.output.next_line())
                .await
                .expect("an answer")
                .unwrap()
                .expect("stdout open");
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["method"] != "notifications/message" {
                return message;
            }
        }
    }

    async fn call(&mut self, id: i64, name: &str, arguments: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}}))
            .await;
        // Answers to earlier requests (of a test that does not wait for
        // them) may come first.
        loop {
            let answer = self.next().await;
            if answer["id"] == id {
                return answer;
            }
        }
    }
}

#[tokio::test]
async fn tool_answers_are_written_whole_and_nothing_stays_held() {
    let mut wire = Wire::start().await;
    let ok = wire.call(1, "list_allowed_tables", json!({})).await;
    let result = &ok["result"];
    assert_eq!(result["isError"], false, "{ok}");
    assert_eq!(result["structuredContent"]["ok"], true);
    assert_eq!(
        result["structuredContent"]["metadata"]["tool_name"],
        "list_allowed_tables"
    );
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("<untrusted-data-"), "{text}");

    let refused = wire
        .call(2, "describe_table", json!({"table": "public.orders"}))
        .await;
    assert_eq!(refused["result"]["isError"], true);
    assert_eq!(
        refused["result"]["structuredContent"]["error"]["code"],
        "BACKEND_UNAVAILABLE"
    );
    assert!(refused["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("error BACKEND_UNAVAILABLE: "));

    // Arguments that are not an object take rmcp's untyped path, and are
    // still written from the held result.
    let untyped = wire.call(3, "list_sources", json!("not an object")).await;
    assert_eq!(
        untyped["result"]["structuredContent"]["error"]["code"], "INVALID_ARGUMENT",
        "{untyped}"
    );
    assert_eq!(wire.held.open_slots(), 0);
}

/// rmcp's reader answers a message it cannot type itself; that answer
/// reaches stdout through the relay.
#[tokio::test]
async fn the_readers_own_answers_are_written() {
    let mut wire = Wire::start().await;
    wire.line(r#"{"jsonrpc":"2.0","id":99}"#).await;
    let answer = wire.next().await;
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    // And the session goes on.
    let ok = wire.call(4, "list_sources", json!({})).await;
    assert_eq!(ok["result"]["structuredContent"]["ok"], true);
}

/// However a cancellation and the answer race, no result stays held: rmcp
/// drops the answer of a cancelled request, and so must the table.
#[tokio::test]
async fn a_cancelled_call_leaves_nothing_held() {
    let mut wire = Wire::start().await;
    for id in 10..40 {
        wire.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "list_allowed_tables", "arguments": {}}}))
            .await;
        wire.send(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": id}}),
        )
        .await;
    }
    // A call after them all is answered after they are settled.
    let last = wire.call(99, "list_sources", json!({})).await;
    assert_eq!(last["result"]["structuredContent"]["ok"], true, "{last}");
    let mut waited = 0;
    while wire.held.open_slots() > 0 {
        assert!(
            waited < 300,
            "{} results still held",
            wire.held.open_slots()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
}

/// Messages read by the intake and lines rmcp reads as text both reach
/// the server, whichever comes first; the session ends only when the
/// input ends, after the answers to what came before.
#[tokio::test]
async fn read_messages_and_text_lines_are_both_served_until_the_input_ends() {
    let mut wire = Wire::start().await;
    for id in 20..30 {
        // Text rmcp answers itself, then a request the intake read.
        wire.line(&format!(r#"{{"jsonrpc":"2.0","id":{}}}"#, id + 100))
            .await;
        wire.send(json!({"jsonrpc": "2.0", "id": id, "method": "ping"}))
            .await;
    }
    // An unreadable request: the intake passes on an internal request as
    // text, which the handler answers with the request's own id.
    wire.line(r#"{"jsonrpc":"2.0","id":"bad","method":"tools/call",}"#)
        .await;
    let mut pings = 0;
    let mut invalid = 0;
    let mut unreadable = 0;
    while pings + invalid + unreadable < 21 {
        let answer = wire.next().await;
        if answer["id"] == "bad" {
            assert_eq!(answer["error"]["code"], -32700, "{answer}");
            unreadable += 1;
        } else if answer["error"]["code"] == -32600 {
            invalid += 1;
        } else {
            assert!(answer["result"].is_object(), "{answer}");
            pings += 1;
        }
    }
    assert_eq!((pings, invalid, unreadable), (10, 10, 1));
    drop(wire.input);
    tokio::time::timeout(Duration::from_secs(30), wire.served)
        .await
        .expect("the session ends when its input ends")
        .unwrap();
}
