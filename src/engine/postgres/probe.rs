//! `probe`: who the engine connects as, and every way that login (and the
//! configured role) could write or step around policy.
//!
//! sqlwarden's read-only transaction stops writes, but a login that could
//! write is one bug away from doing so, and some powers (superuser,
//! server-file roles, BYPASSRLS) escape more than writes. Worse, SQL that
//! reaches the server can undo `SET ROLE` (`RESET ROLE`,
//! `set_config('role', …)`), so every check covers each role the subject is
//! a member of (it could switch to any of them), not only its own grants.
//! `sqlwarden check` prints each finding as a loud warning, and the engine
//! refuses to run SQL on a login with any finding unless policy allows it
//! (`login.rs`). All names are bound as parameters.

use tokio_postgres::{Row, Transaction};

use crate::engine::ProbeReport;

/// Predefined roles whose members can read or write server files, run
/// programs on the server, read or write every table whatever its grants,
/// or end other sessions.
const POWERFUL_ROLES: [&str; 6] = [
    "pg_write_server_files",
    "pg_read_server_files",
    "pg_execute_server_program",
    "pg_write_all_data",
    "pg_read_all_data",
    "pg_signal_backend",
];

/// The roles `$1` is a member of (itself included), directly or not.
const MEMBER_OF: &str = "SELECT r.oid FROM pg_catalog.pg_roles r \
     WHERE pg_catalog.pg_has_role($1, r.oid, 'MEMBER')";

const ATTRIBUTES: &str = "SELECT coalesce(bool_or(rolsuper), false), \
     coalesce(bool_or(rolcreaterole), false), coalesce(bool_or(rolcreatedb), false), \
     coalesce(bool_or(rolbypassrls), false) \
     FROM pg_catalog.pg_roles WHERE pg_catalog.pg_has_role($1, oid, 'MEMBER') \
     HAVING count(*) > 0";

const MEMBERSHIPS: &str = "SELECT r.rolname::text FROM pg_catalog.pg_roles r \
     WHERE r.rolname = ANY ($2) AND pg_catalog.pg_has_role($1, r.oid, 'MEMBER') \
     ORDER BY 1";

/// Relations outside the system schemas.
const USER_RELATIONS: &str = "FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
       AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

/// Grants on a column count as much as grants on the table.
fn writable_tables() -> String {
    format!(
        "WITH m AS ({MEMBER_OF}) SELECT n.nspname || '.' || c.relname {USER_RELATIONS} \
           AND c.relkind IN ('r', 'p', 'v', 'f') \
           AND EXISTS (SELECT 1 FROM m WHERE \
                pg_catalog.has_any_column_privilege(m.oid, c.oid, 'INSERT') \
             OR pg_catalog.has_any_column_privilege(m.oid, c.oid, 'UPDATE') \
             OR pg_catalog.has_table_privilege(m.oid, c.oid, 'DELETE') \
             OR pg_catalog.has_table_privilege(m.oid, c.oid, 'TRUNCATE')) \
         ORDER BY 1"
    )
}

fn trigger_tables() -> String {
    format!(
        "WITH m AS ({MEMBER_OF}) SELECT n.nspname || '.' || c.relname {USER_RELATIONS} \
           AND c.relkind IN ('r', 'p', 'v', 'f') \
           AND EXISTS (SELECT 1 FROM m WHERE pg_catalog.has_table_privilege(m.oid, c.oid, 'TRIGGER')) \
         ORDER BY 1"
    )
}

fn writable_sequences() -> String {
    format!(
        "WITH m AS ({MEMBER_OF}) SELECT n.nspname || '.' || c.relname {USER_RELATIONS} \
           AND c.relkind = 'S' \
           AND EXISTS (SELECT 1 FROM m WHERE \
                pg_catalog.has_sequence_privilege(m.oid, c.oid, 'USAGE') \
             OR pg_catalog.has_sequence_privilege(m.oid, c.oid, 'UPDATE')) \
         ORDER BY 1"
    )
}

fn create_schemas() -> String {
    format!(
        "WITH m AS ({MEMBER_OF}) SELECT n.nspname::text FROM pg_catalog.pg_namespace n \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
           AND EXISTS (SELECT 1 FROM m WHERE pg_catalog.has_schema_privilege(m.oid, n.oid, 'CREATE')) \
         ORDER BY 1"
    )
}

fn create_database() -> String {
    format!(
        "WITH m AS ({MEMBER_OF}) SELECT EXISTS (SELECT 1 FROM m WHERE \
           pg_catalog.has_database_privilege(m.oid, pg_catalog.current_database(), 'CREATE'))"
    )
}

/// Most relations named in one finding; the rest are counted.
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

/// Every way `name` (or a role it can switch to) could write or step
/// around policy, one sentence each; empty for a least-privilege login.
pub(crate) async fn findings_for(
    tx: &Transaction<'_>,
    name: &str,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let mut findings = Vec::new();
    if let Some(row) = tx.query_opt(ATTRIBUTES, &[&name]).await? {
        let flags = [
            (
                row.try_get::<_, bool>(0)?,
                "is a superuser (or can switch to one): it can do anything, including write",
            ),
            (
                row.try_get(1)?,
                "has CREATEROLE (or can switch to a role that has): it can create and grant roles",
            ),
            (
                row.try_get(2)?,
                "has CREATEDB (or can switch to a role that has): it can create databases",
            ),
            (
                row.try_get(3)?,
                "has BYPASSRLS (or can switch to a role that has): row-level security does not apply to it",
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
    let relations = [
        (
            writable_tables(),
            "can INSERT, UPDATE, DELETE or TRUNCATE",
            "table(s)",
        ),
        (trigger_tables(), "can create triggers on", "table(s)"),
        (writable_sequences(), "can advance or set", "sequence(s)"),
    ];
    for (sql, verb, noun) in relations {
        let names = first_column(tx.query(sql.as_str(), &[&name]).await?)?;
        if !names.is_empty() {
            findings.push(format!(
                "{verb} {} {noun}: {}",
                names.len(),
                some_of(&names)
            ));
        }
    }
    if tx
        .query_one(create_database().as_str(), &[&name])
        .await?
        .try_get::<_, bool>(0)?
    {
        findings.push("can CREATE schemas in the database".into());
    }
    let schemas = first_column(tx.query(create_schemas().as_str(), &[&name]).await?)?;
    if !schemas.is_empty() {
        findings.push(format!(
            "can CREATE objects in schema(s): {}",
            schemas.join(", ")
        ));
    }
    Ok(findings)
}

/// The first few names, and how many more there are.
fn some_of(names: &[String]) -> String {
    let named = names
        .iter()
        .take(TABLES_NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match names.len().saturating_sub(TABLES_NAMED) {
        0 => named,
        more => format!("{named} and {more} more"),
    }
}

/// The first column of every row, as text.
fn first_column(rows: Vec<Row>) -> Result<Vec<String>, tokio_postgres::Error> {
    rows.iter().map(|r| r.try_get(0)).collect()
}
