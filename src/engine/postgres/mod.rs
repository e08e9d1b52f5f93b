//! The PostgreSQL engine: read-only transactions over the extended protocol.
//!
//! [`PostgresEngine`] is built from a `connections.yaml` entry without
//! touching the network; the first call connects. Every call checks out a
//! connection (idle ones are reused), opens a `READ ONLY` transaction with
//! `SET LOCAL` timeouts, resource caps and role (`session.rs`), does its
//! work, and ends with the rollback and a session reset (`DISCARD ALL`);
//! a query does all of it in one flight (`run.rs`). Only a connection
//! whose reset succeeded is reused. A
//! connection that saw any error, a timeout or a cancellation is dropped,
//! never reused. On timeout or client cancellation the connection is
//! dropped and the backend query is cancelled with its cancel token (a
//! closed socket alone would not stop a busy backend).
//!
//! Before SQL of the agent first runs on a connection, its login is vetted
//! (`login.rs`): a login that could write or step around policy is refused
//! unless policy allows it, since SQL that reaches the server can undo
//! `SET ROLE`. The layers here hold on their own, as if the gate had let
//! anything through.
//!
//! Phases live in their own files: `connect.rs` (settings, TLS in `tls.rs`,
//! credentials), `login.rs`, `run.rs` (the call in one flight, rows streamed
//! into the shared result builder under the caps),
//! `bound.rs` (cells bounded on the server), `types/` (lossless JSON),
//! `metadata.rs`, `explain.rs`, `probe.rs`, `errors.rs` (SQLSTATE to error
//! codes).

mod bound;
mod connect;
mod errors;
mod explain;
mod login;
mod metadata;
mod pool;
mod probe;
mod progress;
mod run;
mod session;
#[cfg(test)]
mod tests;
mod tls;
mod types;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, Transaction};
use tokio_util::sync::CancellationToken;

use self::bound::{ColumnType, Sent};
use self::connect::ConnectSettings;
use self::pool::{Conn, Pool};
use self::run::{Outcome, Reuse};
use self::session::Prelude;
use crate::config::PostgresConnection;
use crate::engine::{
    BoxFuture, ColumnInfo, CostEstimate, Engine, EngineResult, PageRequest, PartitionPage,
    ProbeReport, QueryResult, RunContext, Safeguards,
};
use crate::error::{ErrorCode, ToolError};
use crate::guard::{CheckedQuery, CopyOf};
use crate::secrets::Secret;

/// Timeout of catalog reads (`describe_table`, partitions, probe).
const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

/// Whose SQL a call runs, which decides whether the login is vetted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sql {
    /// Text that came from the agent (through the gate): the login must
    /// pass vetting.
    Agent,
    /// sqlwarden's own catalog reads, names bound as parameters.
    Own,
}

/// A PostgreSQL source.
pub struct PostgresEngine {
    settings: ConnectSettings,
    safeguards: Safeguards,
    pool: Pool,
    /// Tables whose columns this engine has read, with every column's type
    /// and modifier when all of them are built in (see
    /// [`Self::one_flight`]).
    known_types: Mutex<HashMap<String, Option<HashMap<String, ColumnType>>>>,
}

impl PostgresEngine {
    /// An engine for connection `name` under `safeguards`; connects lazily
    /// on first use.
    pub fn new(
        name: &str,
        conn: &PostgresConnection,
        password: Option<Secret>,
        safeguards: Safeguards,
    ) -> Self {
        Self {
            settings: ConnectSettings::new(name, conn, password),
            safeguards,
            pool: Pool::default(),
            known_types: Mutex::new(HashMap::new()),
        }
    }

