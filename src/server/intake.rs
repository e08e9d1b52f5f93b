//! The line-level intake in front of rmcp's stdio transport: every request
//! with a readable id gets an answer.
//!
//! rmcp silently drops a line it cannot parse (invalid UTF-8, a number
//! such as `1e400` that serde_json cannot represent, nesting deeper than
//! serde_json's limit, a line over the length cap), and answers a
//! malformed request with an error whose id is `null`, so the client waits
//! for its own timeout. The intake reads stdin line by line, passes every
//! line rmcp can read through untouched, and replaces an unreadable
//! request whose id it can still find with an internal
//! [`UNREADABLE_METHOD`] request carrying that id; the handler answers it
//! with the JSON-RPC error (`-32700` parse error, `-32600` invalid
//! request), so the answer flows through rmcp's own writer and stdout
//! stays pure JSON-RPC.
//!
//! Lines without a readable id (or without a `method`, so not requests)
//! are passed on or dropped as before: there is nobody to answer.
//!
//! A line that reads as a message is handed on as the message it was read
//! as ([`pump`]'s `read` channel), so it is parsed once, not here and
//! again by rmcp's reader; only the rest (the internal requests above,
//! and JSON rmcp answers or ignores itself) goes to rmcp as text.

use rmcp::model::{ClientJsonRpcMessage, ClientRequest, GetMeta, JsonRpcMessage, ProtocolVersion};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// The internal method an unreadable request is rewritten to; see the
/// module documentation.
pub(crate) const UNREADABLE_METHOD: &str = "sqlwarden/unreadable_request";

/// Longest line passed to rmcp, newline excluded; rmcp's own cap is 16 MiB
/// including the newline.
const MAX_LINE: usize = 16 * 1024 * 1024 - 1;

/// How much of an over-long line is kept to look for its id.
const KEPT_PREFIX: usize = 64 * 1024;

/// JSON-RPC's "parse error".
const PARSE_ERROR: i32 = -32700;
/// JSON-RPC's "invalid request".
const INVALID_REQUEST: i32 = -32600;

/// The parameters of an [`UNREADABLE_METHOD`] request: the error to answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Unreadable {
    /// The JSON-RPC error code.
    pub(crate) code: i32,
    /// Why the request could not be read.
    pub(crate) message: String,
}

/// What to do with one line.
#[derive(Debug)]
enum Verdict {
    /// A message rmcp reads, already read.
    Read(Box<ClientJsonRpcMessage>),
    /// Hand it to rmcp as it is.
    Pass,
    /// Answer it with an error (the line is replaced).
    Answer { id: Value, error: Unreadable },
    /// Nobody to answer: drop it (logged).
    Drop(String),
}

/// Read `input` line by line, judging each line: messages go to `read`,
/// lines rmcp is to read itself to `output`. Returns when `input` ends or
/// either receiver is gone.
pub(crate) async fn pump<R, W>(
    mut input: R,
    mut output: W,
    read: mpsc::Sender<ClientJsonRpcMessage>,
) where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut line = Vec::new();
    // Before any message was read, rmcp would answer the internal request
    // an unreadable one becomes with its own complaint about missing
    // protocol metadata, not the parse error; such lines are dropped
    // (logged) then.
    let mut initialized = false;
    // Whether rmcp was handed a request that opens the session; see
    // [`opens_session`].
    let mut opened = false;
    loop {
        let overflow = match read_line(&mut input, &mut line).await {
            Ok(Some(overflow)) => overflow,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "stdin read failed; ending the session");
                return;
            }
        };
        let verdict = judge(&line, overflow);
        let forwarded: Vec<u8> = match verdict {
            Verdict::Read(message) => {
                if !opened {
                    match opens_session(&message) {
                        Some(opens) => opened = opens,
                        None => {
                            tracing::warn!(
                                "a notification or response before `initialize` dropped: a client sends `initialize` first"
                            );
                            continue;
                        }
                    }
                }
                initialized = true;
                if read.send(*message).await.is_err() {
                    return;
                }
                continue;
            }
            Verdict::Pass => {
                initialized |= !line.iter().all(u8::is_ascii_whitespace);
                std::mem::take(&mut line)
            }
            Verdict::Answer { id, error } if initialized => {
                tracing::debug!(%id, message = %error.message, "answering an unreadable request");
                json!({"jsonrpc": "2.0", "id": id, "method": UNREADABLE_METHOD, "params": error})
                    .to_string()
                    .into_bytes()
            }
            Verdict::Answer { error, .. } => {
                tracing::warn!(message = %error.message, "unreadable request before initialize dropped");
                continue;
            }
            Verdict::Drop(why) => {
                tracing::warn!(%why, "unreadable line without a request id dropped");
                continue;
            }
        };
        line.clear();
        let written = async {
            output.write_all(&forwarded).await?;
            output.write_all(b"\n").await?;
            output.flush().await
        };
        if written.await.is_err() {
            return;
        }
    }
}

