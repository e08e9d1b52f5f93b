//! One outgoing JSON-RPC message over stdio, as written: the message rmcp
//! made, with a held tool result ([`super::held`]) written in place of its
//! placeholders.
//!
//! The message is serialized as rmcp's own writer does (compact JSON and a
//! line break). For a tool call's answer that is a small skeleton, since
//! the text block and the structured content are placeholders; the writer
//! copies the skeleton up to each placeholder and writes the envelope, or
//! the escaped text, straight from the held rows in its place. Only the
//! skeleton is searched for placeholders, never what is written into it,
//! so nothing inside a cell can be taken for one; and a skeleton where the
//! nonce turns up anywhere but in the two expected places is not written
//! at all (the request gets a JSON-RPC error instead), so the nonce never
//! leaves the process.

use std::io::{self, Write};
use std::ops::Range;

use rmcp::model::{ErrorData, RequestId, ServerJsonRpcMessage};

use crate::tools::ToolOutput;

use super::held::Taken;
use super::json_text::JsonText;

/// Bytes buffered before each write to stdout.
const WRITE_BUFFER: usize = 64 * 1024;

/// A message ready to be written.
pub(crate) enum Frame {
    /// Written as serialized.
    Plain(String),
    /// A tool call's answer: the skeleton, with the output written at the
    /// two cuts (in order).
    Streamed {
        skeleton: String,
        cuts: [Cut; 2],
        output: Box<ToolOutput>,
    },
}

/// Where a placeholder is in the skeleton, and what replaces it.
pub(crate) struct Cut {
    at: Range<usize>,
    part: Part,
}

/// What replaces a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The envelope (structured content).
    Envelope,
    /// The text rendering, as a JSON string.
    Text,
}

/// The request a response or error answers.
pub(crate) fn answered(message: &ServerJsonRpcMessage) -> Option<&RequestId> {
    match message {
        ServerJsonRpcMessage::Response(response) => Some(&response.id),
        ServerJsonRpcMessage::Error(error) => error.id.as_ref(),
        _ => None,
    }
}

impl Frame {
    /// `message` ready to write, with `taken` (the held result of the
    /// request it answers, if any) in place of its placeholders; `nonce`
    /// is what every placeholder carries.
    pub(crate) fn new(
        message: &ServerJsonRpcMessage,
        taken: Option<Taken>,
        nonce: &str,
    ) -> serde_json::Result<Frame> {
        let skeleton = serde_json::to_string(message)?;
        let carried = skeleton.matches(nonce).count();
        if carried == 0 {
            // Not a streamed answer (a held result, if any, belonged to
            // another request that reused this id: rmcp drops its answer).
            return Ok(Frame::Plain(skeleton));
        }
        let cuts = taken.as_ref().and_then(|taken| {
            let envelope = only(&skeleton, &taken.envelope_token)?;
            let text = only(&skeleton, &taken.text_token)?;
            (carried == 2).then_some((envelope, text))
        });
        match (cuts, taken) {
            (Some((envelope, text)), Some(taken)) => {
                let envelope = Cut {
                    at: envelope,
                    part: Part::Envelope,
                };
                let text = Cut {
                    at: text,
                    part: Part::Text,
                };
                let cuts = if envelope.at.start < text.at.start {
                    [envelope, text]
                } else {
                    [text, envelope]
                };
                Ok(Frame::Streamed {
                    skeleton,
                    cuts,
                    output: Box::new(taken.output),
                })
            }
            _ => refusal(answered(message)),
        }
    }

    /// Write the frame and its line break to `out`, and flush.
    pub(crate) fn write_to<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        let mut out = io::BufWriter::with_capacity(WRITE_BUFFER, out);
        self.write_all_to(&mut out)?;
        out.flush()
    }

    /// The whole frame with its line break, when it is at most `max`
    /// bytes; `None` as soon as it is longer.
    pub(crate) fn to_bytes_within(&self, max: usize) -> Option<Vec<u8>> {
        let mut capped = Capped {
            bytes: Vec::new(),
            max,
        };
        self.write_all_to(&mut capped).ok()?;
        Some(capped.bytes)
    }

    fn write_all_to<W: Write>(&self, out: &mut W) -> io::Result<()> {
        match self {
            Frame::Plain(text) => out.write_all(text.as_bytes())?,
            Frame::Streamed {
                skeleton,
                cuts,
                output,
            } => {
                let mut at = 0;
                for cut in cuts {
                    out.write_all(&skeleton.as_bytes()[at..cut.at.start])?;
                    match cut.part {
                        Part::Envelope => output.write_compact(&mut *out)?,
                        Part::Text => write_text(&mut *out, output)?,
                    }
                    at = cut.at.end;
                }
                out.write_all(&skeleton.as_bytes()[at..])?;
            }
        }
        out.write_all(b"\n")
    }
}

/// Bytes in memory, refusing to grow past `max`.
struct Capped {
    bytes: Vec<u8>,
    max: usize,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > self.max {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "the frame is longer than the cap",
            ));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where `needle` is in `haystack`, when it is there exactly once.
fn only(haystack: &str, needle: &str) -> Option<Range<usize>> {
    let mut found = haystack.match_indices(needle);
    let (start, _) = found.next()?;
    found
        .next()
        .is_none()
        .then_some(start..start + needle.len())
}

/// The answer written instead of a message that carries the nonce where no
/// held result is: the JSON-RPC internal error, for the request it
/// answered.
fn refusal(id: Option<&RequestId>) -> serde_json::Result<Frame> {
    tracing::error!(
        ?id,
        "an answer carried a result placeholder that stands for no held result; answering with an error"
    );
    let error = ErrorData::internal_error(
        "the result of this request could not be written; send the request again",
        None,
    );
    let message = ServerJsonRpcMessage::error(error, id.cloned());
    serde_json::to_string(&message).map(Frame::Plain)
}

/// The text rendering of `output` as a JSON string.
fn write_text<W: Write>(out: &mut W, output: &ToolOutput) -> io::Result<()> {
    out.write_all(b"\"")?;
    let mut text = JsonText::new(out);
    if output.write_text(&mut text).is_err() {
        return Err(text.into_error());
    }
    out.write_all(b"\"")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