    /// How `query` may go out in one flight, or `None` when it goes in
    /// two: one element per output column, how the bounding query sends it
    /// ([`bound::sent`]: unmeasured when its type, or its modifier, makes
    /// every value fit the cell cap; measured otherwise).
    ///
    /// One flight needs the column count the gate resolved and every table
    /// the query reads described by this engine with built-in column types
    /// only. A value of any other type makes the driver look the type up
    /// while the rows of the same flight wait to be read, which would stall
    /// the connection. The gate allows casts to built-in types only and
    /// `pg_catalog` functions only, so a result's types come from these.
    /// An output column that copies base columns all of one such type is
    /// taken to have it, and their modifier when they share one; `run.rs`
    /// uses the rows only when the server's own description of the query
    /// agrees.
    fn one_flight(&self, query: &CheckedQuery) -> Option<Vec<Sent>> {
        let columns = query.output_columns().filter(|&n| n > 0)?;
        let known = self.known_types.lock().ok()?;
        for table in query.tables_used() {
            known.get(table)?.as_ref()?;
        }
        let type_of = |copy: &CopyOf| known.get(&copy.table)?.as_ref()?.get(&copy.column);
        let copies = query.output_copies();
        Some(
            (0..columns)
                .map(|i| {
                    let mut types = copies.get(i).into_iter().flatten().map(type_of);
                    let Some(Some(first)) = types.next() else {
                        return Sent::Bounded;
                    };
                    let mut assumed = first.clone();
                    for ty in types {
                        match ty {
                            Some(ty) if *ty == assumed => {}
                            // Copies of one type with other modifiers: only
                            // the type is known, as for a set operation.
                            Some(ty) if ty.ty == assumed.ty => assumed.typmod = -1,
                            _ => return Sent::Bounded,
                        }
                    }
                    bound::sent(&assumed, query.max_cell_bytes())
                })
                .collect(),
        )
    }

    /// An idle connection (`true`: reused), or a new one (`false`); only a
    /// new one when `fresh`.
    async fn checkout(&self, fresh: bool) -> Result<(Conn, bool), ToolError> {
        match self.pool.take().filter(|_| !fresh) {
            Some(conn) => Ok((conn, true)),
            None => Ok((
                {
                    let (client, tripwire) = self.settings.connect().await?;
                    Conn {
                        client,
                        login: None,
                        tripwire,
                        closing: None,
                    }
                },
                false,
            )),
        }
    }

    /// Vet the login of `conn` once; `Ok(false)` when a reused connection
    /// turned out to be dead before anything ran.
    async fn vet(
        &self,
        conn: &mut Conn,
        reused: bool,
        deadline: Instant,
    ) -> Result<bool, ToolError> {
        if conn.login.is_none() {
            match login::vet(&mut conn.client).await {
                Ok(login) => {
                    if let Some(warning) = login.temp_file_warning(&self.safeguards) {
                        tracing::warn!(connection = %self.settings.name, "{warning}");
                    }
                    conn.login = Some(login);
                }
                Err(e) if reused && run::connection_lost(&e) => return Ok(false),
                Err(e) => {
                    return Err(errors::query_error(
                        &self.settings,
                        &e,
                        run::deadline_state(deadline),
                    ))
                }
            }
        }
        match &conn.login {
            Some(login) => login.admit(&self.settings, &self.safeguards).map(|()| true),
            None => Err(ToolError::internal("a vetted connection has no login")),
        }
    }