/// Whether handing `message` to rmcp opens the session: `Some(true)` for
/// `initialize` (or a request carrying the per-request protocol metadata
/// that opens a session without it), `Some(false)` for any other request,
/// which rmcp answers and keeps waiting. `None` for a notification or a
/// response: until a session is open, rmcp takes one as a broken handshake
/// and ends the whole session, so it must not reach rmcp (a client that
/// sends `notifications/initialized` after a failed `initialize` would
/// otherwise lose its server).
fn opens_session(message: &ClientJsonRpcMessage) -> Option<bool> {
    let JsonRpcMessage::Request(request) = message else {
        return None;
    };
    Some(match &request.request {
        ClientRequest::InitializeRequest(_) => true,
        ClientRequest::PingRequest(_) | ClientRequest::DiscoverRequest(_) => false,
        other => {
            let meta = other.get_meta();
            meta.protocol_version().is_some()
                && meta
                    .missing_required_keys(&ProtocolVersion::V_2026_07_28)
                    .is_empty()
        }
    })
}

/// Read one line (without its `\n`) into `line`, keeping at most
/// [`MAX_LINE`] bytes and, past that, only the first [`KEPT_PREFIX`].
/// `Some(true)` for an over-long line, `None` at the end of input (a final
/// line without `\n` is dropped, as rmcp does).
async fn read_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut overflow = false;
    loop {
        let available = input.fill_buf().await?;
        if available.is_empty() {
            return Ok(None);
        }
        let newline = available.iter().position(|b| *b == b'\n');
        let chunk = &available[..newline.unwrap_or(available.len())];
        if !overflow && line.len() + chunk.len() > MAX_LINE {
            overflow = true;
            line.truncate(KEPT_PREFIX);
        }
        let room = if overflow {
            KEPT_PREFIX.saturating_sub(line.len())
        } else {
            chunk.len()
        };
        line.extend_from_slice(&chunk[..room.min(chunk.len())]);
        let consumed = newline.map_or(available.len(), |at| at + 1);
        input.consume(consumed);
        if newline.is_some() {
            return Ok(Some(overflow));
        }
    }
}

fn judge(line: &[u8], overflow: bool) -> Verdict {
    let body = line.strip_suffix(b"\r").unwrap_or(line);
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let answer = |code: i32, message: String| {
        let outline = outline(body);
        match (outline.id, outline.has_method) {
            (Some(id), true) => Verdict::Answer {
                id,
                error: Unreadable { code, message },
            },
            _ => Verdict::Drop(message),
        }
    };
    if overflow {
        return answer(
            INVALID_REQUEST,
            format!("Invalid request: the line is longer than {MAX_LINE} bytes"),
        );
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Pass;
    }
    if std::str::from_utf8(body).is_err() {
        return answer(
            PARSE_ERROR,
            "Parse error: the line is not valid UTF-8".into(),
        );
    }
    if let Ok(message) = serde_json::from_slice::<ClientJsonRpcMessage>(body) {
        return Verdict::Read(Box::new(message));
    }
    match serde_json::from_slice::<Value>(body) {
        // Read as JSON but not as a JSON-RPC message rmcp accepts.
        Ok(_) => match answer(
            INVALID_REQUEST,
            "Invalid request: not a JSON-RPC 2.0 request of a known shape".into(),
        ) {
            // rmcp answers or ignores it itself (notifications, responses).
            Verdict::Drop(_) => Verdict::Pass,
            answered => answered,
        },
        Err(e) => answer(
            PARSE_ERROR,
            format!(
                "Parse error: {} (JSON numbers must fit a 64-bit float, nesting is limited to 128 levels)",
                syntax_error(&e)
            ),
        ),
    }
}

