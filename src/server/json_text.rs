//! A JSON string written piece by piece: text goes in through
//! [`fmt::Write`] and comes out escaped on an [`io::Write`], without the
//! whole string ever being in memory.
//!
//! The escaping is serde_json's own (its serializer, with a formatter that
//! leaves out the quotes), so the bytes are exactly those of the string
//! serialized whole.

use std::fmt;
use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// Escapes the pieces written to it onto `W`, without the quotes around
/// them; the caller writes those.
pub(crate) struct JsonText<'a, W: io::Write> {
    serializer: serde_json::Serializer<&'a mut W, Unquoted>,
    /// The first failure to write, which `fmt::Error` cannot carry.
    error: Option<serde_json::Error>,
}

impl<'a, W: io::Write> JsonText<'a, W> {
    /// The contents of a JSON string, escaped onto `out`.
    pub(crate) fn new(out: &'a mut W) -> Self {
        Self {
            serializer: serde_json::Serializer::with_formatter(out, Unquoted),
            error: None,
        }
    }

    /// The write failure behind a `fmt::Error`, as an I/O error.
    pub(crate) fn into_error(self) -> io::Error {
        match self.error {
            Some(error) => error.into(),
            None => io::Error::other("the text could not be written"),
        }
    }
}

impl<W: io::Write> fmt::Write for JsonText<'_, W> {
    fn write_str(&mut self, piece: &str) -> fmt::Result {
        piece.serialize(&mut self.serializer).map_err(|error| {
            self.error.get_or_insert(error);
            fmt::Error
        })
    }
}

/// serde_json's compact output (every method but two keeps its default),
/// with strings written without their quotes.
pub(crate) struct Unquoted;

impl Formatter for Unquoted {
    fn begin_string<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn end_string<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
