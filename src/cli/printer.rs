//! The one place the CLI writes to stdout, and its stderr messages in uv's
//! style (`error: ...` then `hint: ...`).
//!
//! stdout belongs to JSON-RPC when serving, so the crate denies
//! `print_stdout`; only this module may print, and only CLI commands call
//! it. A closed pipe (`sqlwarden query ... | head`) is not an error.
//!
//! Text printed here may carry what an agent or a database wrote (SQL in
//! the audit log, result cells, server messages). Every function escapes
//! control characters (ESC, CR, DEL, C1 and the bidirectional overrides)
//! as `\uXXXX`, so such text can neither move the cursor nor erase or
//! forge a line. Newlines and tabs stay, as the layout needs them; fields
//! that must stay on one line go through [`escape_line`] first. The
//! escape is JSON's own, so JSON documents stay valid and mean the same.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::borrow::Cow;
use std::io::Write;

/// Write `text` and a newline to stdout.
pub(crate) fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", escape_controls(text));
    let _ = stdout.flush();
}

/// Write `value` to stdout as indented JSON and a line break, as it is
/// serialized (a large result is never one string), with control and
/// bidirectional characters escaped as [`out`] escapes them.
pub(crate) fn out_json(value: &impl serde::Serialize) {
    // Buffered ahead of the escaping, which then scans large pieces rather
    // than every token serde_json writes.
    let stdout = Escaping::new(std::io::stdout().lock());
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout);
    let _ = serde_json::to_writer_pretty(&mut out, value);
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

/// A writer that escapes what [`escape_controls`] escapes on the way
/// through; a character split across two writes is held until it is whole.
struct Escaping<W: Write> {
    out: W,
    /// Bytes of a character not yet complete.
    pending: Vec<u8>,
}

impl<W: Write> Escaping<W> {
    fn new(out: W) -> Self {
        Self {
            out,
            pending: Vec::new(),
        }
    }

    fn write_text(&mut self, text: &str) -> std::io::Result<()> {
        self.out.write_all(escape_controls(text).as_bytes())
    }
}

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let joined;
        let bytes = if self.pending.is_empty() {
            buf
        } else {
            let mut held = std::mem::take(&mut self.pending);
            held.extend_from_slice(buf);
            joined = held;
            &joined[..]
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => self.write_text(text)?,
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                // `valid_up_to` ends on a character boundary.
                self.write_text(std::str::from_utf8(valid).unwrap_or_default())?;
                match e.error_len() {
                    // An incomplete character at the end: wait for the rest.
                    None => self.pending = rest.to_vec(),
                    // Not UTF-8 at all (serde_json never writes that).
                    Some(_) => self.write_text(&String::from_utf8_lossy(rest))?,
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.write_text(&String::from_utf8_lossy(&rest))?;
        }
        self.out.flush()
    }
}

/// Write an error and its hint to stderr.
pub(crate) fn error(message: &str, hint: Option<&str>) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {}", escape_controls(message));
    if let Some(hint) = hint {
        let _ = writeln!(stderr, "\nhint: {}", escape_controls(hint));
    }
}

/// Write a warning to stderr.
pub(crate) fn warn(message: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "warning: {}",
        escape_controls(message)
    );
}

/// Write a progress or status line to stderr.
pub(crate) fn status(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", escape_controls(message));
}

/// Redraw the one-line progress indicator on stderr (a terminal: the
/// caller checks). The line is cleared, not scrolled, so a long job shows
/// one changing line.
pub(crate) fn progress(message: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "\r\x1b[2K{}", escape_line(message));
    let _ = stderr.flush();
}

/// Whether `c` can act on a terminal or reorder what it shows: C0
/// controls, DEL, C1 controls, and the Unicode bidirectional marks,
/// embeddings, overrides and isolates.
fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape_where(text: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if escape(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` with every dangerous character but newline and tab escaped as
/// `\uXXXX`.
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| is_dangerous(c) && c != '\n' && c != '\t')
}

/// `text` with every dangerous character escaped, newlines and tabs
/// included: for a value that must stay on its own line or cell.
pub(crate) fn escape_line(text: &str) -> Cow<'_, str> {
    escape_where(text, is_dangerous)
}

/// Erase the progress line, before the result or an error is printed.
pub(crate) fn clear_progress() {
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "\r\x1b[2K");
    let _ = stderr.flush();
}

/// Render query result columns and rows as an aligned text table; a cell
/// is one line whatever it holds.
pub(crate) fn table(columns: &[String], rows: &[Vec<String>]) -> String {
    let columns: Vec<String> = columns
        .iter()
        .map(|c| escape_line(c).into_owned())
        .collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| escape_line(c).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(&columns)];
    out.push(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-"),
    );
    out.extend(rows.iter().map(|r| line(r)));
    out.join("\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
