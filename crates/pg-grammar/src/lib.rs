//! PostgreSQL's own grammar, as the JSON text of the raw parse tree.
//!
//! libpg_query (built and linked by the `pg_query` crate) prints a parse
//! tree two ways: as protobuf, which `pg_query::parse` decodes, and as
//! JSON, which nothing in that crate exposes. The JSON printer is the
//! cheaper one by far: upb's protobuf encoder visits all of `Node`'s
//! oneof fields for every node, so on the TPC-H queries the protobuf
//! route takes about 2.3 times as long as the JSON one, before any
//! decoding. Both printers are generated from the same node definitions
//! and print the same tree.
//!
//! This crate is the one place sqlwarden calls C itself; the rest of the
//! project forbids `unsafe`.

use std::ffi::{c_char, c_int, CStr, CString};
use std::fmt;

/// `PgQueryError` (`pg_query.h`).
#[repr(C)]
struct PgQueryError {
    message: *mut c_char,
    funcname: *mut c_char,
    filename: *mut c_char,
    lineno: c_int,
    cursorpos: c_int,
    context: *mut c_char,
}

/// `PgQueryParseResult` (`pg_query.h`).
#[repr(C)]
struct PgQueryParseResult {
    parse_tree: *mut c_char,
    stderr_buffer: *mut c_char,
    error: *mut PgQueryError,
}

extern "C" {
    fn pg_query_parse_opts(input: *const c_char, parser_options: c_int) -> PgQueryParseResult;
    fn pg_query_free_parse_result(result: PgQueryParseResult);
}

// The symbols above live in the static library the `pg_query` crate links;
// naming the crate makes sure it is linked into every binary using this one.
use pg_query as _;

/// `PG_QUERY_PARSE_DEFAULT`: the text is whole SQL statements.
const PARSE_DEFAULT: c_int = 0;

/// Why PostgreSQL's grammar does not accept a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// PostgreSQL's message (`syntax error at or near "…"`), which may
    /// quote the text.
    pub message: String,
    /// Where in the text, in characters from 1, when the grammar says.
    pub position: Option<usize>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(position) => write!(f, "{} (at character {position})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parse `sql` with PostgreSQL's grammar and return the raw parse tree as
/// libpg_query prints it: `{"version":…,"stmts":[{"stmt":{"SelectStmt":
/// {…}},…}]}`, each node an object keyed by its node type, fields named as
/// in PostgreSQL's C structs, enums by name, and fields holding their
/// default (false, zero, empty, null) left out.
///
/// A text holding a NUL character is refused: C would read only the part
/// before it.
pub fn parse_json(sql: &str) -> Result<String, ParseError> {
    let input = CString::new(sql).map_err(|e| ParseError {
        message: "the text holds a NUL character".to_string(),
        position: Some(sql[..e.nul_position()].chars().count() + 1),
    })?;
    // SAFETY: `input` is a NUL-terminated string that outlives the call;
    // libpg_query copies what it keeps and reports errors in the result.
    let result = unsafe { pg_query_parse_opts(input.as_ptr(), PARSE_DEFAULT) };
    let answer = if result.error.is_null() {
        if result.parse_tree.is_null() {
            Err(ParseError {
                message: "libpg_query returned no tree".to_string(),
                position: None,
            })
        } else {
            // SAFETY: without an error, `parse_tree` is a NUL-terminated
            // string owned by `result`, freed only below.
            let tree = unsafe { CStr::from_ptr(result.parse_tree) }.to_bytes();
            // Strings are copied byte for byte from the input, a Rust
            // string, so the text is valid UTF-8: checked in one pass,
            // where the lossy route walked it character by character and
            // stood out in the gate's profile.
            Ok(match std::str::from_utf8(tree) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(tree).into_owned(),
            })
        }
    } else {
        // SAFETY: a non-null `error` points to a `PgQueryError` owned by
        // `result`, whose `message` is NUL-terminated when not null.
        let (message, cursor) = unsafe {
            let error = &*result.error;
            let message = if error.message.is_null() {
                String::from("syntax error")
            } else {
                CStr::from_ptr(error.message).to_string_lossy().into_owned()
            };
            (message, error.cursorpos)
        };
        Err(ParseError {
            message,
            position: usize::try_from(cursor).ok().filter(|p| *p > 0),
        })
    };
    // SAFETY: `result` came from `pg_query_parse_opts` and is freed once;
    // nothing borrowed from it is used after this.
    unsafe { pg_query_free_parse_result(result) };
    answer
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
