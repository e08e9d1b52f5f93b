//! Running a checked query: extended protocol, a portal, and caps that stop
//! the fetch itself.
//!
//! The query is prepared (Parse) on its own, so exactly one statement can
//! run: a second statement in the text is a parse error on the server,
//! never a second command. It then runs inside the bounding query of
//! `bound.rs`, so no cell larger than the caps ever leaves the server. Rows
//! come back in batches from a portal and are rendered one at a time as
//! they arrive (tokio-postgres stops reading the socket while a row waits),
//! so at most one row and the result built so far are held; as soon as the
//! row cap (`applied_limit + 1`, to report truncation truthfully) or the
//! byte cap is reached, fetching stops. The call ends with the rollback and
//! the session reset in one flight (`session.rs`). Timeouts and
//! cancellation are handled by the caller (`mod.rs`), which owns the
//! connection.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_util::TryStreamExt;
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Column, Row, Statement, Transaction};

use super::bound;
use super::connect::ConnectSettings;
use super::errors::{self, Deadline};
use super::session::{self, Prelude};
use super::types::{self, RawCell};
use crate::engine::{QueryResult, ResultColumn, Truncation};
use crate::error::{ErrorCode, ToolError};
use crate::guard::CheckedQuery;

/// Rows asked of the portal per round trip.
const BATCH_ROWS: u64 = 500;

/// Map a driver error, knowing whether our deadline had passed.
pub(crate) fn map_error(
    settings: &ConnectSettings,
    deadline: Instant,
) -> impl Fn(tokio_postgres::Error) -> ToolError + '_ {
    move |e| errors::query_error(settings, &e, deadline_state(deadline))
}

/// Whether `deadline` has passed by now.
pub(crate) fn deadline_state(deadline: Instant) -> Deadline {
    if Instant::now() >= deadline {
        Deadline::Passed
    } else {
        Deadline::NotPassed
    }
}

/// How one attempt at a call on a connection ended.
pub(crate) enum Outcome<T> {
    /// The call ran, or at least its SQL reached the server: whatever
    /// happened is the answer, and it is never tried again. The
    /// connection may be reused only when it is [`Reuse::Clean`].
    Ran(Result<T, ToolError>, Reuse),
    /// The connection failed on `BEGIN`, before any of the call's SQL was
    /// sent: trying again on another connection cannot run anything twice.
    NotSent(ToolError),
}

/// Whether a connection may go back to the pool after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reuse {
    /// The call ended cleanly and the session was reset.
    Clean,
    /// Anything else: the connection is closed.
    Discard,
}

/// Open the read-only transaction; on failure, the call's outcome, telling
/// a connection that was already gone (closed, reset, or ended by the
/// server) from any other failure.
pub(crate) async fn begin<'c, T>(
    client: &'c mut Client,
    settings: &ConnectSettings,
    deadline: Instant,
) -> Result<Transaction<'c>, Outcome<T>> {
    session::start(client).await.map_err(|e| {
        let error = errors::query_error(settings, &e, deadline_state(deadline));
        if connection_lost(&e) {
            Outcome::NotSent(error)
        } else {
            Outcome::Ran(Err(error), Reuse::Discard)
        }
    })
}

/// Whether `e` says the connection itself is gone: no answer from the
/// server at all (closed, I/O error), or the server ending the session
/// (class 08 connection exceptions, 57P01-57P03 shutdown and restart).
pub(crate) fn connection_lost(e: &tokio_postgres::Error) -> bool {
    match e.as_db_error() {
        None => true,
        Some(db) => {
            let code = db.code().code();
            code.starts_with("08") || code.starts_with("57P")
        }
    }
}

/// How a call that had its transaction open ends: after a success, the
/// session is reset (the transaction was dropped just before, which sends
/// its `ROLLBACK` in the same flight) and the connection is reusable only
/// if that worked and tokio-postgres cached nothing the reset drops. After
/// a failure the connection is closed, so nothing needs resetting.
pub(crate) async fn settle<T>(
    client: &Client,
    settings: &ConnectSettings,
    result: Result<T, ToolError>,
    cached_statements: bool,
) -> Outcome<T> {
    if result.is_err() {
        return Outcome::Ran(result, Reuse::Discard);
    }
    let reuse = match session::reset(client).await {
        // `DISCARD ALL` also drops the statements tokio-postgres prepared
        // to look up user-defined types and keeps for the connection's
        // life; such a connection is closed rather than kept with them.
        Ok(()) if !cached_statements => Reuse::Clean,
        Ok(()) => Reuse::Discard,
        Err(e) => {
            tracing::debug!(connection = %settings.name, error = %e, "session reset failed; closing the connection");
            Reuse::Discard
        }
    };
    Outcome::Ran(result, reuse)
}

