//! Running a checked query: the whole call in one flight over the
//! extended protocol, with caps that stop reading as rows arrive.
//!
//! When the gate resolved how many columns the query returns and every
//! table it reads has columns of built-in types only (the driver looks any
//! other type up with a query of its own, which in one flight would wait
//! behind the flight's unread rows), everything goes out in one write and
//! the answers are read in order:
//!
//! 1. `START TRANSACTION READ ONLY` and the `SET LOCAL` guards (one
//!    simple-query text, `session.rs`);
//! 2. the checked query, prepared on its own (Parse and Describe: nothing
//!    runs), which tells its parameters and its columns;
//! 3. the bounding query of `bound.rs` around it (Parse, Bind, Execute),
//!    written for the gate's column count: no cell larger than the caps
//!    ever leaves the server, and its `LIMIT` stops the server at
//!    `applied_limit + 1` rows, to report truncation truthfully;
//! 4. the `ROLLBACK` and the session reset.
//!
//! The `Close` of the statement the connection's previous call prepared
//! leads that write ([`Conn::closing`]), rather than going out alone after
//! the previous call.
//!
//! If the transaction, a setting or the prepare fails, the transaction is
//! aborted and every statement behind it fails with it: the query never
//! runs, so a text that only parses once wrapped never runs either. The
//! bounding query is one statement (the extended protocol prepares exactly
//! one), in the read-only transaction, under the role; its rows are used
//! only when the checked query also prepared on its own, without
//! parameters, with exactly the columns the wrap was written for, and the
//! refusal is the prepare's own answer otherwise. When the server
//! describes a different number of columns than the gate resolved (a
//! table changed after its facts were read), or another type or modifier
//! for a column sent unmeasured (a set operation's other branch computed
//! it), the rows are dropped and the call runs again in two flights.
//!
//! Two flights, when the column count is not known (or did not match), or
//! a table has a column of another type:
//! flight one is 1 and 2; only when both succeeded does flight two send 3
//! (written for the columns the server described) and 4.
//!
//! Rows are decoded one at a time as they arrive, into the shared
//! [`ResultBuilder`] (tokio-postgres stops reading the socket while a row
//! waits). When a cap stops the result early, the rows left in flight are
//! read and dropped when they are few; when more could follow, the backend
//! is cancelled and the connection closed instead. Timeouts and client
//! cancellation are handled by the caller (`mod.rs`), which owns the
//! connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_util::TryStreamExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Column, Row, RowStream, Statement, Transaction};

use super::bound::{self, ColumnType, Sent};
use super::connect::ConnectSettings;
use super::errors::{self, Deadline};
use super::pool::Conn;
use super::session::{self, Prelude};
use super::types::{self, RawCell};
use crate::engine::result::{CellWriter, ResultBuilder};
use crate::engine::{QueryResult, ResultColumn};
use crate::error::{ErrorCode, ToolError};
use crate::guard::CheckedQuery;

/// Rows that may still be in flight when a cap stops the result and the
/// connection reads and drops them rather than cancelling the backend.
const DRAIN_ROWS: u64 = 500;

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

/// Run `query` on `conn` inside a read-only transaction and collect the
/// capped result, in one flight when `one_flight` gives its columns (see
/// `PostgresEngine::one_flight`: how each is sent, from the types the
/// engine assumes it has) and in two otherwise, counting the rows received
/// in `rows` for progress reports. The statement the connection's last
/// call left to close ([`Conn::closing`]) is dropped into this call's
/// first write, and the statement this call prepared is left there when
/// the connection stays clean.
pub(crate) async fn execute(
    conn: &mut Conn,
    settings: &ConnectSettings,
    query: &CheckedQuery,
    one_flight: Option<&[Sent]>,
    deadline: Instant,
    prelude: Prelude<'_>,
    rows: &AtomicU64,
) -> Outcome<QueryResult> {
    // Nothing is awaited before the first write of either path below.
    drop(conn.closing.take());
    // A query without columns has no cell to bound and runs as it is; only
    // the server's own description may say so.
    if let Some(assumed) = one_flight.filter(|columns| !columns.is_empty()) {
        match in_one_flight(conn, settings, query, assumed, deadline, prelude, rows).await {
            Flight::Done(outcome) => return outcome,
            Flight::Redo { described } => {
                tracing::debug!(
                    connection = %settings.name,
                    gate = ?assumed,
                    server = ?described,
                    "the server describes other columns than the engine assumed; running the query again in two flights"
                );
                rows.store(0, Ordering::Relaxed);
            }
        }
    }
    two_flights(&mut conn.client, settings, query, deadline, prelude, rows).await
}

