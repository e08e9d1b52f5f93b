//! Tool results held for the stdio writer ([`super::streamed`]), so that
//! the response is written from the result's rows as they are held
//! instead of from a tree of values built for rmcp.
//!
//! rmcp takes a result only as typed values. Over stdio the handler hands
//! it a stand-in instead: the text block and the structured content are
//! placeholder strings naming a slot here, and the writer puts the real
//! text and envelope in their place as it writes the message. A
//! placeholder holds a per-process nonce that never leaves the process
//! (the writer replaces every placeholder it writes, and refuses a
//! message where the nonce turns up anywhere else), so nothing a client
//! or the database sends can stand for a held result.
//!
//! A slot lives from the moment the transport reads a `tools/call` until
//! its answer (or any answer with the same request id) goes out, or the
//! client cancels the request; rmcp drops the answer of a cancelled
//! request, so a slot must not outlive the cancellation. A call whose
//! slot is gone by the time it finishes (cancelled, or its id reused) is
//! answered the ordinary way, with the tree of values.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rmcp::model::{CallToolResult, ContentBlock, RequestId};
use serde_json::Value;
use uuid::Uuid;

use crate::tools::ToolOutput;

/// A `tools/call` request's claim on its slot, put into the request's
/// extensions by the transport and read back by the handler.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    /// The table the slot is in.
    held: Arc<Held>,
    /// The slot's sequence number (unique in the process).
    seq: u64,
}

impl Ticket {
    /// The answer to request `id` as rmcp should carry it; see
    /// [`Held::finish`].
    pub(crate) fn finish(&self, id: &RequestId, output: ToolOutput) -> CallToolResult {
        self.held.finish(id, self.seq, output)
    }
}

/// The results waiting to be written, by request id.
pub(crate) struct Held {
    /// Secret, random, the same for every placeholder of this process.
    nonce: String,
    /// The next slot's sequence number.
    next: AtomicU64,
    /// One slot per request id being answered.
    slots: Mutex<HashMap<RequestId, Slot>>,
}

/// A request's place: its sequence number and, once finished, its result.
struct Slot {
    seq: u64,
    output: Option<ToolOutput>,
}

/// What [`Held::take`] found for an answer.
pub(crate) struct Taken {
    /// The placeholder of the structured content, as JSON text.
    pub(crate) envelope_token: String,
    /// The placeholder of the text block, as JSON text.
    pub(crate) text_token: String,
    /// The result to write in their place.
    pub(crate) output: ToolOutput,
}

/// Neither the nonce nor the results: debug output may reach a log.
impl fmt::Debug for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slots = self.slots.lock().map_or(0, |slots| slots.len());
        f.debug_struct("Held")
            .field("slots", &slots)
            .finish_non_exhaustive()
    }
}

impl Default for Held {
    fn default() -> Self {
        Self::with_nonce(Uuid::new_v4().simple().to_string())
    }
}

impl Held {
    /// A table whose placeholders carry `nonce` (tests choose it, to forge
    /// placeholders; the server takes a random one through `default`).
    pub(crate) fn with_nonce(nonce: String) -> Self {
        Self {
            nonce,
            next: AtomicU64::new(1),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The nonce every placeholder carries.
    pub(crate) fn nonce(&self) -> &str {
        &self.nonce
    }

    /// Open a slot for the `tools/call` request `id`; `None` when one is
    /// open for that id already (a client reusing an id in flight gets
    /// answers the ordinary way).
    pub(crate) fn open(self: &Arc<Self>, id: &RequestId) -> Option<Ticket> {
        let mut slots = self.slots.lock().ok()?;
        if slots.contains_key(id) {
            return None;
        }
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        slots.insert(id.clone(), Slot { seq, output: None });
        Some(Ticket {
            held: self.clone(),
            seq,
        })
    }

    /// Close the slot of `id`, whatever it holds: the request was
    /// cancelled, so its answer will never be written.
    pub(crate) fn close(&self, id: &RequestId) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.remove(id);
        }
    }

    /// The answer to `id` as rmcp should carry it: placeholders, with the
    /// output kept here, while the ticket's slot is still open; otherwise
    /// the output as a tree of values.
    fn finish(&self, id: &RequestId, seq: u64, output: ToolOutput) -> CallToolResult {
        let is_error = output.is_error;
        let mut output = Some(output);
        if let Ok(mut slots) = self.slots.lock() {
            if let Some(slot) = slots.get_mut(id) {
                if slot.seq == seq && slot.output.is_none() {
                    slot.output = output.take();
                }
            }
        }
        match output {
            // Not kept: built as a tree of values, outside the lock.
            Some(output) => value_result(output),
            None => {
                let (envelope, text) = self.placeholders(seq);
                result(is_error, text, Value::String(envelope))
            }
        }
    }

    /// Close the slot of the answer to `id` as it is written, and hand over
    /// its result with the placeholders that stand for it.
    pub(crate) fn take(&self, id: &RequestId) -> Option<Taken> {
        let slot = self.slots.lock().ok()?.remove(id)?;
        let output = slot.output?;
        let (envelope, text) = self.placeholders(slot.seq);
        Some(Taken {
            envelope_token: Value::String(envelope).to_string(),
            text_token: Value::String(text).to_string(),
            output,
        })
    }

    /// Slots open now.
    #[cfg(test)]
    pub(crate) fn open_slots(&self) -> usize {
        self.slots.lock().map_or(0, |slots| slots.len())
    }

    /// The placeholders of slot `seq`: structured content, then text.
    fn placeholders(&self, seq: u64) -> (String, String) {
        (
            format!("{}:{seq}:envelope", self.nonce),
            format!("{}:{seq}:text", self.nonce),
        )
    }
}

/// A tool output as an MCP result built from a tree of values: the
/// envelope as structured content, its text as the one content block,
/// `isError` on failure.
pub(crate) fn value_result(output: ToolOutput) -> CallToolResult {
    let text = output.text();
    let is_error = output.is_error;
    result(is_error, text, output.into_envelope())
}

fn result(is_error: bool, text: String, structured: Value) -> CallToolResult {
    let content = vec![ContentBlock::text(text)];
    let mut result = if is_error {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    // rmcp takes structured content as a tree of values only.
    result.structured_content = Some(structured);
    result
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
