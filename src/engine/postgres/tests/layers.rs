//! The engine's own layers, with SQL that skipped the gate: the login
//! vetting, the session reset after every call, and the server-side caps.
//!
//! Logins are cluster-wide, so each test names its own after its database
//! and drops them (with everything granted to them) before asserting.

use std::time::Duration;

use serde_json::{json, Value};

use super::{admin, query, run, Db};
use crate::config::PostgresConnection;
use crate::engine::postgres::PostgresEngine;
use crate::engine::{Engine, QueryResult, RunContext, Safeguards};
use crate::error::{ErrorCode, ToolError};
use crate::guard::CheckedQuery;

/// Create login `name` in `db`'s cluster and run `grants` (with `{login}`
/// standing for its quoted name) in `db`.
async fn create_login(db: &Db, name: &str, grants: &str) {
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {name}; CREATE ROLE {name} LOGIN; {}",
            grants.replace("{login}", name)
        ))
        .await
        .unwrap_or_else(|e| panic!("create login {name}: {e:?}"));
}

/// Drop the logins (and every privilege they hold in `db`).
async fn drop_logins(db: &Db, names: &[String]) {
    let client = db.client().await;
    for name in names {
        client
            .batch_execute(&format!("DROP OWNED BY {name}; DROP ROLE {name}"))
            .await
            .unwrap_or_else(|e| panic!("drop login {name}: {e:?}"));
    }
}

/// An engine on `db` that logs in as `login`.
fn engine_as(db: &Db, login: &str, safeguards: Safeguards) -> PostgresEngine {
    let conn = PostgresConnection {
        user: login.into(),
        ..db.connection()
    };
    PostgresEngine::new("test", &conn, None, safeguards)
}

