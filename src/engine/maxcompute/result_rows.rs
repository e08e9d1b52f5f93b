//! Assembling a [`QueryResult`] under the caps of a [`CheckedQuery`]: the
//! applied row limit (the SQL asks for one row more, so the extra row proves
//! truncation), the per-cell byte cap and the total byte cap.
//!
//! Both result paths (tunnel stream, `?result` CSV) push rows through the
//! same [`ResultBuilder`], so the caps hold the same way on either. The
//! builder says when to stop reading; it never reads anything itself.
//!
//! [`CheckedQuery`]: crate::guard::CheckedQuery

use serde_json::Value;

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

    /// Add a row; `false` means a cap was reached and reading should stop
    /// (the row was not added).
    pub(crate) fn push(&mut self, mut row: Vec<Value>) -> bool {
        if self.result.rows.len() as u64 >= self.limit {
            self.result.truncation = Some(Truncation::RowLimit);
            return false;
        }
        for cell in &mut row {
            if self.cap_cell(cell) {
                self.result.cells_truncated += 1;
            }
        }
        let bytes = serde_json::to_vec(&row).map_or(0, |b| b.len() as u64);
        if self.result.bytes + bytes > self.max_result_bytes {
            self.result.truncation = Some(Truncation::ResultBytes);
            return false;
        }
        self.result.bytes += bytes;
        self.result.rows.push(row);
        true
    }

    /// Mark the result as cut by rows even though no extra row was seen
    /// (the server's own cap on inline results).
    pub(crate) fn mark_row_limit(&mut self) {
        self.result.truncation.get_or_insert(Truncation::RowLimit);
    }

    /// Rows collected so far.
    pub(crate) fn len(&self) -> usize {
        self.result.rows.len()
    }

    /// The finished result.
    pub(crate) fn finish(self) -> QueryResult {
        self.result
    }

    /// Cut a cell to the cap; `true` when it was cut. Text is cut at a
    /// character boundary; a nested value (array, map, struct, JSON) over the
    /// cap becomes its JSON text, cut, because half a structure is not valid.
    fn cap_cell(&self, cell: &mut Value) -> bool {
        let cap = self.max_cell_bytes;
        match cell {
            Value::String(text) if text.len() > cap => {
                text.truncate(floor_char_boundary(text, cap));
                true
            }
            Value::Array(_) | Value::Object(_) => {
                let text = cell.to_string();
                if text.len() > cap {
                    let cut = floor_char_boundary(&text, cap);
                    *cell = Value::String(text[..cut].to_owned());
                    true
                } else {
                    false
                }
            }
            _ => false,
        }
    }
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
