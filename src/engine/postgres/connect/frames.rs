//! The server's messages after authentication, read frame by frame so
//! that no single message can make sqlwarden hold more than a bounded
//! amount of memory.
//!
//! tokio-postgres reads each backend message whole before it decodes it.
//! The checked query's cells are bounded on the server (`bound.rs`), but
//! two kinds of message still carry whatever the query computed:
//!
//! - an `ErrorResponse` or `NoticeResponse` can quote a computed value
//!   (`invalid input syntax for type integer: "xxx…"`) as large as the
//!   value itself. Those are cut here as they stream past: each field is
//!   kept up to [`MAX_FIELD`] bytes (cut on a character boundary and
//!   marked with `…`), so the error still arrives, with its SQLSTATE,
//!   and still reads as the server's words;
//! - any other message (a plan text that folded a huge constant, a row of
//!   a metadata query) larger than [`MAX_MESSAGE`] ends the connection
//!   with [`MessageTooLarge`] before any of it is held.

use std::io;
use std::sync::{Arc, OnceLock};

/// An error or notice whose body is larger than this is cut field by
/// field; smaller ones pass untouched.
pub(crate) const MAX_NOTICE_BODY: usize = 64 * 1024;

/// Most bytes kept of one field of a cut error or notice.
pub(crate) const MAX_FIELD: usize = 8 * 1024;

/// Most bytes of fields kept of one cut error or notice; PostgreSQL sends
/// at most about twenty fields, so this only stops a broken server.
const MAX_CUT_BODY: usize = 32 * MAX_FIELD;

/// The largest message (other than errors and notices, which are cut)
/// that sqlwarden accepts from the server. A bounded row is at most about
/// 32 KiB per column at the default `max_cell_bytes`, so only a row of
/// hundreds of cut cells comes near this, and it could not fit the
/// default 1 MiB `max_result_bytes` anyway. Small enough that the copies
/// a plan's text goes through (JSON and text form, the envelope) stay
/// within the 64 MiB a call may take.
pub(crate) const MAX_MESSAGE: usize = 8 * 1024 * 1024;

/// Marks a field that was cut.
const CUT_MARK: &str = "…";

/// The server sent a message larger than sqlwarden holds; the connection
/// was ended before any of it was kept.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the server sent a message of {length} bytes (kind `{}`), more than the {} MiB sqlwarden holds at once", char::from(*.kind), MAX_MESSAGE >> 20)]
pub(crate) struct MessageTooLarge {
    /// The message's type byte.
    pub(crate) kind: u8,
    /// Its length, as its header gave it.
    pub(crate) length: usize,
}

/// Set when a connection's guard ended it for an oversize message.
///
/// tokio-postgres reports a failed stream to the waiting query only as a
/// closed connection; the engine reads the reason here, so the call is
/// refused as too large rather than as a lost server.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tripwire(Arc<OnceLock<MessageTooLarge>>);

impl Tripwire {
    /// Record why the connection was ended.
    pub(crate) fn trip(&self, too_large: MessageTooLarge) {
        let _ = self.0.set(too_large);
    }

    /// Why the connection was ended, if the guard ended it.
    pub(crate) fn tripped(&self) -> Option<&MessageTooLarge> {
        self.0.get()
    }
}

/// Where the reader is in the stream of messages.
#[derive(Debug, Default)]
pub(crate) enum Framing {
    /// At a message boundary, waiting for a whole 5-byte header.
    #[default]
    Header,
    /// Passing the rest of a message through: this many bytes are left.
    Body(usize),
    /// Cutting an oversize error or notice as it streams past.
    Cut(Cutter),
}

/// What [`Framing::advance`] did with the bytes it was shown.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Hand the first `n` bytes to the reader unchanged.
    Pass(usize),
    /// Drop the first `n` bytes (they are being cut).
    Drop(usize),
    /// Drop the first `n` bytes and hand `message` to the reader instead:
    /// the cut error or notice, whole and well-formed.
    Replace {
        /// Bytes consumed from the input.
        consumed: usize,
        /// The message to hand over in their place.
        message: Vec<u8>,
    },
    /// More bytes are needed before anything can be decided.
    NeedMore,
}