#[tokio::test]
async fn every_kind_of_privileged_login_is_refused_and_a_reader_is_served() {
    let db = Db::create("privileged").await;
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE t (id int, secret text); INSERT INTO t VALUES (1, 'a');
             CREATE SEQUENCE s; CREATE SCHEMA other;",
        )
        .await
        .expect("setup");
    let base = db.name.clone();
    // (label, grants): each makes the login able to write or step around
    // policy in one way.
    let family: Vec<(&str, String)> = vec![
        ("superuser", "ALTER ROLE {login} SUPERUSER".into()),
        ("createrole", "ALTER ROLE {login} CREATEROLE".into()),
        ("createdb", "ALTER ROLE {login} CREATEDB".into()),
        ("bypassrls", "ALTER ROLE {login} BYPASSRLS".into()),
        ("readfiles", "GRANT pg_read_server_files TO {login}".into()),
        (
            "writefiles",
            "GRANT pg_write_server_files TO {login}".into(),
        ),
        (
            "program",
            "GRANT pg_execute_server_program TO {login}".into(),
        ),
        ("readall", "GRANT pg_read_all_data TO {login}".into()),
        ("writeall", "GRANT pg_write_all_data TO {login}".into()),
        ("signal", "GRANT pg_signal_backend TO {login}".into()),
        ("insert", "GRANT INSERT ON t TO {login}".into()),
        (
            "update_column",
            "GRANT UPDATE (secret) ON t TO {login}".into(),
        ),
        ("delete", "GRANT DELETE ON t TO {login}".into()),
        ("truncate", "GRANT TRUNCATE ON t TO {login}".into()),
        ("trigger", "GRANT TRIGGER ON t TO {login}".into()),
        ("sequence", "GRANT USAGE ON SEQUENCE s TO {login}".into()),
        (
            "schema_create",
            "GRANT CREATE ON SCHEMA other TO {login}".into(),
        ),
        (
            "database_create",
            format!("GRANT CREATE ON DATABASE {base} TO {{login}}"),
        ),
        (
            // Not inherited, but one `SET ROLE` away.
            "noinherit_writer",
            "CREATE ROLE {login}_w NOLOGIN; GRANT INSERT ON t TO {login}_w;
             ALTER ROLE {login} NOINHERIT; GRANT {login}_w TO {login}"
                .into(),
        ),
        (
            "member_of_superuser",
            "CREATE ROLE {login}_su NOLOGIN SUPERUSER; GRANT {login}_su TO {login}".into(),
        ),
    ];
    let mut logins = Vec::new();
    let mut helpers = Vec::new();
    let mut outcomes = Vec::new();
    for (label, grants) in &family {
        let login = format!("{base}_{label}");
        create_login(
            &db,
            &login,
            &format!("GRANT SELECT ON t TO {{login}}; {grants}"),
        )
        .await;
        let refused = run(
            &engine_as(&db, &login, Safeguards::default()),
            "SELECT id FROM public.t",
        )
        .await;
        let allowed = run(
            &engine_as(
                &db,
                &login,
                Safeguards {
                    allow_privileged_login: true,
                    ..Safeguards::default()
                },
            ),
            "SELECT id FROM public.t",
        )
        .await;
        outcomes.push((*label, refused, allowed));
        if grants.contains("{login}_w") {
            helpers.push(format!("{login}_w"));
        }
        if grants.contains("{login}_su") {
            helpers.push(format!("{login}_su"));
        }
        logins.push(login);
    }
    let reader = format!("{base}_reader");
    create_login(&db, &reader, "GRANT SELECT (id) ON t TO {login}").await;
    let served = run(
        &engine_as(&db, &reader, Safeguards::default()),
        "SELECT id FROM public.t",
    )
    .await;
    logins.push(reader);
    drop_logins(&db, &logins).await;
    drop_logins(&db, &helpers).await;

    for (label, refused, allowed) in outcomes {
        let error = refused.expect_err(label);
        assert_eq!(error.code, ErrorCode::PrivilegedLogin, "{label}: {error:?}");
        assert!(
            error
                .hint
                .contains("sqlwarden grants --emit-sql --source test")
                && error.hint.contains("allow_privileged_login: true"),
            "{label}: {}",
            error.hint
        );
        assert!(
            error.message.contains("could write or step around policy"),
            "{error:?}"
        );
        let rows = allowed.unwrap_or_else(|e| panic!("{label} allowed by policy: {e:?}"));
        assert_eq!(rows.rows, vec![vec![json!(1)]], "{label}");
    }
    assert_eq!(
        served.expect("a reader is served").rows,
        vec![vec![json!(1)]]
    );
}

#[tokio::test]
async fn the_verdict_is_taken_once_per_connection() {
    let db = Db::create("verdict").await;
    db.client()
        .await
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t VALUES (7);")
        .await
        .expect("setup");
    let login = format!("{}_writer", db.name);
    create_login(&db, &login, "GRANT SELECT, INSERT ON t TO {login}").await;
    let engine = engine_as(&db, &login, Safeguards::default());
    let first = run(&engine, "SELECT id FROM public.t").await;
    let idle_after_refusal = engine.idle_connections();
    // The privilege goes away, but the pooled connection keeps its verdict;
    // a new connection is vetted afresh and served.
    db.client()
        .await
        .batch_execute(&format!("REVOKE INSERT ON t FROM {login}"))
        .await
        .expect("revoke");
    let cached = run(&engine, "SELECT id FROM public.t").await;
    let fresh = run(
        &engine_as(&db, &login, Safeguards::default()),
        "SELECT id FROM public.t",
    )
    .await;
    drop(engine);
    drop_logins(&db, &[login]).await;

    assert_eq!(first.expect_err("writer").code, ErrorCode::PrivilegedLogin);
    assert_eq!(
        idle_after_refusal, 1,
        "the refused connection keeps its verdict"
    );
    assert_eq!(cached.expect_err("cached").code, ErrorCode::PrivilegedLogin);
    assert_eq!(fresh.expect("vetted again").rows, vec![vec![json!(7)]]);
}

