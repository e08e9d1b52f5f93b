//! `probe`: who the engine connects as, and every way that login (and the
//! configured role) could write or step around policy.
//!
//! sqlwarden's read-only transaction stops writes, but a login that could
//! write is one bug away from doing so, and some powers (superuser,
//! server-file roles, BYPASSRLS) escape more than writes. `sqlwarden check`
//! prints each finding as a loud warning. All names are bound as parameters.

use tokio_postgres::{Row, Transaction};

use crate::engine::ProbeReport;

/// Predefined roles whose members can read or write server files, run
/// programs on the server, or write every table.
const POWERFUL_ROLES: [&str; 4] = [
    "pg_write_server_files",
    "pg_read_server_files",
    "pg_execute_server_program",
    "pg_write_all_data",
];

const ATTRIBUTES: &str = "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls \
     FROM pg_catalog.pg_roles WHERE rolname = $1";

const MEMBERSHIPS: &str = "SELECT r.rolname::text FROM pg_catalog.pg_roles r \
     WHERE r.rolname = ANY ($2) AND pg_catalog.pg_has_role($1, r.oid, 'MEMBER') \
     ORDER BY 1";

const WRITABLE_TABLES: &str = "SELECT n.nspname || '.' || c.relname \
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p', 'v', 'f') \
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
       AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
       AND (pg_catalog.has_table_privilege($1, c.oid, 'INSERT') \
         OR pg_catalog.has_table_privilege($1, c.oid, 'UPDATE') \
         OR pg_catalog.has_table_privilege($1, c.oid, 'DELETE') \
         OR pg_catalog.has_table_privilege($1, c.oid, 'TRUNCATE')) \
     ORDER BY 1";

const CREATE_SCHEMAS: &str = "SELECT n.nspname::text FROM pg_catalog.pg_namespace n \
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
       AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
       AND pg_catalog.has_schema_privilege($1, n.oid, 'CREATE') ORDER BY 1";

const CREATE_DATABASE: &str =
    "SELECT pg_catalog.has_database_privilege($1, pg_catalog.current_database(), 'CREATE')";

/// Most writable tables named in one finding; the rest are counted.
const TABLES_NAMED: usize = 5;

/// Probe the login (`session_user`) and, when set, the role in use.
pub(crate) async fn probe(
    tx: &Transaction<'_>,
    role: Option<&str>,
) -> Result<ProbeReport, tokio_postgres::Error> {
    let row = tx
        .query_one("SELECT pg_catalog.version(), session_user::text", &[])
        .await?;
    let mut report = ProbeReport {
        server_version: row.try_get(0)?,
        login: row.try_get(1)?,
        ..ProbeReport::default()
    };
    let mut subjects = vec![(format!("login `{}`", report.login), report.login.clone())];
    if let Some(role) = role {
        subjects.push((format!("role `{role}`"), role.to_owned()));
    }
    for (label, name) in &subjects {
        let findings = findings_for(tx, name).await?;
        report
            .write_capabilities
            .extend(findings.into_iter().map(|f| format!("{label} {f}")));
    }
    Ok(report)
}

async fn findings_for(
    tx: &Transaction<'_>,
    name: &str,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let mut findings = Vec::new();
    if let Some(row) = tx.query_opt(ATTRIBUTES, &[&name]).await? {
        let flags = [
            (
                row.try_get::<_, bool>(0)?,
                "is a superuser: it can do anything, including write",
            ),
            (
                row.try_get(1)?,
                "has CREATEROLE: it can create and grant roles",
            ),
            (row.try_get(2)?, "has CREATEDB: it can create databases"),
            (
                row.try_get(3)?,
                "has BYPASSRLS: row-level security does not apply to it",
            ),
        ];
        findings.extend(
            flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, text)| (*text).to_owned()),
        );
    }
    let powerful: Vec<String> = POWERFUL_ROLES.iter().map(|r| (*r).to_owned()).collect();
    for role in first_column(tx.query(MEMBERSHIPS, &[&name, &powerful]).await?)? {
        findings.push(format!("is a member of `{role}`"));
    }
    let tables = first_column(tx.query(WRITABLE_TABLES, &[&name]).await?)?;
    if !tables.is_empty() {
        let named = tables
            .iter()
            .take(TABLES_NAMED)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let more = tables.len().saturating_sub(TABLES_NAMED);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        findings.push(format!(
            "can INSERT, UPDATE, DELETE or TRUNCATE {} table(s): {named}{more}",
            tables.len()
        ));
    }
    if tx
        .query_one(CREATE_DATABASE, &[&name])
        .await?
        .try_get::<_, bool>(0)?
    {
        findings.push("can CREATE schemas in the database".into());
    }
    let schemas = first_column(tx.query(CREATE_SCHEMAS, &[&name]).await?)?;
    if !schemas.is_empty() {
        findings.push(format!(
            "can CREATE objects in schema(s): {}",
            schemas.join(", ")
        ));
    }
    Ok(findings)
}

/// The first column of every row, as text.
fn first_column(rows: Vec<Row>) -> Result<Vec<String>, tokio_postgres::Error> {
    rows.iter().map(|r| r.try_get(0)).collect()
}
