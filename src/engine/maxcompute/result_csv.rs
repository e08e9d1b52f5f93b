//! The `?result` CSV fallback (docs/maxcompute-rest.md §4.4): what a query's
//! rows look like when the instance tunnel is refused.
//!
//! RFC 4180 with MaxCompute's conventions: the first row holds the column
//! names, an *unquoted* `\N` is NULL, quoted fields double their quotes and
//! may span lines. The payload carries no types, so every value is text;
//! the server also caps it at 10,000 rows, which the engine reports. This
//! module parses text; it does not fetch it.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

/// The parsed CSV: header names and rows of text (NULL as `None`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct CsvTable {
    /// Column names from the header row.
    pub(crate) columns: Vec<String>,
    /// Rows in order, each as long as `columns`.
    pub(crate) rows: Vec<Vec<Option<String>>>,
}

/// Why a CSV payload is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CsvError {
    /// `Transform="Base64"` but the payload is not base64 of UTF-8.
    #[error("the result is marked base64 but does not decode")]
    Base64,
    /// A quoted field never closes.
    #[error("a quoted field starting on row {0} never closes")]
    Unclosed(usize),
    /// A row has a different number of fields than the header.
    #[error("row {row} has {found} fields, the header has {expected}")]
    Ragged {
        /// 1-based row number (header = 0).
        row: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
}

/// Decode a `<Result>` payload (base64 when `transform_base64`) and parse it.
pub(crate) fn parse_result(payload: &str, transform_base64: bool) -> Result<CsvTable, CsvError> {
    if transform_base64 {
        parse(&decode_base64(payload)?)
    } else {
        parse(payload)
    }
}

/// Undo `Transform="Base64"` (the text may be wrapped over lines).
pub(crate) fn decode_base64(payload: &str) -> Result<String, CsvError> {
    let cleaned: String = payload.split_whitespace().collect();
    let bytes = BASE64.decode(cleaned).map_err(|_| CsvError::Base64)?;
    String::from_utf8(bytes).map_err(|_| CsvError::Base64)
}

/// Parse CSV text whose first row is the header.
pub(crate) fn parse(text: &str) -> Result<CsvTable, CsvError> {
    let mut records = Records {
        chars: text.chars().peekable(),
        row: 0,
    };
    let Some(header) = records.next_record()? else {
        return Ok(CsvTable::default());
    };
    let columns: Vec<String> = header.into_iter().map(|f| f.unwrap_or_default()).collect();
    let mut rows = Vec::new();
    while let Some(row) = records.next_record()? {
        if row.len() != columns.len() {
            return Err(CsvError::Ragged {
                row: rows.len() + 1,
                expected: columns.len(),
                found: row.len(),
            });
        }
        rows.push(row);
    }
    Ok(CsvTable { columns, rows })
}

struct Records<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    row: usize,
}

impl Records<'_> {
    /// The next record, or `None` at the end. A blank line ends nothing
    /// and is skipped (the payload ends with a newline).
    fn next_record(&mut self) -> Result<Option<Vec<Option<String>>>, CsvError> {
        loop {
            match self.chars.peek() {
                None => return Ok(None),
                Some('\n') | Some('\r') => {
                    self.chars.next();
                }
                Some(_) => break,
            }
        }
        let mut fields = Vec::new();
        loop {
            let (field, more) = self.next_field()?;
            fields.push(field);
            if !more {
                self.row += 1;
                return Ok(Some(fields));
            }
        }
    }

    /// One field, and whether another field follows on this record.
    fn next_field(&mut self) -> Result<(Option<String>, bool), CsvError> {
        let mut value = String::new();
        let quoted = self.chars.peek() == Some(&'"');
        if quoted {
            self.chars.next();
            loop {
                match self.chars.next() {
                    None => return Err(CsvError::Unclosed(self.row)),
                    Some('"') if self.chars.peek() == Some(&'"') => {
                        self.chars.next();
                        value.push('"');
                    }
                    Some('"') => break,
                    Some(c) => value.push(c),
                }
            }
        }
        loop {
            match self.chars.next() {
                None | Some('\n') => break,
                Some('\r') if self.chars.peek() == Some(&'\n') => {}
                Some(',') => return Ok((self.finish(value, quoted), true)),
                Some(c) => value.push(c),
            }
        }
        Ok((self.finish(value, quoted), false))
    }

    fn finish(&self, value: String, quoted: bool) -> Option<String> {
        (quoted || value != "\\N").then_some(value)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