#[tokio::test]
async fn catalog_reads_still_work_on_a_privileged_login() {
    // `check` and `grants` read the catalog to say what to fix; only SQL
    // of the agent is refused.
    let db = Db::create("catalogok").await;
    db.client()
        .await
        .batch_execute("CREATE TABLE t (id int)")
        .await
        .expect("setup");
    let engine = PostgresEngine::new("test", &db.connection(), None, Safeguards::default());
    let columns = engine.table_columns("public.t").await.expect("columns");
    assert_eq!(columns.map(|c| c.len()), Some(1));
    assert!(
        engine
            .probe()
            .await
            .expect("probe")
            .write_capabilities
            .len()
            > 1
    );
    let estimate = engine.estimate(&query("SELECT id FROM public.t")).await;
    assert_eq!(
        estimate.expect_err("agent SQL").code,
        ErrorCode::PrivilegedLogin
    );
}

/// Run `sql` and return the first cell of its first row.
async fn cell(engine: &PostgresEngine, sql: &str) -> Value {
    let result: Result<QueryResult, ToolError> = run(engine, sql).await;
    result
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .rows
        .to_vec()[0][0]
        .clone()
}

#[tokio::test]
async fn no_session_state_outlives_a_call() {
    let db = Db::create("reset").await;
    let login = format!("{}_reader", db.name);
    create_login(&db, &login, "").await;
    let engine = engine_as(&db, &login, Safeguards::default());
    let observer = admin(&db.name).await;
    let pid = cell(&engine, "SELECT pg_backend_pid()").await;
    let mut seen = Vec::new();

    // Session-level advisory locks: another session can take them at once.
    for sql in [
        "SELECT pg_advisory_lock(4242)::text",
        "SELECT pg_advisory_lock_shared(4243)::text",
        "SELECT pg_try_advisory_lock(4244)::text",
    ] {
        cell(&engine, sql).await;
    }
    for key in [4242_i64, 4243, 4244] {
        let free: bool = observer
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await
            .expect("try lock")
            .get(0);
        seen.push((format!("advisory lock {key} free"), json!(free)));
    }
    // Prepared statements (not transactional: the rollback keeps them).
    run(&engine, "PREPARE sneaky AS SELECT 1")
        .await
        .expect("prepare");
    seen.push((
        "prepared statements".into(),
        cell(
            &engine,
            "SELECT count(*) FROM pg_catalog.pg_prepared_statements WHERE from_sql",
        )
        .await,
    ));
    // Settings, session-wide or not.
    cell(
        &engine,
        "SELECT set_config('sqlwarden.probe', 'dirty', false)",
    )
    .await;
    cell(
        &engine,
        "SELECT set_config('statement_timeout', '0', false)",
    )
    .await;
    seen.push((
        "custom setting".into(),
        cell(
            &engine,
            "SELECT coalesce(current_setting('sqlwarden.probe', true), '')",
        )
        .await,
    ));
    // LISTEN.
    run(&engine, "LISTEN sqlwarden_probe")
        .await
        .expect("listen");
    seen.push((
        "listening channels".into(),
        cell(
            &engine,
            "SELECT count(*) FROM pg_catalog.pg_listening_channels()",
        )
        .await,
    ));
    // Temporary tables: the read-only transaction refuses them.
    let temp = run(&engine, "CREATE TEMP TABLE sneaky (x int)").await;
    seen.push((
        "temporary tables".into(),
        cell(
            &engine,
            "SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema()",
        )
        .await,
    ));
    let last_pid = cell(&engine, "SELECT pg_backend_pid()").await;
    drop(engine);
    drop(observer);
    drop_logins(&db, &[login]).await;

    assert_eq!(
        seen,
        vec![
            ("advisory lock 4242 free".into(), json!(true)),
            ("advisory lock 4243 free".into(), json!(true)),
            ("advisory lock 4244 free".into(), json!(true)),
            ("prepared statements".into(), json!(0)),
            ("custom setting".into(), json!("")),
            ("listening channels".into(), json!(0)),
            ("temporary tables".into(), json!(0)),
        ]
    );
    assert_eq!(
        temp.expect_err("temp table").code,
        ErrorCode::SqlReadonlyOnly
    );
    // The temp-table failure closed its connection; until then every call
    // ran on the one reused connection, so the state was really reset, not
    // left behind on a connection that was simply closed.
    assert_ne!(pid, last_pid);
}

