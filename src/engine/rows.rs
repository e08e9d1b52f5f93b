//! The rows of a result, held once, as the compact JSON the response is
//! made of.
//!
//! Each row is serialized when it arrives (by the [`ResultBuilder`]) and
//! kept as its compact JSON array text, one row per line, in one growing
//! string: no tree of values per cell, and nothing to serialize again.
//! Compact JSON never holds a raw line break (it is escaped inside
//! strings), so the line breaks are the row boundaries and no index is
//! kept. The response is written from that text: the fenced text content
//! verbatim, the envelope through [`Serialize`], which decodes one row at a
//! time and writes it through the caller's serializer (so a pretty printer
//! still indents every cell, exactly as it did for a tree of values).
//!
//! The decode is exact: serde_json prints a double as the shortest text
//! that reads back as the same double, and the `float_roundtrip` feature
//! makes that read exact; integers, strings and objects (in order) read
//! back as they were.
//!
//! [`ResultBuilder`]: super::result::ResultBuilder

use std::fmt;
use std::io;

use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// Containers deeper than this inside one cell are kept as the cell's JSON
/// text: serde_json reads at most 128 levels, and a row, its envelope and
/// the JSON-RPC message add their own around the cell, so a deeper value
/// could be written but not read back by the client.
const MAX_CELL_DEPTH: usize = 100;

/// Rows of a query result, each a compact JSON array, in order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Rows {
    /// Every row's compact JSON text followed by a line break.
    text: String,
    /// How many rows `text` holds.
    count: usize,
}

impl Rows {
    /// No rows.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Each row's compact JSON array text, in order.
    pub fn json_rows(&self) -> impl Iterator<Item = &str> + '_ {
        self.text.split_terminator('\n')
    }

    /// Each row, decoded into its cells.
    pub fn iter(&self) -> impl Iterator<Item = Vec<Value>> + '_ {
        self.json_rows().map(decode)
    }

    /// Row `index`, decoded, if there is one.
    pub fn get(&self, index: usize) -> Option<Vec<Value>> {
        self.json_rows().nth(index).map(decode)
    }

    /// The first row, decoded, if there is one.
    pub fn first(&self) -> Option<Vec<Value>> {
        self.get(0)
    }

    /// Every row, decoded (for a caller that wants a tree; the response is
    /// written without one).
    pub fn to_vec(&self) -> Vec<Vec<Value>> {
        self.iter().collect()
    }

    /// The rows as a JSON array value.
    pub fn to_value(&self) -> Value {
        Value::Array(self.iter().map(Value::Array).collect())
    }

    /// Write the rows as one compact JSON array, copied from their text:
    /// the same bytes as serializing [`Rows::to_value`] compactly, without
    /// decoding a row.
    pub fn write_compact<W: io::Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        out.write_all(b"[")?;
        for (i, row) in self.json_rows().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(row.as_bytes())?;
        }
        out.write_all(b"]")
    }

    /// Bytes of the rows written as one compact JSON array.
    pub fn json_len(&self) -> u64 {
        // Each row's line break stands for a comma, the last one for `]`.
        (self.text.len() as u64 + 1).max(2)
    }

    /// Append a row, serialized once; returns its bytes as compact JSON.
    pub(crate) fn push(&mut self, cells: &[Value]) -> u64 {
        let written = self.push_with(|row| {
            for cell in cells {
                row.value(cell);
            }
            Ok::<_, std::convert::Infallible>(())
        });
        written.unwrap_or_else(|never| match never {})
    }

    /// Append a row that `write` writes cell by cell; returns its bytes as
    /// compact JSON. When `write` fails, nothing is appended.
    pub(crate) fn push_with<E>(
        &mut self,
        write: impl FnOnce(&mut RowText) -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut row = RowText {
            bytes: Vec::with_capacity(256),
        };
        row.bytes.push(b'[');
        write(&mut row)?;
        row.bytes.push(b']');
        // Checked as UTF-8 once per row (serde_json writes nothing else).
        let start = self.text.len();
        self.text.push_str(&String::from_utf8_lossy(&row.bytes));
        let bytes = (self.text.len() - start) as u64;
        self.text.push('\n');
        self.count += 1;
        Ok(bytes)
    }

    /// Drop the last row (one that did not fit).
    pub(crate) fn pop(&mut self) {
        if self.count == 0 {
            return;
        }
        // The last row's own line break is the text's last byte.
        let body = &self.text[..self.text.len() - 1];
        let start = body.rfind('\n').map_or(0, |at| at + 1);
        self.text.truncate(start);
        self.count -= 1;
    }
}