/// How the one-flight attempt ended.
enum Flight {
    /// The answer, whatever it is.
    Done(Outcome<QueryResult>),
    /// The checked query prepared with `described` column types, not what
    /// the wrap was written for (another count, or another type or
    /// modifier for a column sent whole); the connection is clean and the
    /// query has to run again, described first.
    Redo { described: Vec<ColumnType> },
}

/// Everything in one write: the transaction and its settings, the checked
/// query prepared on its own, the bounding query for the `assumed` columns
/// (see [`execute`]), the rollback and the reset.
async fn in_one_flight(
    conn: &mut Conn,
    settings: &ConnectSettings,
    query: &CheckedQuery,
    assumed: &[Sent],
    deadline: Instant,
    prelude: Prelude<'_>,
    rows: &AtomicU64,
) -> Flight {
    let Conn {
        client, closing, ..
    } = conn;
    let map = map_error(settings, deadline);
    let rows_wanted = query.applied_limit().saturating_add(1);
    let columns = assumed.len();
    let bounded = bound::wrap(query.sql(), assumed, query.max_cell_bytes(), rows_wanted);
    // Names and types come from the prepare (and from the first row);
    // neither counts toward the caps.
    let builder = ResultBuilder::new(
        vec![ResultColumn::default(); columns],
        query.applied_limit(),
        query.max_cell_bytes(),
        query.max_result_bytes(),
    );
    let opening = prelude.opening_sql();
    let read = async {
        let stream = client
            .query_typed_raw(&bounded, no_params())
            .await
            .map_err(|e| not_a_plain_query(&e).unwrap_or_else(|| map(e)))?;
        let (result, left) = collect(stream, builder, Some(rows_wanted), &map, rows).await?;
        if left == Left::Cancel {
            // Before the rollback's answer is awaited: it queues behind
            // every row the server still sends.
            settings.cancel(client.cancel_token()).await;
        }
        Ok::<_, ToolError>((result, left))
    };
    // The five requests go out in this order as they are first polled
    // (`biased`), in one write (after the last call's `Close`, see
    // `execute`); the answers come back in the same order.
    let (opened, prepared, read, rolled_back, reset) = tokio::join!(
        biased;
        client.batch_execute(&opening),
        client.prepare(query.sql()),
        read,
        client.batch_execute("ROLLBACK"),
        session::reset(client),
    );
    if let Err(e) = opened {
        let error = errors::prelude_error(settings, &e, deadline_state(deadline));
        // No answer even to the opening: the connection was gone before
        // anything ran (or, at worst, a read-only query ran and its answer
        // was lost), so another connection may try.
        return Flight::Done(if connection_lost(&e) {
            Outcome::NotSent(error)
        } else {
            Outcome::Ran(Err(error), Reuse::Discard)
        });
    }
    let statement = match prepared {
        Ok(statement) => statement,
        Err(e) => {
            let error = errors::query_error(settings, &e, deadline_state(deadline));
            return Flight::Done(Outcome::Ran(Err(error), Reuse::Discard));
        }
    };
    if let Err(refused) = plain(&statement) {
        return Flight::Done(Outcome::Ran(Err(refused), Reuse::Discard));
    }
    let clean = rolled_back.is_ok() && reset.is_ok();
    let as_assumed = statement.columns().len() == columns
        && assumed
            .iter()
            .zip(statement.columns())
            .all(|(assumed, described)| {
                assumed.describes(described.type_(), described.type_modifier())
            });
    if !as_assumed {
        let described: Vec<ColumnType> = statement.columns().iter().map(column_type).collect();
        if clean
            && read
                .as_ref()
                .map_or(true, |(_, left)| *left == Left::Drained)
        {
            return Flight::Redo { described };
        }
        let error = ToolError::internal(format!(
            "the server describes columns {described:?} where the engine assumed {assumed:?}, and the connection could not be reset"
        ));
        return Flight::Done(Outcome::Ran(Err(error), Reuse::Discard));
    }
    let (mut result, left) = match read {
        Ok(read) => read,
        Err(error) => return Flight::Done(Outcome::Ran(Err(error), Reuse::Discard)),
    };
    for (column, described) in result.columns.iter_mut().zip(statement.columns()) {
        column.name = described.name().to_owned();
        if result.rows.is_empty() {
            column.type_name = described_type(described.type_());
        }
    }
    let reuse = settled(
        settings,
        rolled_back,
        reset,
        has_custom_types(&statement),
        left,
    );
    if reuse == Reuse::Clean {
        *closing = Some(statement);
    }
    Flight::Done(Outcome::Ran(Ok(result), reuse))
}