#[tokio::test]
async fn state_is_reset_on_the_reused_connection_itself() {
    let db = Db::create("samepid").await;
    let login = format!("{}_reader", db.name);
    create_login(&db, &login, "").await;
    let engine = engine_as(&db, &login, Safeguards::default());
    let before = cell(&engine, "SELECT pg_backend_pid()").await;
    cell(&engine, "SELECT pg_advisory_lock(77)::text").await;
    run(&engine, "PREPARE p AS SELECT 1")
        .await
        .expect("prepare");
    let after = cell(
        &engine,
        "SELECT pg_backend_pid()::text || ' ' || \
           (SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) || ' ' || \
           (SELECT count(*) FROM pg_catalog.pg_prepared_statements WHERE from_sql)",
    )
    .await;
    drop(engine);
    drop_logins(&db, &[login]).await;
    assert_eq!(after, json!(format!("{before} 0 0")));
}

#[tokio::test]
async fn work_mem_and_temp_file_limit_come_from_policy() {
    let db = Db::create("caps").await;
    let login = format!("{}_reader", db.name);
    create_login(&db, &login, "").await;
    let safeguards = Safeguards {
        allow_privileged_login: false,
        work_mem_bytes: 8 * 1024 * 1024,
        temp_file_limit_bytes: 1024 * 1024,
    };
    let settings =
        "SELECT current_setting('work_mem') || ' ' || current_setting('temp_file_limit')";
    // A superuser (served only when policy allows it) may set both.
    let trusting = PostgresEngine::new(
        "test",
        &db.connection(),
        None,
        Safeguards {
            allow_privileged_login: true,
            ..safeguards
        },
    );
    let superuser = cell(&trusting, settings).await;
    // A big sort spills past 1 MB of temporary files and is stopped.
    let spill = "SELECT count(*) FROM (SELECT g FROM generate_series(1, 3000000) AS g \
                 ORDER BY pg_catalog.md5(g::text)) AS s";
    let stopped = run(&trusting, spill).await;
    // A least-privilege login may set only work_mem; temp_file_limit is
    // the one its administrator set on it (`grants --emit-sql` prints it).
    let reader = engine_as(&db, &login, safeguards);
    let unset = cell(&reader, settings).await;
    db.client()
        .await
        .batch_execute(&format!("ALTER ROLE {login} SET temp_file_limit = '1MB'"))
        .await
        .expect("alter role");
    let by_role = cell(&engine_as(&db, &login, safeguards), settings).await;
    let stopped_by_role = run(&engine_as(&db, &login, safeguards), spill).await;
    drop(reader);
    drop_logins(&db, &[login]).await;

    assert_eq!(superuser, json!("8MB 1MB"));
    assert_eq!(unset, json!("8MB -1"));
    assert_eq!(by_role, json!("8MB 1MB"));
    for stopped in [stopped, stopped_by_role] {
        let error = stopped.expect_err("temp_file_limit");
        assert_eq!(error.code, ErrorCode::BackendError, "{error:?}");
        assert!(error.message.contains("temp_file_limit"), "{error:?}");
        assert!(error.untrusted_detail.is_some_and(|d| d.contains("53400")));
    }
}

/// A query with the default cell cap and a 1 MiB result cap.
fn capped(sql: &str) -> CheckedQuery {
    CheckedQuery::for_engine_tests(sql, 100, 4096, 1 << 20, Duration::from_secs(60))
}

