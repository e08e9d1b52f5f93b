//! Vetting the login before any SQL of the agent runs on a connection.
//!
//! SQL that reaches the server can undo `SET LOCAL ROLE` (`RESET ROLE`,
//! `set_config('role', …, true)`), so the configured role is no barrier: only
//! the login's own privileges are. A new connection is vetted once, before
//! its first query of the agent, with the same checks `sqlwarden check`
//! reports (`probe.rs`); the verdict stays with the connection in the pool.
//! A login with any finding is refused with `PRIVILEGED_LOGIN` unless
//! policy sets `allow_privileged_login`. sqlwarden's own catalog reads
//! (bound parameters, no text of the agent) are not vetted, so `check`
//! and `grants` still work on such a login and can say what to fix.

use tokio_postgres::Client;

use super::connect::ConnectSettings;
use super::{probe, session};
use crate::engine::Safeguards;
use crate::error::{ErrorCode, ToolError};

/// First server version with `GRANT SET ON PARAMETER`.
const PARAMETER_PRIVILEGES_SINCE: i32 = 150_000;

/// What vetting learnt about a connection's login.
#[derive(Debug, Clone)]
pub(crate) struct Login {
    /// `session_user`.
    pub(crate) name: String,
    /// Every way it could write or step around policy; empty is good.
    pub(crate) findings: Vec<String>,
    /// Whether it may `SET temp_file_limit` (a superuser-only setting,
    /// unless granted).
    pub(crate) may_set_temp_file_limit: bool,
    /// `temp_file_limit` at login, in kB (`-1`: none), as the
    /// administrator set it on the role or the server.
    pub(crate) temp_file_limit_kb: i64,
}

/// Vet the login of `client` in a read-only transaction of its own.
pub(crate) async fn vet(client: &mut Client) -> Result<Login, tokio_postgres::Error> {
    let tx = session::start(client).await?;
    let row = tx
        .query_one(
            "SELECT session_user::text, r.rolsuper, \
                    pg_catalog.current_setting('server_version_num')::int, \
                    (SELECT s.setting::bigint FROM pg_catalog.pg_settings s \
                     WHERE s.name = 'temp_file_limit') \
             FROM pg_catalog.pg_roles r WHERE r.rolname = session_user",
            &[],
        )
        .await?;
    let name: String = row.try_get(0)?;
    let superuser: bool = row.try_get(1)?;
    let version: i32 = row.try_get(2)?;
    let temp_file_limit_kb: i64 = row.try_get(3)?;
    let findings = probe::findings_for(&tx, &name).await?;
    let may_set_temp_file_limit = superuser
        || (version >= PARAMETER_PRIVILEGES_SINCE
            && tx
                .query_one(
                    "SELECT pg_catalog.has_parameter_privilege(session_user, 'temp_file_limit', 'SET')",
                    &[],
                )
                .await?
                .try_get(0)?);
    tx.rollback().await?;
    Ok(Login {
        name,
        findings,
        may_set_temp_file_limit,
        temp_file_limit_kb,
    })
}

impl Login {
    /// Whether SQL of the agent may run on this login under `safeguards`.
    pub(crate) fn admit(
        &self,
        settings: &ConnectSettings,
        safeguards: &Safeguards,
    ) -> Result<(), ToolError> {
        if self.findings.is_empty() || safeguards.allow_privileged_login {
            return Ok(());
        }
        let name = &settings.name;
        Err(ToolError::new(
            ErrorCode::PrivilegedLogin,
            format!(
                "connection `{name}` logs in as `{}`, which could write or step around policy, so no query runs on it: it {}",
                self.name,
                self.findings.join("; it ")
            ),
            format!(
                "Connect as a login with SELECT grants only: `sqlwarden grants --emit-sql --source {name}` prints the SQL that creates one; \
                 to serve this login anyway, set `security: {{allow_privileged_login: true}}` for source `{name}` in policy.yaml (a managed policy can forbid it)"
            ),
        ))
    }

    /// A warning for the log when the login's temporary files are not
    /// capped at `safeguards` and it may not cap them per query.
    pub(crate) fn temp_file_warning(&self, safeguards: &Safeguards) -> Option<String> {
        let cap_kb =
            i64::try_from(safeguards.temp_file_limit_bytes.div_ceil(1024)).unwrap_or(i64::MAX);
        let capped = (0..=cap_kb).contains(&self.temp_file_limit_kb);
        (!self.may_set_temp_file_limit && !capped).then(|| {
            format!(
                "login `{}` has temp_file_limit {} and may not lower it per query; run `ALTER ROLE {} SET temp_file_limit = '{cap_kb}kB'` as an administrator (`sqlwarden grants --emit-sql` prints it)",
                self.name,
                if self.temp_file_limit_kb < 0 {
                    "unlimited".to_owned()
                } else {
                    format!("{} kB", self.temp_file_limit_kb)
                },
                session::quote_ident(&self.name),
            )
        })
    }
}
