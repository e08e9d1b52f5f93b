//! The gate switched off: a hostile corpus sent straight through the
//! engine (`CheckedQuery::for_engine_tests`, which exists only in test
//! builds) on a login whose grants come from `sqlwarden grants --emit-sql`.
//! The layers behind the gate must hold on their own: no denied column, no
//! unlisted table, no server file, no session state left, nothing changed.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::{admin, Db};
use crate::config::PostgresConnection;
use crate::engine::postgres::PostgresEngine;
use crate::engine::{Engine, RunContext, Safeguards};
use crate::error::{ErrorCode, ToolError};
use crate::guard::CheckedQuery;
use crate::policy::grants::{GrantPlan, TableGrant};

/// The database: `customers.ssn` is denied by policy, `salaries` is not
/// listed at all; both hold values that must never come back.
const SCHEMA: &str = "
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, ssn text NOT NULL);
INSERT INTO customers (name, ssn) SELECT 'customer ' || i, 'SECRET-SSN-' || i
  FROM generate_series(1, 20) AS i;
CREATE TABLE salaries (employee text, amount text);
INSERT INTO salaries VALUES ('boss', 'SECRET-SALARY-1');
";

/// Markers that prove a leak when they appear in any returned cell.
const LEAKS: [&str; 4] = ["SECRET-", "root:", "rolpassword", "SCRAM-SHA-256"];

/// What an attacker whose SQL skipped the gate would try.
const CORPUS: &[&str] = &[
    // Server files and programs.
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_read_binary_file('/etc/passwd')",
    "SELECT pg_read_file('postgresql.auto.conf')",
    "SELECT * FROM pg_ls_dir('.')",
    "SELECT pg_stat_file('PG_VERSION')",
    "SELECT query_to_xml('SELECT pg_read_file(''/etc/passwd'')', true, true, '')",
    "COPY public.customers TO PROGRAM 'id > /tmp/sqlwarden_hostile_program'",
    "COPY (SELECT 1) TO '/tmp/sqlwarden_hostile_copy'",
    "COPY public.customers (id) FROM '/etc/passwd'",
    "SELECT lo_import('/etc/passwd')",
    "SELECT lo_export(1, '/tmp/sqlwarden_hostile_lo')",
    "SELECT lo_from_bytea(0, 'x')",
    "SELECT current_setting('data_directory')",
    "SELECT current_setting('hba_file')",
    // Becoming someone else.
    "SELECT set_config('role', 'postgres', true)",
    "SELECT set_config('role', 'postgres', false)",
    "SELECT set_config('session_authorization', 'postgres', false)",
    "SET ROLE postgres",
    "SET LOCAL ROLE pg_read_server_files",
    "SET SESSION AUTHORIZATION postgres",
    "RESET ROLE",
    "SELECT pg_catalog.set_config('role', 'pg_read_all_data', true)",
    // Secrets of the cluster.
    "SELECT rolname, rolpassword FROM pg_authid",
    "SELECT query_to_xml('SELECT * FROM pg_authid', true, true, '')",
    "SELECT * FROM pg_catalog.pg_shadow",
    "SELECT * FROM pg_catalog.pg_user_mappings",
    // The unlisted table and the denied column, every way round.
    "SELECT * FROM public.salaries",
    "SELECT amount FROM public.salaries",
    "SELECT query_to_xml('SELECT amount FROM public.salaries', true, true, '')",
    "SELECT ssn FROM public.customers",
    "SELECT * FROM public.customers",
    "SELECT c FROM public.customers c",
    "SELECT to_jsonb(c) FROM public.customers c",
    "SELECT row_to_json(c) FROM public.customers c",
    "SELECT count(ssn) FROM public.customers",
    "SELECT id FROM public.customers WHERE ssn LIKE 'SECRET%'",
    "SELECT id FROM public.customers ORDER BY ssn",
    "SELECT query_to_xml('SELECT ssn FROM public.customers', true, true, '')",
    "SELECT (SELECT ssn FROM public.customers LIMIT 1)",
    "TABLE public.customers",
    "SELECT id, name FROM public.customers FOR UPDATE",
    // Writes, DDL and maintenance.
    "INSERT INTO public.customers (name, ssn) VALUES ('x', 'y')",
    "UPDATE public.customers SET name = 'pwned'",
    "DELETE FROM public.customers",
    "TRUNCATE public.customers",
    "DROP TABLE public.customers",
    "CREATE TABLE evil (x int)",
    "CREATE TEMP TABLE evil (x int)",
    "CREATE FUNCTION evil() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE EXTENSION dblink",
    "SELECT dblink_connect('host=127.0.0.1 user=postgres')",
    "ALTER SYSTEM SET work_mem = '1GB'",
    "SELECT pg_reload_conf()",
    "VACUUM public.customers",
    "ANALYZE public.customers",
    "LOCK TABLE public.customers IN ACCESS EXCLUSIVE MODE",
    "SELECT nextval('public.customers_id_seq')",
    "SELECT setval('public.customers_id_seq', 1)",
    "DO $$BEGIN INSERT INTO public.customers (name, ssn) VALUES ('x', 'y'); END$$",
    "WITH w AS (DELETE FROM public.customers RETURNING id) SELECT count(*) FROM w",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()",
    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()",
    "SELECT 1; SELECT pg_read_file('/etc/passwd')",
    // Session state that would outlive the call.
    "SELECT pg_advisory_lock(9001)",
    "SELECT pg_advisory_lock_shared(9002)",
    "SELECT set_config('statement_timeout', '0', false)",
    "SET work_mem = '2GB'",
    "LISTEN hostile",
    "PREPARE hostile AS SELECT 1",
    "DECLARE hostile CURSOR WITH HOLD FOR SELECT 1",
    // What the grants allow, to show the login is not simply locked out.
    "SELECT id, name FROM public.customers ORDER BY id LIMIT 3",
    // Resources.
    "SELECT repeat('x', 300000000) AS big",
    "SELECT string_agg(repeat('y', 1000), ',') FROM generate_series(1, 100000)",
];

