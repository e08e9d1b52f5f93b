//! Assembling a [`QueryResult`] under the caps of a [`CheckedQuery`], for
//! every engine: the applied row limit (one row more is read, so the extra
//! row proves truncation), the per-cell byte cap and the total byte cap.
//!
//! Each engine decodes a row once and pushes it here as it arrives, as its
//! cells ([`ResultBuilder::push_cut`]) or written cell by cell through a
//! [`CellWriter`] ([`ResultBuilder::push_with`]: PostgreSQL's strings go
//! from the wire bytes into the row's JSON without a `Value` of their
//! own). The builder cuts the cells, writes the row once as compact JSON
//! into the result's [`Rows`](crate::engine::Rows) (the text the response
//! is made of), counts those bytes and says when to stop reading. It never
//! reads anything itself, so the caps hold the same way on every path
//! (PostgreSQL's portal, MaxCompute's tunnel stream and `?result` CSV).
//!
//! [`CheckedQuery`]: crate::guard::CheckedQuery

use std::io;

use serde_json::Value;

use super::rows::RowText;
use crate::engine::{QueryResult, ResultColumn, Truncation};

/// Collects rows until a cap is hit.
#[derive(Debug)]
pub(crate) struct ResultBuilder {
    limit: u64,
    max_cell_bytes: usize,
    max_result_bytes: u64,
    result: QueryResult,
}

impl ResultBuilder {
    /// A builder for `columns` with the query's caps.
    pub(crate) fn new(
        columns: Vec<ResultColumn>,
        limit: u64,
        max_cell_bytes: u64,
        max_result_bytes: u64,
    ) -> Self {
        Self {
            limit,
            max_cell_bytes: usize::try_from(max_cell_bytes).unwrap_or(usize::MAX),
            max_result_bytes,
            result: QueryResult {
                columns,
                ..QueryResult::default()
            },
        }
    }

    /// The result's columns, for an engine that learns their types late.
    pub(crate) fn columns_mut(&mut self) -> &mut [ResultColumn] {
        &mut self.result.columns
    }

    /// Whether a row arriving now is the one past the applied limit (it
    /// proves truncation and is not kept); marks the result cut by rows.
    /// An engine asks before it decodes a row.
    pub(crate) fn at_row_limit(&mut self) -> bool {
        let full = self.result.rows.len() as u64 >= self.limit;
        if full {
            self.result.truncation = Some(Truncation::RowLimit);
        }
        full
    }

    /// Add a row; `false` means a cap was reached and reading should stop
    /// (the row was not added).
    pub(crate) fn push(&mut self, row: Vec<Value>) -> bool {
        self.push_cut(row, 0)
    }

    /// [`Self::push`] for a row of which `cut_at_source` cells were already
    /// cut where they came from (they count as cut).
    pub(crate) fn push_cut(&mut self, row: Vec<Value>, cut_at_source: u64) -> bool {
        let pushed = self.push_with(|cells| {
            cells.cut += cut_at_source;
            for cell in row {
                cells.value(cell);
            }
            Ok::<_, std::convert::Infallible>(())
        });
        pushed.unwrap_or_else(|never| match never {})
    }