    /// Run `work` on a checked-out connection under a deadline and a cancel
    /// token. For SQL of the agent the login is vetted first. `work` owns
    /// the connection and hands it back when it ends; when the call ended
    /// cleanly and was reset it returns to the pool, otherwise it is
    /// dropped. When a reused connection turns out to be dead before any
    /// of the call's SQL was sent ([`Outcome::NotSent`]), the pool is
    /// emptied and `work` runs once more on a new connection, within the
    /// same deadline; once SQL may have reached the server, nothing is
    /// tried again. On timeout or cancellation the work (and with it the
    /// connection) is dropped and the backend query is cancelled.
    async fn guarded<'a, T>(
        &'a self,
        sql: Sql,
        timeout: Duration,
        cancel: &CancellationToken,
        work: impl Fn(Conn, Instant, Prelude<'a>) -> BoxFuture<'a, (Conn, Outcome<T>)>,
    ) -> EngineResult<T> {
        let deadline = Instant::now() + timeout;
        let mut fresh = false;
        loop {
            let (mut conn, reused) = tokio::select! {
                conn = self.checkout(fresh) => conn?,
                () = tokio::time::sleep_until(deadline.into()) => return Err(errors::timeout_error()),
                () = cancel.cancelled() => return Err(errors::cancelled_error()),
            };
            if sql == Sql::Agent {
                let vetted = tokio::select! {
                    vetted = self.vet(&mut conn, reused, deadline) => vetted,
                    () = tokio::time::sleep_until(deadline.into()) => return Err(errors::timeout_error()),
                    () = cancel.cancelled() => return Err(errors::cancelled_error()),
                };
                match vetted {
                    Ok(true) => {}
                    Ok(false) => {
                        self.pool.clear();
                        fresh = true;
                        continue;
                    }
                    Err(refused) => {
                        // The verdict stays with the connection: the next
                        // call is refused without asking the server again.
                        if refused.code == ErrorCode::PrivilegedLogin {
                            self.pool.put(conn);
                        }
                        return Err(refused);
                    }
                }
            }
            let may_set_temp_file_limit = conn
                .login
                .as_ref()
                .is_some_and(|login| login.may_set_temp_file_limit);
            let prelude = Prelude::new(
                self.settings.role.as_deref(),
                timeout,
                &self.safeguards,
                may_set_temp_file_limit,
            );
            let token = conn.client.cancel_token();
            let interrupt = tokio::select! {
                (conn, outcome) = work(conn, deadline, prelude) => match outcome {
                    Outcome::Ran(result, reuse) => {
                        if reuse == Reuse::Clean {
                            self.pool.put(conn);
                            return result;
                        }
                        // An oversize message ended the connection: say so,
                        // rather than that the server went away.
                        return match conn.tripwire.tripped() {
                            Some(too_large) => Err(errors::message_too_large(too_large)),
                            None => result,
                        };
                    }
                    Outcome::NotSent(error) if reused => {
                        tracing::debug!(connection = %self.settings.name, error = %error, "an idle connection was dead; trying a new one");
                        self.pool.clear();
                        fresh = true;
                        continue;
                    }
                    Outcome::NotSent(error) => return Err(error),
                },
                () = tokio::time::sleep_until(deadline.into()) => errors::timeout_error(),
                () = cancel.cancelled() => errors::cancelled_error(),
            };
            self.settings.cancel(token).await;
            return Err(interrupt);
        }
    }

    /// Run catalog work in a read-only transaction, with the metadata
    /// timeout. `work` owns what it needs (it may not borrow the caller).
    async fn catalog<T, F>(&self, work: F) -> EngineResult<T>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t Transaction<'t>) -> BoxFuture<'t, Result<T, tokio_postgres::Error>>
            + Clone
            + Send
            + 'static,
    {
        self.in_read_only(Sql::Own, METADATA_TIMEOUT, work).await
    }

    /// Run `work` in a read-only transaction under `timeout`. `work` is
    /// cloned for each attempt (see [`Self::guarded`]).
    async fn in_read_only<T, F>(&self, sql: Sql, timeout: Duration, work: F) -> EngineResult<T>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t Transaction<'t>) -> BoxFuture<'t, Result<T, tokio_postgres::Error>>
            + Clone
            + Send
            + 'static,
    {
        let settings = &self.settings;
        self.guarded(
            sql,
            timeout,
            &CancellationToken::new(),
            move |mut conn, deadline, prelude| {
                let work = work.clone();
                Box::pin(async move {
                    let outcome =
                        in_transaction(&mut conn.client, settings, prelude, deadline, work).await;
                    (conn, outcome)
                })
            },
        )
        .await
    }

    /// Idle connections in the pool (for tests).
    #[cfg(test)]
    fn idle_connections(&self) -> usize {
        self.pool.idle_count()
    }
}

/// Open the read-only transaction, run `work`, roll back and reset.
async fn in_transaction<T, F>(
    client: &mut Client,
    settings: &ConnectSettings,
    prelude: Prelude<'_>,
    deadline: Instant,
    work: F,
) -> Outcome<T>
where
    F: for<'t> FnOnce(&'t Transaction<'t>) -> BoxFuture<'t, Result<T, tokio_postgres::Error>>,
{
    let tx = match run::begin(client, settings, deadline).await {
        Ok(tx) => tx,
        Err(outcome) => return outcome,
    };
    let result = async {
        let map = run::map_error(settings, deadline);
        tx.batch_execute(&prelude.sql())
            .await
            .map_err(|e| errors::prelude_error(settings, &e, run::deadline_state(deadline)))?;
        work(&tx).await.map_err(&map)
    }
    .await;
    drop(tx);
    run::settle(client, settings, result, false).await
}