/// The layer that stopped (or bounded) a statement, by what came back.
fn layer(outcome: &Result<crate::engine::QueryResult, ToolError>) -> String {
    match outcome {
        Ok(result) if result.cells_truncated > 0 => "ran, cut by the bounding query".into(),
        Ok(_) => "ran (nothing to stop)".into(),
        Err(e) => {
            let sqlstate = e
                .untrusted_detail
                .as_deref()
                .and_then(|d| d.split_whitespace().nth(1))
                .map(|s| s.trim_end_matches(':').to_owned())
                .unwrap_or_default();
            let by = match (e.code, sqlstate.as_str()) {
                (ErrorCode::SqlReadonlyOnly, "0A000" | "42601") => {
                    "bounding query (not a plain query)"
                }
                (_, "42501") => "login privileges",
                (_, "25006") => "read-only transaction",
                (_, "42601") => "extended protocol (one statement)",
                (_, "25001") => "transaction block",
                (_, "42883") => "function does not exist",
                (_, "53400") => "temp_file_limit",
                _ => "other",
            };
            format!("refused by {by} ({} {sqlstate})", e.code)
        }
    }
}

/// A fingerprint of everything the corpus could change: the data, the
/// schema, the test's roles (other tests make and drop roles of their own
/// meanwhile), large objects, extensions and settings.
async fn fingerprint(db: &Db, roles: &[String]) -> String {
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT concat_ws(' | ',
               (SELECT md5(string_agg(c::text, ',' ORDER BY c.id)) FROM customers c),
               (SELECT md5(string_agg(s::text, ',' ORDER BY s.employee)) FROM salaries s),
               (SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname)
                  FROM pg_class WHERE relnamespace = 'public'::regnamespace),
               (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace),
               (SELECT string_agg(concat_ws(':', rolname, rolsuper, rolcreaterole, rolcreatedb,
                                           rolbypassrls, rolconfig::text), ',' ORDER BY rolname)
                  FROM pg_roles WHERE rolname = ANY ($1)),
               (SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
                  WHERE r.rolname = ANY ($1)),
               (SELECT count(*) FROM pg_largeobject_metadata),
               (SELECT string_agg(extname, ',') FROM pg_extension),
               (SELECT last_value FROM customers_id_seq),
               (SELECT count(*) FROM pg_file_settings),
               pg_stat_file('/tmp/sqlwarden_hostile_program', true) IS NULL,
               pg_stat_file('/tmp/sqlwarden_hostile_copy', true) IS NULL,
               pg_stat_file('/tmp/sqlwarden_hostile_lo', true) IS NULL)",
            &[&roles],
        )
        .await
        .expect("fingerprint");
    row.get(0)
}

