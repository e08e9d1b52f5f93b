//! The PostgreSQL engine: read-only transactions over the extended protocol.
//!
//! [`PostgresEngine`] is built from a `connections.yaml` entry without
//! touching the network; the first call connects. Every call checks out a
//! connection (idle ones are reused), opens a `READ ONLY` transaction with
//! `SET LOCAL` timeouts and role (`session.rs`), does its work, and rolls
//! back. A connection that saw any error, a timeout or a cancellation is
//! dropped, never reused. On timeout or client cancellation the connection
//! is dropped and the backend query is cancelled with its cancel token (a
//! closed socket alone would not stop a busy backend).
//!
//! Phases live in their own files: `connect.rs` (settings, TLS in `tls.rs`,
//! credentials), `run.rs` (portal streaming with caps), `types/` (lossless
//! JSON), `metadata.rs`, `explain.rs`, `probe.rs`, `errors.rs` (SQLSTATE to
//! error codes).

mod connect;
mod errors;
mod explain;
mod metadata;
mod pool;
mod probe;
mod run;
mod session;
#[cfg(test)]
mod tests;
mod tls;
mod types;

use std::time::{Duration, Instant};

use tokio_postgres::{Client, Transaction};
use tokio_util::sync::CancellationToken;

use self::connect::ConnectSettings;
use self::pool::Pool;
use self::run::Outcome;
use crate::config::PostgresConnection;
use crate::engine::{
    BoxFuture, ColumnInfo, CostEstimate, Engine, EngineResult, PageRequest, PartitionPage,
    ProbeReport, QueryResult, RunContext,
};
use crate::error::{ErrorCode, ToolError};
use crate::guard::CheckedQuery;
use crate::secrets::Secret;

/// Timeout of catalog reads (`describe_table`, partitions, probe).
const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

/// A PostgreSQL source.
pub struct PostgresEngine {
    settings: ConnectSettings,
    pool: Pool,
}

impl PostgresEngine {
    /// An engine for connection `name`; connects lazily on first use.
    pub fn new(name: &str, conn: &PostgresConnection, password: Option<Secret>) -> Self {
        Self {
            settings: ConnectSettings::new(name, conn, password),
            pool: Pool::default(),
        }
    }

    /// An idle connection (`true`: reused), or a new one (`false`); only a
    /// new one when `fresh`.
    async fn checkout(&self, fresh: bool) -> Result<(Client, bool), ToolError> {
        match self.pool.take().filter(|_| !fresh) {
            Some(client) => Ok((client, true)),
            None => Ok((self.settings.connect().await?, false)),
        }
    }

    /// Run `work` on a checked-out connection under a deadline and a cancel
    /// token. `work` owns the connection and hands it back when it ends; on
    /// success it returns to the pool, on any error it is dropped. When a
    /// reused connection turns out to be dead before any of the call's SQL
    /// was sent ([`Outcome::NotSent`]), the pool is emptied and `work` runs
    /// once more on a new connection, within the same deadline; once SQL
    /// may have reached the server, nothing is tried again. On timeout or
    /// cancellation the work (and with it the connection) is dropped and
    /// the backend query is cancelled.
    async fn guarded<'a, T>(
        &'a self,
        timeout: Duration,
        cancel: &CancellationToken,
        work: impl Fn(Client, Instant) -> BoxFuture<'a, (Client, Outcome<T>)>,
    ) -> EngineResult<T> {
        let deadline = Instant::now() + timeout;
        let mut fresh = false;
        loop {
            let (client, reused) = tokio::select! {
                client = self.checkout(fresh) => client?,
                () = tokio::time::sleep_until(deadline.into()) => return Err(errors::timeout_error()),
                () = cancel.cancelled() => return Err(errors::cancelled_error()),
            };
            let token = client.cancel_token();
            let interrupt = tokio::select! {
                (client, outcome) = work(client, deadline) => match outcome {
                    Outcome::Ran(result) => {
                        if result.is_ok() {
                            self.pool.put(client);
                        }
                        return result;
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
        self.in_read_only(METADATA_TIMEOUT, work).await
    }

    /// Run `work` in a read-only transaction under `timeout`. `work` is
    /// cloned for each attempt (see [`Self::guarded`]).
    async fn in_read_only<T, F>(&self, timeout: Duration, work: F) -> EngineResult<T>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t Transaction<'t>) -> BoxFuture<'t, Result<T, tokio_postgres::Error>>
            + Clone
            + Send
            + 'static,
    {
        let settings = &self.settings;
        self.guarded(
            timeout,
            &CancellationToken::new(),
            move |mut client, deadline| {
                let work = work.clone();
                Box::pin(async move {
                    let outcome =
                        in_transaction(&mut client, settings, timeout, deadline, work).await;
                    (client, outcome)
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

/// Open the read-only transaction, run `work`, roll back.
async fn in_transaction<T, F>(
    client: &mut Client,
    settings: &ConnectSettings,
    timeout: Duration,
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
    Outcome::Ran(
        async {
            let map = run::map_error(settings, deadline);
            tx.batch_execute(&session::prelude(settings.role.as_deref(), timeout))
                .await
                .map_err(|e| errors::prelude_error(settings, &e, run::deadline_state(deadline)))?;
            let value = work(&tx).await.map_err(&map)?;
            tx.rollback().await.map_err(&map)?;
            Ok(value)
        }
        .await,
    )
}

impl Engine for PostgresEngine {
    fn run<'a>(
        &'a self,
        query: &'a CheckedQuery,
        ctx: RunContext,
    ) -> BoxFuture<'a, EngineResult<QueryResult>> {
        let settings = &self.settings;
        Box::pin(async move {
            self.guarded(query.timeout(), &ctx.cancel, move |mut client, deadline| {
                Box::pin(async move {
                    let outcome = run::execute(&mut client, settings, query, deadline).await;
                    (client, outcome)
                })
            })
            .await
        })
    }

    fn estimate<'a>(
        &'a self,
        query: &'a CheckedQuery,
    ) -> BoxFuture<'a, EngineResult<CostEstimate>> {
        let sql = query.sql().to_owned();
        Box::pin(async move {
            self.in_read_only(query.timeout(), move |tx| {
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
        Box::pin(self.catalog(move |tx| {
            Box::pin(async move { metadata::columns(tx, &schema, &name).await })
        }))
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
