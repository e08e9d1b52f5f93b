//! The read-only transaction every statement runs in, and the reset that
//! ends every call.
//!
//! `START TRANSACTION READ ONLY`, then `SET LOCAL` timeouts, resource caps
//! (`work_mem`, and `temp_file_limit` where the login may set it), the
//! search path (and the configured role), all undone by the `ROLLBACK`.
//! The search path is `pg_catalog` alone: the gate qualifies every table,
//! so nothing else needs resolving, and a function, operator or type that
//! someone created in `public` can never shadow a built-in the gate
//! allowed by name. The prelude is sqlwarden's own text built from integers
//! and a quoted identifier from `connections.yaml`; the agent's SQL never
//! passes through here. Statements of the agent run afterwards through the
//! extended protocol only.
//!
//! The rollback undoes settings (`set_config(…, false)` too), `LISTEN` and
//! temporary objects, but not session-level advisory locks or prepared
//! statements. So a connection goes back to the pool only after [`reset`]
//! (`DISCARD ALL`, which clears all of it) succeeded, sent in the same
//! flight as the rollback; otherwise it is closed.

use std::time::Duration;

use tokio_postgres::{Client, Transaction};

use crate::engine::Safeguards;

/// `START TRANSACTION READ ONLY`; the caller sends [`Prelude::sql`] next
/// (or pipelined with its first statement).
pub(crate) async fn start(client: &mut Client) -> Result<Transaction<'_>, tokio_postgres::Error> {
    client.build_transaction().read_only(true).start().await
}

/// Reset every kind of session state (`DISCARD ALL`: cursors, settings,
/// role, prepared statements, `LISTEN`, advisory locks, temporary objects,
/// cached plans and sequences).
///
/// The caller drops its [`Transaction`] first: tokio-postgres sends the
/// `ROLLBACK` from the drop without waiting for its reply, so this reset
/// goes out right behind it, in the same flight. Success proves the
/// rollback ran too, since `DISCARD ALL` refuses to run inside a
/// transaction block.
pub(crate) async fn reset(client: &Client) -> Result<(), tokio_postgres::Error> {
    client.batch_execute("DISCARD ALL").await
}

/// The `SET LOCAL` statements that open every call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prelude<'a> {
    /// The NOLOGIN role to switch to, from `connections.yaml`.
    pub(crate) role: Option<&'a str>,
    /// The call's timeout (statement, lock and idle-in-transaction).
    pub(crate) timeout: Duration,
    /// `work_mem` in bytes.
    pub(crate) work_mem_bytes: u64,
    /// `temp_file_limit` in bytes, when the login may set it.
    pub(crate) temp_file_limit_bytes: Option<u64>,
}

/// Largest value, in kB, of a PostgreSQL memory setting (`INT_MAX / 1024`
/// for `work_mem`, and `INT_MAX` kB for `temp_file_limit` is above what a
/// 64-bit byte count rounds to anyway).
const MAX_WORK_MEM_KB: u64 = (i32::MAX as u64) / 1024;
/// Smallest `work_mem` PostgreSQL accepts, in kB.
const MIN_WORK_MEM_KB: u64 = 64;

impl<'a> Prelude<'a> {
    /// The prelude for a call under `safeguards`; `temp_file_limit` only
    /// when `may_set_temp_file_limit`.
    pub(crate) fn new(
        role: Option<&'a str>,
        timeout: Duration,
        safeguards: &Safeguards,
        may_set_temp_file_limit: bool,
    ) -> Self {
        Self {
            role,
            timeout,
            work_mem_bytes: safeguards.work_mem_bytes,
            temp_file_limit_bytes: may_set_temp_file_limit
                .then_some(safeguards.temp_file_limit_bytes),
        }
    }

    /// `START TRANSACTION READ ONLY` and the statements, as one
    /// simple-query text: if any of it fails, the transaction is left
    /// aborted and whatever follows in the same flight fails too.
    pub(crate) fn opening_sql(&self) -> String {
        format!("START TRANSACTION READ ONLY; {}", self.sql())
    }

    /// The statements, as one simple-query text.
    pub(crate) fn sql(&self) -> String {
        // PostgreSQL takes these settings in milliseconds as a 32-bit
        // integer, and 0 would mean "no limit".
        let ms = self.timeout.as_millis().clamp(1, i32::MAX as u128);
        let work_mem = kilobytes(self.work_mem_bytes).clamp(MIN_WORK_MEM_KB, MAX_WORK_MEM_KB);
        let mut sql = format!(
            "SET LOCAL statement_timeout = {ms}; SET LOCAL lock_timeout = {ms}; \
             SET LOCAL idle_in_transaction_session_timeout = {ms}; \
             SET LOCAL work_mem = {work_mem}; \
             SET LOCAL search_path = pg_catalog"
        );
        if let Some(bytes) = self.temp_file_limit_bytes {
            let limit = kilobytes(bytes).min(i32::MAX as u64);
            sql.push_str(&format!("; SET LOCAL temp_file_limit = {limit}"));
        }
        if let Some(role) = self.role {
            sql.push_str("; SET LOCAL ROLE ");
            sql.push_str(&quote_ident(role));
        }
        sql
    }
}

/// Bytes as whole kilobytes, rounded up (PostgreSQL's unit for both caps).
fn kilobytes(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}

/// Quote an identifier as PostgreSQL's `quote_ident` does when quoting is
/// needed: in double quotes, with inner double quotes doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests;