/// Whether the connection may be reused after the rollback and the reset
/// answered as they did.
fn settled(
    settings: &ConnectSettings,
    rolled_back: Result<(), tokio_postgres::Error>,
    reset: Result<(), tokio_postgres::Error>,
    custom_types: bool,
    left: Left,
) -> Reuse {
    match (rolled_back, reset) {
        (Ok(()), Ok(())) if !custom_types && left == Left::Drained => Reuse::Clean,
        (Ok(()), Ok(())) => Reuse::Discard,
        (Err(e), _) | (_, Err(e)) => {
            tracing::debug!(connection = %settings.name, error = %e, "rollback or session reset failed; closing the connection");
            Reuse::Discard
        }
    }
}

/// The type name a column shows when no row brought its own: what the
/// bounding query makes of it, where a literal's `unknown` becomes `text`.
fn described_type(ty: &Type) -> String {
    match *ty {
        Type::UNKNOWN => types::display_name(&Type::TEXT),
        ref ty => types::display_name(ty),
    }
}

/// The call in two flights: the transaction, its settings and the prepare
/// first; the bounding query, written for the columns the server
/// described, with the rollback and the reset only when those succeeded.
async fn two_flights(
    client: &mut Client,
    settings: &ConnectSettings,
    query: &CheckedQuery,
    deadline: Instant,
    prelude: Prelude<'_>,
    rows: &AtomicU64,
) -> Outcome<QueryResult> {
    let map = map_error(settings, deadline);
    let statement = match open(client, settings, query, deadline, prelude).await {
        Ok(statement) => statement,
        Err(outcome) => return outcome,
    };
    if let Err(refused) = plain(&statement) {
        return Outcome::Ran(Err(refused), Reuse::Discard);
    }
    let custom_types = has_custom_types(&statement);
    let types: Vec<ColumnType> = statement.columns().iter().map(column_type).collect();
    let builder = ResultBuilder::new(
        statement
            .columns()
            .iter()
            .map(|c| ResultColumn {
                name: c.name().to_owned(),
                type_name: described_type(c.type_()),
            })
            .collect(),
        query.applied_limit(),
        query.max_cell_bytes(),
        query.max_result_bytes(),
    );
    // Closed now, ahead of flight two, rather than behind the reset.
    drop(statement);
    let rows_wanted = query.applied_limit().saturating_add(1);
    // A statement without columns has no cell to bound; it runs as it is
    // (a write fails in the read-only transaction), and the server does not
    // stop at the row cap for it.
    let (sql, server_stops) = if types.is_empty() {
        (query.sql().to_owned(), None)
    } else {
        let sent: Vec<Sent> = types
            .iter()
            .map(|ty| bound::sent(ty, query.max_cell_bytes()))
            .collect();
        let bounded = bound::wrap(query.sql(), &sent, query.max_cell_bytes(), rows_wanted);
        (bounded, Some(rows_wanted))
    };

    // The three requests go out in this order as they are first polled
    // (`biased`), in one write; the rows are read while the others wait.
    let read = async {
        let stream = client
            .query_typed_raw(&sql, no_params())
            .await
            .map_err(|e| not_a_plain_query(&e).unwrap_or_else(|| map(e)))?;
        let (result, left) = collect(stream, builder, server_stops, &map, rows).await?;
        if left == Left::Cancel {
            // Before the rollback's answer is awaited: it queues behind
            // every row the server still sends.
            settings.cancel(client.cancel_token()).await;
        }
        Ok((result, left))
    };
    let (read, rolled_back, reset) = tokio::join!(
        biased;
        read,
        client.batch_execute("ROLLBACK"),
        session::reset(client),
    );
    let (result, left) = match read {
        Ok(read) => read,
        Err(error) => return Outcome::Ran(Err(error), Reuse::Discard),
    };
    Outcome::Ran(
        Ok(result),
        settled(settings, rolled_back, reset, custom_types, left),
    )
}