/// Run `query` on `client` inside a read-only transaction and collect the
/// capped result.
pub(crate) async fn execute(
    client: &mut Client,
    settings: &ConnectSettings,
    query: &CheckedQuery,
    deadline: Instant,
    prelude: Prelude<'_>,
    rows: &AtomicU64,
) -> Outcome<QueryResult> {
    let tx = match begin(client, settings, deadline).await {
        Ok(tx) => tx,
        Err(outcome) => return outcome,
    };
    let mut custom_types = false;
    let result = stream(
        &tx,
        settings,
        query,
        deadline,
        prelude,
        &mut custom_types,
        rows,
    )
    .await;
    drop(tx);
    settle(client, settings, result, custom_types).await
}

/// Whether tokio-postgres had to look up a type of `statement` (a type
/// that is not built in), which caches prepared statements on the client.
fn has_custom_types(statement: &Statement) -> bool {
    statement
        .columns()
        .iter()
        .map(Column::type_)
        .chain(statement.params())
        .any(|ty| Type::from_oid(ty.oid()).is_none())
}

/// Prepare, bind and fetch `query` in the open transaction `tx`.
async fn stream(
    tx: &Transaction<'_>,
    settings: &ConnectSettings,
    query: &CheckedQuery,
    deadline: Instant,
    prelude: Prelude<'_>,
    custom_types: &mut bool,
    rows: &AtomicU64,
) -> Result<QueryResult, ToolError> {
    let map = map_error(settings, deadline);
    // The settings and the Parse go out together (tokio-postgres pipelines
    // concurrent requests in order), saving a round trip. The server still
    // applies the settings first; if they fail, the transaction is aborted
    // and the Parse fails too, so the settings' error is the one reported.
    let prelude = prelude.sql();
    let (applied, prepared) = tokio::join!(tx.batch_execute(&prelude), tx.prepare(query.sql()));
    applied.map_err(|e| errors::prelude_error(settings, &e, deadline_state(deadline)))?;
    let checked = prepared.map_err(&map)?;
    *custom_types |= has_custom_types(&checked);
    if !checked.params().is_empty() {
        return Err(ToolError::new(
            ErrorCode::SqlParseError,
            "the query has parameter placeholders (`$1`, ...) that nothing can fill",
            "Write the values into the SQL as literals",
        ));
    }
    let mut collector = Collector::new(query, checked.columns());
    if checked.columns().is_empty() {
        // No column, no cell to bound: the rows alone are counted.
        return fetch(tx, &checked, collector, &map, rows).await;
    }
    let types: Vec<Type> = checked
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect();
    let bounded = tx
        .prepare(&bound::wrap(query.sql(), &types, query.max_cell_bytes()))
        .await
        .map_err(|e| not_a_plain_query(&e).unwrap_or_else(|| map(e)))?;
    *custom_types |= has_custom_types(&bounded);
    collector.bounded(&bounded);
    fetch(tx, &bounded, collector, &map, rows).await
}

/// The refusal when a statement that prepared on its own cannot be read as
/// a derived table (a data-modifying `WITH`, `SHOW`, `EXPLAIN`, `CALL`):
/// it is not a plain query, and its rows could not be bounded.
fn not_a_plain_query(e: &tokio_postgres::Error) -> Option<ToolError> {
    let db = e.as_db_error()?;
    let code = db.code();
    (*code == SqlState::SYNTAX_ERROR || *code == SqlState::FEATURE_NOT_SUPPORTED).then(|| {
        ToolError::new(
            ErrorCode::SqlReadonlyOnly,
            "only a plain query (SELECT, VALUES or TABLE, without data-modifying WITH) runs here",
            "Rewrite the statement as a single SELECT",
        )
        .with_untrusted_detail(format!(
            "{} {}: {}",
            db.severity(),
            code.code(),
            db.message()
        ))
    })
}

/// Bind `statement` to a portal and fetch until a cap or the end, counting
/// the rows in `fetched` for progress reports.
async fn fetch(
    tx: &Transaction<'_>,
    statement: &Statement,
    mut collector: Collector,
    map: &impl Fn(tokio_postgres::Error) -> ToolError,
    fetched: &AtomicU64,
) -> Result<QueryResult, ToolError> {
    let portal = tx.bind(statement, &[]).await.map_err(map)?;
    'batches: while let Some(batch) = collector.next_batch() {
        let rows = tx.query_portal_raw(&portal, batch).await.map_err(map)?;
        futures_util::pin_mut!(rows);
        let mut received = 0_i64;
        while let Some(row) = rows.try_next().await.map_err(map)? {
            received += 1;
            fetched.fetch_add(1, Ordering::Relaxed);
            if collector.push_row(&row)? {
                break 'batches;
            }
        }
        if received < i64::from(batch) {
            break;
        }
    }
    Ok(collector.finish())
}

/// Builds the result row by row and decides when to stop.
struct Collector {
    result: QueryResult,
    /// Rows to read before we know whether more exist.
    rows_wanted: u64,
    max_cell_bytes: usize,
    max_result_bytes: u64,
    types: Vec<Type>,
    /// Whether rows come from the bounding query (one more column, the
    /// cut text of each cell the server held back).
    bounded: bool,
}

