//! The read-only transaction every statement runs in.
//!
//! `START TRANSACTION READ ONLY`, then `SET LOCAL` timeouts (and the
//! configured role), all undone by the caller's `ROLLBACK`. The prelude is
//! sqlwarden's own text built from integers and a quoted identifier from
//! `connections.yaml`; the agent's SQL never passes through here. Statements
//! of the agent run afterwards through the extended protocol only.

use std::time::Duration;

use tokio_postgres::{Client, Transaction};

/// `START TRANSACTION READ ONLY`; the caller sends [`prelude`] next (or
/// pipelined with its first statement).
pub(crate) async fn start(client: &mut Client) -> Result<Transaction<'_>, tokio_postgres::Error> {
    client.build_transaction().read_only(true).start().await
}

/// The `SET LOCAL` statements for the timeouts and the role.
pub(crate) fn prelude(role: Option<&str>, timeout: Duration) -> String {
    // PostgreSQL takes these settings in milliseconds as a 32-bit integer,
    // and 0 would mean "no limit".
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128);
    let mut sql = format!(
        "SET LOCAL statement_timeout = {ms}; SET LOCAL lock_timeout = {ms}; \
         SET LOCAL idle_in_transaction_session_timeout = {ms}"
    );
    if let Some(role) = role {
        sql.push_str("; SET LOCAL ROLE ");
        sql.push_str(&quote_ident(role));
    }
    sql
}

/// Quote an identifier as PostgreSQL's `quote_ident` does when quoting is
/// needed: in double quotes, with inner double quotes doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_is_quoted_and_timeouts_are_milliseconds() {
        let sql = prelude(Some(r#"ro"; DROP TABLE t; --"#), Duration::from_secs(2));
        assert_eq!(
            sql,
            "SET LOCAL statement_timeout = 2000; SET LOCAL lock_timeout = 2000; \
             SET LOCAL idle_in_transaction_session_timeout = 2000; \
             SET LOCAL ROLE \"ro\"\"; DROP TABLE t; --\""
        );
    }

    #[test]
    fn zero_timeout_is_not_unlimited() {
        assert!(prelude(None, Duration::ZERO).contains("statement_timeout = 1;"));
    }
}