impl Framing {
    /// Decide what to do with the front of `pending`, the bytes read from
    /// the server and not yet judged.
    pub(crate) fn advance(&mut self, pending: &[u8]) -> io::Result<Step> {
        match self {
            Framing::Header => {
                let Some(header) = pending.get(..5) else {
                    return Ok(Step::NeedMore);
                };
                let kind = header[0];
                let length = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
                let length = usize::try_from(length).unwrap_or(usize::MAX);
                let Some(body) = length.checked_sub(4) else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "malformed message from the server",
                    ));
                };
                if matches!(kind, b'E' | b'N') && body > MAX_NOTICE_BODY {
                    *self = Framing::Cut(Cutter::new(kind, body));
                    return Ok(Step::Drop(5));
                }
                if length > MAX_MESSAGE {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        MessageTooLarge { kind, length },
                    ));
                }
                *self = if body == 0 {
                    Framing::Header
                } else {
                    Framing::Body(body)
                };
                Ok(Step::Pass(5))
            }
            Framing::Body(left) => {
                if pending.is_empty() {
                    return Ok(Step::NeedMore);
                }
                let n = pending.len().min(*left);
                *left -= n;
                if *left == 0 {
                    *self = Framing::Header;
                }
                Ok(Step::Pass(n))
            }
            Framing::Cut(cutter) => {
                if pending.is_empty() {
                    return Ok(Step::NeedMore);
                }
                let n = pending.len().min(cutter.left);
                cutter.feed(&pending[..n]);
                if cutter.left > 0 {
                    return Ok(Step::Drop(n));
                }
                let message = std::mem::take(cutter).finish();
                *self = Framing::Header;
                Ok(Step::Replace {
                    consumed: n,
                    message,
                })
            }
        }
    }
}

/// An error or notice being cut field by field as its body streams past.
///
/// The body is a list of fields, each a type byte and a NUL-terminated
/// string, ended by a NUL byte.
#[derive(Debug, Default)]
pub(crate) struct Cutter {
    kind: u8,
    /// Body bytes not yet seen.
    left: usize,
    /// The fields kept so far.
    kept: Vec<u8>,
    /// Where the current field's value starts in `kept`, while inside a
    /// field whose type byte was kept.
    field_start: Option<usize>,
    /// Inside a field that is being skipped (cut past its cap, or beyond
    /// [`MAX_CUT_BODY`]).
    skipping: bool,
    /// The terminating NUL was seen; the rest is ignored.
    ended: bool,
}

impl Cutter {
    fn new(kind: u8, body: usize) -> Self {
        Self {
            kind,
            left: body,
            ..Self::default()
        }
    }

    /// Take in the next bytes of the body.
    fn feed(&mut self, mut bytes: &[u8]) {
        self.left -= bytes.len();
        while !bytes.is_empty() && !self.ended {
            let in_field = self.field_start.is_some() || self.skipping;
            if !in_field {
                let kind = bytes[0];
                bytes = &bytes[1..];
                if kind == 0 {
                    self.ended = true;
                } else if self.kept.len() + MAX_FIELD + 8 > MAX_CUT_BODY {
                    self.skipping = true;
                } else {
                    self.kept.push(kind);
                    self.field_start = Some(self.kept.len());
                }
                continue;
            }
            let end = bytes.iter().position(|&b| b == 0);
            let (value, rest) = match end {
                Some(i) => (&bytes[..i], &bytes[i + 1..]),
                None => (bytes, &[][..]),
            };
            if let Some(start) = self.field_start {
                let room = MAX_FIELD.saturating_sub(self.kept.len() - start);
                if value.len() > room {
                    self.kept.extend_from_slice(&value[..room]);
                    self.close_cut_field(start);
                } else {
                    self.kept.extend_from_slice(value);
                }
            }
            if end.is_some() {
                if self.field_start.take().is_some() {
                    self.kept.push(0);
                }
                self.skipping = false;
            }
            bytes = rest;
        }
    }

    /// End the current field at its cap: drop a character split by the
    /// cut, mark the cut, and skip the rest of the field.
    fn close_cut_field(&mut self, start: usize) {
        let value = &self.kept[start..];
        if let Err(e) = std::str::from_utf8(value) {
            if e.error_len().is_none() {
                self.kept.truncate(start + e.valid_up_to());
            }
        }
        self.kept.extend_from_slice(CUT_MARK.as_bytes());
        self.kept.push(0);
        self.field_start = None;
        self.skipping = true;
    }

    /// The cut message, header included, well-formed whatever the body
    /// held.
    fn finish(mut self) -> Vec<u8> {
        if self.field_start.is_some() {
            self.kept.push(0);
        }
        self.kept.push(0);
        let length = u32::try_from(self.kept.len() + 4).unwrap_or(u32::MAX);
        let mut message = Vec::with_capacity(self.kept.len() + 5);
        message.push(self.kind);
        message.extend_from_slice(&length.to_be_bytes());
        message.extend_from_slice(&self.kept);
        message
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