    /// Add a row that `write` writes cell by cell, each capped as it is
    /// written; `Ok(false)` means a cap was reached and reading should stop
    /// (the row was not added). When `write` fails, nothing is added.
    pub(crate) fn push_with<E>(
        &mut self,
        write: impl FnOnce(&mut CellWriter<'_>) -> Result<(), E>,
    ) -> Result<bool, E> {
        if self.at_row_limit() {
            return Ok(false);
        }
        let max = self.max_cell_bytes;
        let mut cut = 0;
        // Written once, where it stays; a row that does not fit is taken
        // back out whole. With cells capped far below the result cap, this
        // only ends long results.
        let bytes = self.result.rows.push_with(|row| {
            let mut cells = CellWriter { row, max, cut: 0 };
            write(&mut cells)?;
            cut = cells.cut;
            Ok(())
        })?;
        if self.result.bytes + bytes > self.max_result_bytes {
            self.result.rows.pop();
            self.result.truncation = Some(Truncation::ResultBytes);
            return Ok(false);
        }
        self.result.bytes += bytes;
        self.result.cells_truncated += cut;
        Ok(true)
    }

    /// Mark the result as cut by rows even though no extra row was seen
    /// (the server's own cap on inline results).
    pub(crate) fn mark_row_limit(&mut self) {
        self.result.truncation.get_or_insert(Truncation::RowLimit);
    }

    /// Whether a cap already stopped the result.
    pub(crate) fn stopped(&self) -> bool {
        self.result.truncation.is_some()
    }

    /// Rows collected so far.
    pub(crate) fn len(&self) -> usize {
        self.result.rows.len()
    }

    /// The finished result.
    pub(crate) fn finish(self) -> QueryResult {
        self.result
    }
}

/// The cells of one row as an engine writes them into a [`ResultBuilder`],
/// each cut to the cell cap and counted when it is.
pub(crate) struct CellWriter<'a> {
    row: &'a mut RowText,
    max: usize,
    cut: u64,
}

impl<'a> CellWriter<'a> {
    /// A writer of the elements of a nested cell into `items`: nothing is
    /// cut there, since the cell cap applies to the whole cell, which
    /// [`Self::json`] then writes.
    pub(crate) fn unbounded(items: &'a mut RowText) -> Self {
        Self {
            row: items,
            max: usize::MAX,
            cut: 0,
        }
    }

    /// A nested cell (an array) given as its compact JSON text: kept
    /// whole within the cell cap; over it, that text cut, as a string,
    /// just as [`Self::value`] cuts a nested value.
    pub(crate) fn json(&mut self, text: &str) {
        if text.len() <= self.max {
            self.row.raw(text);
        } else {
            self.cut += 1;
            self.row.string(cut_str(text, self.max));
        }
    }

    /// A cell of text, straight from the engine's bytes.
    pub(crate) fn text(&mut self, text: &str) {
        let kept = cut_str(text, self.max);
        self.cut += u64::from(kept.len() < text.len());
        self.row.string(kept);
    }

    /// A cell already cut where it came from: it counts as cut.
    pub(crate) fn cut_text(&mut self, text: &str) {
        self.cut += 1;
        self.row.string(cut_str(text, self.max));
    }

    /// A cell no cap cuts: a boolean, an integer, or `()` for null.
    pub(crate) fn scalar(&mut self, value: &impl serde::Serialize) {
        self.row.scalar(value);
    }

    /// Any other cell.
    pub(crate) fn value(&mut self, mut value: Value) {
        self.cut += u64::from(cap_cell(&mut value, self.max));
        self.row.value(&value);
    }
}

/// Cut a cell to `max` bytes; `true` when it was cut. Text is cut at a
/// character boundary; a nested value (array, map, struct, JSON) over the
/// cap becomes its JSON text, cut, because half a structure is not valid.
fn cap_cell(cell: &mut Value, max: usize) -> bool {
    match cell {
        Value::String(text) => cut_string(text, max),
        Value::Array(_) | Value::Object(_) => {
            if usize::try_from(json_len(cell)).unwrap_or(usize::MAX) <= max {
                return false;
            }
            let mut text = cell.to_string();
            cut_string(&mut text, max);
            *cell = Value::String(text);
            true
        }
        _ => false,
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
pub(crate) fn cut_str(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Cut `text` to at most `max` bytes, on a character boundary; `true` when
/// it was cut.
pub(crate) fn cut_string(text: &mut String, max: usize) -> bool {
    let end = cut_str(text, max).len();
    let cut = end < text.len();
    text.truncate(end);
    cut
}

/// Bytes of `value` as compact JSON, counted without writing the text (a
/// result may be many megabytes).
pub(crate) fn json_len(value: &impl serde::Serialize) -> u64 {
    struct Counter(u64);
    impl io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail; a value that does not serialize
    // counts what was written before it failed.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
