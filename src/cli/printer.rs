//! The one place the CLI writes to stdout, and its stderr messages in uv's
//! style (`error: ...` then `hint: ...`).
//!
//! stdout belongs to JSON-RPC when serving, so the crate denies
//! `print_stdout`; only this module may print, and only CLI commands call
//! it. A closed pipe (`sqlwarden query ... | head`) is not an error.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;

/// Write `text` and a newline to stdout.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

/// Write an error and its hint to stderr.
pub fn error(message: &str, hint: Option<&str>) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {message}");
    if let Some(hint) = hint {
        let _ = writeln!(stderr, "\nhint: {hint}");
    }
}

/// Write a warning to stderr.
pub fn warn(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "warning: {message}");
}

/// Write a progress or status line to stderr.
pub fn status(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

/// Redraw the one-line progress indicator on stderr (a terminal: the
/// caller checks). The line is cleared, not scrolled, so a long job shows
/// one changing line.
pub fn progress(message: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "\r\x1b[2K{message}");
    let _ = stderr.flush();
}

/// Erase the progress line, before the result or an error is printed.
pub fn clear_progress() {
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "\r\x1b[2K");
    let _ = stderr.flush();
}

/// Render query result columns and rows as an aligned text table.
pub fn table(columns: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for row in rows {
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
    let mut out = vec![line(columns)];
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
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let text = table(
            &["id".into(), "name".into()],
            &[
                vec!["1".into(), "Ann".into()],
                vec!["100".into(), "B".into()],
            ],
        );
        assert_eq!(text, "id  | name\n----+-----\n1   | Ann\n100 | B");
    }
}