#[tokio::test]
async fn with_the_gate_off_the_layers_behind_it_hold() {
    let db = Db::create("hostile").await;
    db.client()
        .await
        .batch_execute(SCHEMA)
        .await
        .expect("schema");
    let role = format!("{}_ro", db.name);
    let login = format!("{}_agent", db.name);
    // The grants `sqlwarden grants --emit-sql --grant-to <login>` prints
    // for a policy listing `public.customers` with `ssn` denied.
    let plan = GrantPlan {
        role: role.clone(),
        grant_to: Some(login.clone()),
        header: "hostile corpus".into(),
        tables: vec![TableGrant {
            schema: "public".into(),
            table: "customers".into(),
            columns: vec!["id".into(), "name".into()],
        }],
    };
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {login}; CREATE ROLE {login} LOGIN"
        ))
        .await
        .expect("login");
    client.batch_execute(&plan.to_sql()).await.expect("grants");
    let before = fingerprint(&db, &[login.clone(), role.clone()]).await;

    let conn = PostgresConnection {
        user: login.clone(),
        ..db.connection()
    };
    let engine = PostgresEngine::new("test", &conn, None, Safeguards::default());
    let mut layers: BTreeMap<String, usize> = BTreeMap::new();
    let mut leaks = Vec::new();
    let mut report = Vec::new();
    for sql in CORPUS {
        let checked =
            CheckedQuery::for_engine_tests(sql, 100, 4096, 1 << 20, Duration::from_secs(20));
        let outcome = engine.run(&checked, RunContext::default()).await;
        if let Ok(result) = &outcome {
            for cell in result.rows.iter().flatten() {
                let text = match cell {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if LEAKS.iter().any(|marker| text.contains(marker)) {
                    leaks.push(format!(
                        "{sql}: {}",
                        text.chars().take(80).collect::<String>()
                    ));
                }
            }
        }
        let by = layer(&outcome);
        report.push(format!("{by:<60} {sql}"));
        *layers.entry(by).or_default() += 1;
    }
    // The session the corpus ran on, if it survived, is clean; no backend
    // holds an advisory lock; and nothing changed.
    let leftovers = crate::engine::postgres::tests::run(
        &engine,
        "SELECT (SELECT count(*) FROM pg_catalog.pg_listening_channels()) || ' ' || \
                (SELECT count(*) FROM pg_catalog.pg_prepared_statements WHERE from_sql) || ' ' || \
                (SELECT count(*) FROM pg_catalog.pg_cursors WHERE is_holdable) || ' ' || \
                pg_catalog.current_setting('work_mem') || ' ' || current_user",
    )
    .await
    .expect("leftovers");
    let observer = admin(&db.name).await;
    let advisory: i64 = observer
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'",
            &[],
        )
        .await
        .expect("locks")
        .get(0);
    let after = fingerprint(&db, &[login.clone(), role.clone()]).await;
    drop(engine);
    client
        .batch_execute(&format!(
            "DROP OWNED BY {login}, {role}; DROP ROLE {login}; DROP ROLE {role}"
        ))
        .await
        .expect("cleanup");

    eprintln!("hostile corpus: {} statements", CORPUS.len());
    for line in &report {
        eprintln!("  {line}");
    }
    for (by, n) in &layers {
        eprintln!("{n:>4}  {by}");
    }
    assert!(leaks.is_empty(), "leaked: {leaks:#?}");
    assert_eq!(before, after, "the database changed");
    assert_eq!(advisory, 0, "an advisory lock outlived its call");
    assert_eq!(
        leftovers.rows.to_vec()[0][0],
        Value::String(format!("0 0 0 4MB {login}")),
        "session state outlived its call"
    );
    assert!(
        !layers.keys().any(|k| k.contains("other")),
        "every refusal is explained: {report:#?}"
    );
}