impl Collector {
    fn new(query: &CheckedQuery, columns: &[Column]) -> Self {
        Self {
            result: QueryResult {
                columns: columns
                    .iter()
                    .map(|c| ResultColumn {
                        name: c.name().to_owned(),
                        type_name: types::display_name(c.type_()),
                    })
                    .collect(),
                ..QueryResult::default()
            },
            rows_wanted: query.applied_limit().saturating_add(1),
            max_cell_bytes: usize::try_from(query.max_cell_bytes()).unwrap_or(usize::MAX),
            max_result_bytes: query.max_result_bytes(),
            types: columns.iter().map(|c| c.type_().clone()).collect(),
            bounded: false,
        }
    }

    /// Rows now come from the bounding query `statement`: its value
    /// columns decide the types (a literal's `unknown` is `text` there).
    fn bounded(&mut self, statement: &Statement) {
        let values = statement.columns().len().saturating_sub(1);
        self.types = statement.columns()[..values]
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        for (column, ty) in self.result.columns.iter_mut().zip(&self.types) {
            column.type_name = types::display_name(ty);
        }
        self.bounded = true;
    }

    /// Rows to ask for next, or `None` when the row cap is reached.
    fn next_batch(&self) -> Option<i32> {
        let seen = self.result.rows.len() as u64;
        let left = self.rows_wanted.saturating_sub(seen);
        // 0 would mean "all rows" to the portal, so it is never asked for.
        (left > 0 && self.result.truncation.is_none())
            .then(|| i32::try_from(left.min(BATCH_ROWS)).unwrap_or(i32::MAX))
    }

    /// Add a row; true when a cap stopped the result.
    fn push_row(&mut self, row: &Row) -> Result<bool, ToolError> {
        if self.result.rows.len() as u64 + 1 >= self.rows_wanted {
            // This is row applied_limit + 1: it proves truncation and is
            // not returned.
            self.result.truncation = Some(Truncation::RowLimit);
            return Ok(true);
        }
        let (rendered, cells_cut) = self.render_row(row)?;
        let size = row_size(&rendered);
        // A row that does not fit is left out whole; with cells capped far
        // below the result cap, this only ends long results.
        if self.result.bytes + size > self.max_result_bytes {
            self.result.truncation = Some(Truncation::ResultBytes);
            return Ok(true);
        }
        self.result.bytes += size;
        self.result.cells_truncated += cells_cut;
        self.result.rows.push(rendered);
        Ok(false)
    }

    /// The row's cells, capped, and how many of them were cut (here or,
    /// for cells the bounding query held back, on the server).
    fn render_row(&self, row: &Row) -> Result<(Vec<Value>, u64), ToolError> {
        let held_back: Vec<Option<String>> = if self.bounded {
            row.try_get(self.types.len()).map_err(ToolError::internal)?
        } else {
            Vec::new()
        };
        let mut cells = Vec::with_capacity(self.types.len());
        let mut cut_count = 0;
        for (i, ty) in self.types.iter().enumerate() {
            let (value, cut) = match held_back.get(i).cloned().flatten() {
                Some(text) => (cap_cell(Value::String(text), self.max_cell_bytes).0, true),
                None => {
                    let raw: Option<RawCell<'_>> = row.try_get(i).map_err(ToolError::internal)?;
                    cap_cell(types::render(ty, raw.map(|r| r.0)), self.max_cell_bytes)
                }
            };
            cut_count += u64::from(cut);
            cells.push(value);
        }
        Ok((cells, cut_count))
    }

    fn finish(self) -> QueryResult {
        self.result
    }
}

/// Cut a cell to `max` bytes. Strings are cut on a character boundary;
/// arrays and objects over the cap become their JSON text, cut the same
/// way (they cannot be cut and stay valid). Returns whether it was cut.
fn cap_cell(value: Value, max: usize) -> (Value, bool) {
    match value {
        Value::String(mut text) if text.len() > max => {
            text.truncate(floor_char_boundary(&text, max));
            (Value::String(text), true)
        }
        Value::Array(_) | Value::Object(_) => {
            let size = usize::try_from(json_size(&value)).unwrap_or(usize::MAX);
            if size <= max {
                return (value, false);
            }
            let mut text = value.to_string();
            text.truncate(floor_char_boundary(&text, max));
            (Value::String(text), true)
        }
        other => (other, false),
    }
}

/// The largest index `<= max` that starts a character.
fn floor_char_boundary(text: &str, max: usize) -> usize {
    let mut at = max.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Bytes of a row as a compact JSON array.
fn row_size(cells: &[Value]) -> u64 {
    let separators = cells.len().saturating_sub(1) as u64;
    2 + separators + cells.iter().map(json_size).sum::<u64>()
}

/// Bytes of the compact JSON serialization, without building it.
fn json_size(value: &Value) -> u64 {
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
    // Writing to a counter cannot fail, and a `Value` always serializes.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

#[cfg(test)]
mod tests;