/// serde_json's message without its echo of the input (it names only a
/// position, but keep it to the category and place).
fn syntax_error(e: &serde_json::Error) -> String {
    format!("invalid JSON at line {} column {}", e.line(), e.column())
}

/// What a lenient scan of a top-level JSON object found.
#[derive(Debug, Default, PartialEq)]
struct Outline {
    /// The `id` member, when it is a string or an integer.
    id: Option<Value>,
    /// Whether a `method` member is there.
    has_method: bool,
}

/// Scan the top level of a JSON object for `id` and `method` without
/// parsing the values: no recursion, no number conversion, and bytes that
/// are not UTF-8 inside strings are skipped. Stops quietly at the first
/// thing it cannot follow.
fn outline(line: &[u8]) -> Outline {
    let mut found = Outline::default();
    let mut at = skip_space(line, 0);
    if line.get(at) != Some(&b'{') {
        return found;
    }
    at += 1;
    loop {
        at = skip_space(line, at);
        if line.get(at) != Some(&b'"') {
            return found;
        }
        let Some(key_end) = string_end(line, at) else {
            return found;
        };
        let key = &line[at + 1..key_end - 1];
        at = skip_space(line, key_end);
        if line.get(at) != Some(&b':') {
            return found;
        }
        at = skip_space(line, at + 1);
        let Some(value_end) = value_end(line, at) else {
            return found;
        };
        match key {
            b"id" if found.id.is_none() => found.id = readable_id(&line[at..value_end]),
            b"method" => found.has_method = true,
            _ => {}
        }
        at = skip_space(line, value_end);
        if line.get(at) != Some(&b',') {
            return found;
        }
        at += 1;
    }
}

/// A JSON-RPC id: a string, or an integer that fits 64 bits.
fn readable_id(raw: &[u8]) -> Option<Value> {
    match serde_json::from_slice::<Value>(raw).ok()? {
        Value::String(s) => Some(Value::String(s)),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(Value::Number(n)),
        _ => None,
    }
}

fn skip_space(line: &[u8], mut at: usize) -> usize {
    while line.get(at).is_some_and(|b| b" \t\r\n".contains(b)) {
        at += 1;
    }
    at
}

/// The index after the closing quote of the string starting at `start`.
fn string_end(line: &[u8], start: usize) -> Option<usize> {
    let mut at = start + 1;
    loop {
        match line.get(at)? {
            b'\\' => at += 2,
            b'"' => return Some(at + 1),
            _ => at += 1,
        }
    }
}

/// The index after the value starting at `start`: a string, an object or
/// array (brackets counted, strings skipped), or a bare scalar.
fn value_end(line: &[u8], start: usize) -> Option<usize> {
    match line.get(start)? {
        b'"' => string_end(line, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut at = start;
            loop {
                match line.get(at)? {
                    b'"' => {
                        at = string_end(line, at)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(at + 1);
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
        }
        _ => {
            let mut at = start;
            while line.get(at).is_some_and(|b| !b",}] \t\r\n".contains(b)) {
                at += 1;
            }
            // A scalar cut off by the end of a kept prefix may be
            // incomplete: only a terminated one counts.
            (at > start && at < line.len()).then_some(at)
        }
    }
}

#[cfg(test)]
mod tests;