/// One row's compact JSON as it is written, cell by cell, straight into
/// bytes: no `Value` is needed for a cell an engine has as text.
pub(crate) struct RowText {
    /// The row so far, from its `[`.
    bytes: Vec<u8>,
}

impl RowText {
    /// Append a cell holding `text`, as a JSON string.
    pub(crate) fn string(&mut self, text: &str) {
        self.separate();
        // Writing into memory cannot fail.
        let _ = serde_json::to_writer(&mut self.bytes, text);
    }

    /// Append a cell holding a scalar (a boolean, an integer, `()` for
    /// null), as serde_json prints it.
    pub(crate) fn scalar(&mut self, value: &impl Serialize) {
        self.separate();
        // Writing a scalar into memory cannot fail.
        let _ = serde_json::to_writer(&mut self.bytes, value);
    }

    /// Append a cell holding `value`; one nested too deep to read back is
    /// kept as its JSON text.
    pub(crate) fn value(&mut self, value: &Value) {
        self.separate();
        // Writing a `Value` into memory cannot fail: its map keys are
        // strings.
        let _ = if depth(value) > MAX_CELL_DEPTH {
            serde_json::to_writer(&mut self.bytes, &value.to_string())
        } else {
            serde_json::to_writer(&mut self.bytes, value)
        };
    }

    /// An empty JSON array being written, for the elements of a nested
    /// cell ([`CellWriter::unbounded`] writes them).
    ///
    /// [`CellWriter::unbounded`]: super::result::CellWriter::unbounded
    pub(crate) fn array() -> Self {
        Self { bytes: vec![b'['] }
    }

    /// Append `json`, compact JSON text, as the next cell or element.
    pub(crate) fn raw(&mut self, json: &str) {
        self.separate();
        self.bytes.extend_from_slice(json.as_bytes());
    }

    /// The array written since [`Self::array`], closed, as its text.
    pub(crate) fn close(mut self) -> String {
        self.bytes.push(b']');
        // serde_json writes nothing but UTF-8, and `raw` takes `&str`.
        String::from_utf8(self.bytes)
            .unwrap_or_else(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned())
    }

    /// A comma before every cell but the first (only the `[` is written
    /// before that one).
    fn separate(&mut self) {
        if self.bytes.len() > 1 {
            self.bytes.push(b',');
        }
    }
}

/// Containers nested in `value` (0 for a scalar).
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A row's cells from its text. The text was written from values by
/// [`Rows::push`], within the reader's depth, so it always reads back.
fn decode(row: &str) -> Vec<Value> {
    serde_json::from_str(row).unwrap_or_default()
}

impl Serialize for Rows {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.count))?;
        for row in self.json_rows() {
            // One row's tree at a time, never the whole result's.
            let cells: Vec<Value> = serde_json::from_str(row).map_err(S::Error::custom)?;
            seq.serialize_element(&cells)?;
        }
        seq.end()
    }
}

impl From<Vec<Vec<Value>>> for Rows {
    fn from(rows: Vec<Vec<Value>>) -> Self {
        rows.into_iter().collect()
    }
}

impl FromIterator<Vec<Value>> for Rows {
    fn from_iter<I: IntoIterator<Item = Vec<Value>>>(rows: I) -> Self {
        let mut out = Self::new();
        for row in rows {
            out.push(&row);
        }
        out
    }
}

impl PartialEq<Vec<Vec<Value>>> for Rows {
    fn eq(&self, other: &Vec<Vec<Value>>) -> bool {
        self.count == other.len() && self.iter().zip(other).all(|(a, b)| &a == b)
    }
}

impl fmt::Debug for Rows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