/// No parameters: a statement with placeholders is refused (see [`plain`]).
fn no_params() -> std::iter::Empty<(&'static str, Type)> {
    std::iter::empty()
}

/// Flight one: open the read-only transaction with its settings and
/// prepare the checked query behind them. Nothing of the query runs here,
/// so a connection found dead in this flight may be replaced
/// ([`Outcome::NotSent`]).
async fn open(
    client: &Client,
    settings: &ConnectSettings,
    query: &CheckedQuery,
    deadline: Instant,
    prelude: Prelude<'_>,
) -> Result<Statement, Outcome<QueryResult>> {
    let opening = prelude.opening_sql();
    let (opened, prepared) = tokio::join!(
        biased;
        client.batch_execute(&opening),
        client.prepare(query.sql()),
    );
    if let Err(e) = opened {
        let error = errors::prelude_error(settings, &e, deadline_state(deadline));
        return Err(if connection_lost(&e) {
            Outcome::NotSent(error)
        } else {
            Outcome::Ran(Err(error), Reuse::Discard)
        });
    }
    prepared.map_err(|e| {
        let error = errors::query_error(settings, &e, deadline_state(deadline));
        Outcome::Ran(Err(error), Reuse::Discard)
    })
}

/// Refuse parameter placeholders: nothing could fill them.
fn plain(statement: &Statement) -> Result<(), ToolError> {
    if statement.params().is_empty() {
        return Ok(());
    }
    Err(ToolError::new(
        ErrorCode::SqlParseError,
        "the query has parameter placeholders (`$1`, ...) that nothing can fill",
        "Write the values into the SQL as literals",
    ))
}

/// A described column's type and modifier.
fn column_type(column: &Column) -> ColumnType {
    ColumnType {
        ty: column.type_().clone(),
        typmod: column.type_modifier(),
    }
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

/// What becomes of the rows still in flight when reading stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Left {
    /// None are left, or few enough that the connection reads and drops
    /// them before the rollback's answer.
    Drained,
    /// Too many could follow: the backend is cancelled and the connection
    /// closed.
    Cancel,
}

/// Read rows into `builder` until a cap or the end, counting them in
/// `fetched`; the server sends at most `server_stops` rows, when it is
/// known.
async fn collect(
    rows: RowStream,
    mut builder: ResultBuilder,
    server_stops: Option<u64>,
    map: &impl Fn(tokio_postgres::Error) -> ToolError,
    fetched: &AtomicU64,
) -> Result<(QueryResult, Left), ToolError> {
    futures_util::pin_mut!(rows);
    let mut seen = 0_u64;
    while let Some(row) = rows.try_next().await.map_err(map)? {
        seen += 1;
        fetched.fetch_add(1, Ordering::Relaxed);
        if seen == 1 {
            // The bounding query's value columns decide the types (a
            // literal's `unknown` is `text` there).
            for (column, value) in builder.columns_mut().iter_mut().zip(row.columns()) {
                column.type_name = types::display_name(value.type_());
            }
        }
        if builder.at_row_limit() {
            break;
        }
        if !builder.push_with(|cells| write_row(&row, cells))? {
            break;
        }
    }
    let many_left = server_stops.is_none_or(|rows| rows.saturating_sub(seen) > DRAIN_ROWS);
    let left = if builder.stopped() && many_left {
        Left::Cancel
    } else {
        Left::Drained
    };
    Ok((builder.finish(), left))
}

/// A row's cells, decoded once, into `cells`; a cell the server cut (it
/// sends a held-back cell as NULL, with its cut text in the last column of
/// the bounding query) counts as cut. A row without columns has neither.
fn write_row(row: &Row, cells: &mut CellWriter<'_>) -> Result<(), ToolError> {
    if row.is_empty() {
        return Ok(());
    }
    let values = row.columns().len() - 1;
    // NULL when no cell of the row was held back.
    let held_back: Option<Vec<Option<String>>> =
        row.try_get(values).map_err(ToolError::internal)?;
    let mut held_back = held_back.unwrap_or_default().into_iter();
    for (i, column) in row.columns()[..values].iter().enumerate() {
        match held_back.next().flatten() {
            Some(sent) => cells.cut_text(&bound::cut_text(column.type_(), sent)),
            None => {
                let raw: Option<RawCell<'_>> = row.try_get(i).map_err(ToolError::internal)?;
                types::write(column.type_(), raw.map(|r| r.0), cells);
            }
        }
    }
    Ok(())
}