impl Engine for PostgresEngine {
    fn run<'a>(
        &'a self,
        query: &'a CheckedQuery,
        ctx: RunContext,
    ) -> BoxFuture<'a, EngineResult<QueryResult>> {
        let settings = &self.settings;
        Box::pin(async move {
            let rows = AtomicU64::new(0);
            let rows = &rows;
            let one_flight = self.one_flight(query);
            let one_flight = one_flight.as_deref();
            let work = self.guarded(
                Sql::Agent,
                query.timeout(),
                &ctx.cancel,
                move |mut conn, deadline, prelude| {
                    Box::pin(async move {
                        let outcome = run::execute(
                            &mut conn, settings, query, one_flight, deadline, prelude, rows,
                        )
                        .await;
                        (conn, outcome)
                    })
                },
            );
            progress::report(work, ctx.progress.as_ref(), rows).await
        })
    }

    fn estimate<'a>(
        &'a self,
        query: &'a CheckedQuery,
    ) -> BoxFuture<'a, EngineResult<CostEstimate>> {
        let sql = query.sql().to_owned();
        Box::pin(async move {
            self.in_read_only(Sql::Agent, query.timeout(), move |tx| {
                Box::pin(async move { explain::estimate(tx, &sql).await })
            })
            .await?
        })
    }

    fn table_columns<'a>(
        &'a self,
        table: &'a str,
    ) -> BoxFuture<'a, EngineResult<Option<Vec<ColumnInfo>>>> {
        let (schema, name) = owned_key(table, &self.settings.default_schema);
        Box::pin(async move {
            let described = self
                .catalog(move |tx| {
                    Box::pin(async move { metadata::columns(tx, &schema, &name).await })
                })
                .await?;
            Ok(described.map(|table_columns| {
                if let Ok(mut known) = self.known_types.lock() {
                    known.insert(table.to_owned(), table_columns.types);
                }
                table_columns.columns
            }))
        })
    }

    fn max_partition<'a>(
        &'a self,
        table: &'a str,
        field: &'a str,
    ) -> BoxFuture<'a, EngineResult<Option<String>>> {
        let (schema, name) = owned_key(table, &self.settings.default_schema);
        let field = field.to_owned();
        Box::pin(self.catalog(move |tx| {
            Box::pin(async move { metadata::max_value(tx, &schema, &name, &field).await })
        }))
    }

    fn list_partitions<'a>(
        &'a self,
        table: &'a str,
        page: PageRequest,
    ) -> BoxFuture<'a, EngineResult<PartitionPage>> {
        let (schema, name) = owned_key(table, &self.settings.default_schema);
        Box::pin(async move {
            self.catalog(move |tx| {
                Box::pin(async move { metadata::partitions(tx, &schema, &name, &page).await })
            })
            .await?
            .ok_or_else(|| missing_table(&self.settings.name, table))
        })
    }

    fn probe<'a>(&'a self) -> BoxFuture<'a, EngineResult<ProbeReport>> {
        let role = self.settings.role.clone();
        Box::pin(async move {
            let mut report = self
                .catalog(move |tx| Box::pin(async move { probe::probe(tx, role.as_deref()).await }))
                .await?;
            report.warnings.extend(self.settings.transport_warning());
            Ok(report)
        })
    }
}

/// A policy key as owned schema and table names.
fn owned_key(key: &str, default_schema: &str) -> (String, String) {
    let (schema, table) = metadata::split_key(key, default_schema);
    (schema.to_owned(), table.to_owned())
}

fn missing_table(source: &str, table: &str) -> ToolError {
    ToolError::new(
        ErrorCode::BackendError,
        format!("table `{table}` is allowed by policy but does not exist in source `{source}`"),
        "Check the table key in policy.yaml against the database; `list_allowed_tables` shows the keys",
    )
}