#[tokio::test]
async fn huge_values_are_cut_on_the_server() {
    let db = Db::create("hugecell").await;
    db.client()
        .await
        .batch_execute("CREATE TABLE c (id int); INSERT INTO c SELECT generate_series(1, 3);")
        .await
        .expect("setup");
    let engine = db.engine();
    // Each computes a value far over the cell cap; each must come back cut
    // to 4096 bytes, counted in cells_truncated.
    let family = [
        (
            "repeat",
            "SELECT repeat('x', 50000000) AS big FROM public.c LIMIT 1",
        ),
        (
            "lpad",
            "SELECT lpad('', 50000000, 'é') AS big FROM public.c LIMIT 1",
        ),
        (
            "string_agg",
            "SELECT string_agg(repeat('y', 1000), ',') AS big FROM generate_series(1, 50000)",
        ),
        (
            "array_agg",
            "SELECT array_agg(g) AS big FROM generate_series(1, 5000000) AS g",
        ),
        (
            "bytea",
            "SELECT decode(repeat('ab', 20000000), 'hex') AS big FROM public.c LIMIT 1",
        ),
        (
            "jsonb",
            "SELECT jsonb_agg(g) AS big FROM generate_series(1, 3000000) AS g",
        ),
        (
            "json_text",
            "SELECT to_json(repeat('z', 20000000)) AS big FROM public.c LIMIT 1",
        ),
        (
            "composite",
            "SELECT ROW(repeat('r', 20000000), 1) AS big FROM public.c LIMIT 1",
        ),
        (
            "text_array",
            "SELECT ARRAY[repeat('t', 20000000)] AS big FROM public.c LIMIT 1",
        ),
        (
            "xml",
            "SELECT xmlelement(name x, repeat('m', 20000000)) AS big FROM public.c LIMIT 1",
        ),
    ];
    for (label, sql) in family {
        let result = engine
            .run(&capped(sql), RunContext::default())
            .await
            .unwrap_or_else(|e| panic!("{label}: {e:?}"));
        let big = &result.rows.to_vec()[0][0];
        let text = big.as_str().unwrap_or_else(|| panic!("{label}: {big}"));
        assert!(
            text.len() <= 4096 && text.len() > 4000,
            "{label}: {} bytes",
            text.len()
        );
        assert_eq!(result.cells_truncated, 1, "{label}");
        assert_eq!(result.columns[0].name, "big", "{label}");
    }
    // Small values of every kind still arrive whole and typed.
    let small = engine
        .run(
            &capped("SELECT 1 AS i, 'a' AS t, ARRAY[1, 2] AS a, '{\"k\": 1}'::jsonb AS j, NULL::text AS n"),
            RunContext::default(),
        )
        .await
        .expect("small");
    assert_eq!(
        small.rows,
        vec![vec![
            json!(1),
            json!("a"),
            json!([1, 2]),
            json!({"k": 1}),
            Value::Null
        ]]
    );
    assert_eq!(small.columns[1].type_name, "text");
    assert_eq!(small.cells_truncated, 0);
}

#[tokio::test]
async fn the_bounding_query_keeps_names_order_and_types() {
    let db = Db::create("boundshape").await;
    let engine = db.engine();
    let result = run(
        &engine,
        "SELECT g AS a, -g AS a, 'x' AS lit, NULL AS nothing \
         FROM generate_series(1, 5) AS g ORDER BY g DESC -- trailing comment",
    )
    .await
    .expect("run");
    let names: Vec<&str> = result.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "a", "lit", "nothing"]);
    assert_eq!(result.columns[2].type_name, "text");
    let firsts: Vec<Value> = result.rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(firsts, [json!(5), json!(4), json!(3), json!(2), json!(1)]);
    assert_eq!(
        result.rows.to_vec()[0],
        vec![json!(5), json!(-5), json!("x"), Value::Null]
    );
    // A statement that is not a plain query cannot be bounded: refused.
    let error = run(&engine, "SHOW work_mem").await.expect_err("SHOW");
    assert_eq!(error.code, ErrorCode::SqlReadonlyOnly, "{error:?}");
}
