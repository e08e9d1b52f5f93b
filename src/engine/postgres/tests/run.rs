//! Running queries: caps, the read-only transaction, the extended protocol,
//! timeouts, cancellation, and connection reuse.

use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{admin, assert_syntax_error, copying, query, run, run_one_flight, Db};
use crate::engine::postgres::bound::{self, ColumnType, Sent};
use crate::engine::{Engine, RunContext, Truncation};
use crate::error::ErrorCode;
use crate::guard::CheckedQuery;
use tokio_postgres::types::Type;

async fn with_table(label: &str, setup: &str) -> Db {
    let db = Db::create(label).await;
    db.client().await.batch_execute(setup).await.expect("setup");
    db
}

#[tokio::test]
async fn row_cap_reads_one_extra_row_and_reports_it() {
    let db = Db::create("rowcap").await;
    let engine = db.engine();
    let checked = CheckedQuery::for_engine_tests(
        "SELECT i FROM generate_series(1, 1000000) AS i",
        3,
        4096,
        1 << 20,
        Duration::from_secs(30),
    );
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(
        result.rows,
        vec![vec![json!(1)], vec![json!(2)], vec![json!(3)]]
    );
    assert_eq!(result.truncation, Some(Truncation::RowLimit));

    let checked = CheckedQuery::for_engine_tests(
        "SELECT i FROM generate_series(1, 3) AS i",
        3,
        4096,
        1 << 20,
        Duration::from_secs(30),
    );
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(result.rows.len(), 3);
    assert_eq!(result.truncation, None);
    assert_eq!(result.columns[0].name, "i");
    assert_eq!(result.columns[0].type_name, "int4");
}

#[tokio::test]
async fn byte_cap_stops_the_fetch() {
    let db = Db::create("bytecap").await;
    let engine = db.engine();
    // Each row is ["xxxxxxxx"] = 12 bytes; 100 bytes hold 8 rows.
    let checked = CheckedQuery::for_engine_tests(
        "SELECT repeat('x', 8) FROM generate_series(1, 100000)",
        100_000,
        4096,
        100,
        Duration::from_secs(30),
    );
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(result.rows.len(), 8);
    assert_eq!(result.bytes, 96);
    assert_eq!(result.truncation, Some(Truncation::ResultBytes));
}

#[tokio::test]
async fn cells_over_the_cap_are_cut_and_counted() {
    let db = Db::create("cellcap").await;
    let engine = db.engine();
    let checked = CheckedQuery::for_engine_tests(
        "SELECT repeat('é', 10), 'short', ARRAY[1000, 2000, 3000]",
        10,
        5,
        1 << 20,
        Duration::from_secs(30),
    );
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(
        result.rows.to_vec()[0],
        vec![json!("éé"), json!("short"), json!("[1000")]
    );
    assert_eq!(result.cells_truncated, 2);
}

#[tokio::test]
async fn a_cut_value_reads_as_its_json_text_or_its_own_text() {
    let db = with_table(
        "cuttext",
        "CREATE DOMAIN public.dtext AS text; CREATE DOMAIN public.darr AS int[]; \
         CREATE TYPE public.pair AS (a int, b text)",
    )
    .await;
    let engine = db.engine();
    // Strings, `bytea`, JSON and XML (domains over them too) are cut from
    // their own text; everything else from its JSON text. Values of
    // built-in types go in one flight and in two; the others only ever go
    // in two (see `one_flight_only_for_tables_of_built_in_types`).
    let cases = [
        ("repeat('a', 20)", "aaaaaaaa", true),
        ("repeat('d', 20)::public.dtext", "dddddddd", false),
        ("ARRAY[1, 2, 3, 4, 5, 6, 7]", "[1,2,3,4", true),
        ("ARRAY[1, 2, 3, 4, 5, 6, 7]::public.darr", "[1,2,3,4", false),
        ("ROW(1, 'abcdefgh')::public.pair", "{\"a\":1,\"", false),
        ("ROW(1, 'abcdefgh')", "{\"f1\":1,", true),
        ("'{\"k\": \"vvvvvvvv\"}'::json", "{\"k\": \"v", true),
        ("'\\x00010203040506070809'::bytea", "\\x000102", true),
        ("int4range(1000000, 2000000)", "\"[100000", true),
        // The server sends JSON text; a string's escapes are read back.
        ("E'a\\nb\"c\\\\d' || repeat('e', 20)", "a\nb\"c\\de", true),
        ("'日本語' || repeat('x', 20)", "日本", true),
    ];
    for (expr, cut, built_in) in cases {
        let sql = format!("SELECT {expr}");
        let checked = CheckedQuery::for_engine_tests(&sql, 10, 8, 1 << 20, Duration::from_secs(30));
        let ways = if built_in {
            vec![checked.clone(), checked.with_output_columns(1)]
        } else {
            vec![checked]
        };
        for checked in ways {
            let result = engine
                .run(&checked, RunContext::default())
                .await
                .expect(&sql);
            assert_eq!(result.rows.to_vec()[0], vec![json!(cut)], "{sql}");
            assert_eq!(result.cells_truncated, 1, "{sql}");
        }
    }
    // A computed string's type is known only once described: measured in
    // one flight, its JSON text takes six characters for each of these, a
    // shorter start, still a true one; described as `text` in two, it is
    // sent as a prefix, whose start is the whole cap.
    let sql = "SELECT repeat(chr(1), 20)";
    let checked = CheckedQuery::for_engine_tests(sql, 10, 8, 1 << 20, Duration::from_secs(30));
    for (checked, cut) in [
        (checked.clone().with_output_columns(1), "\u{1}".repeat(2)),
        (checked, "\u{1}".repeat(8)),
    ] {
        let result = engine
            .run(&checked, RunContext::default())
            .await
            .expect(sql);
        assert_eq!(result.rows.to_vec()[0], vec![json!(cut)]);
        assert_eq!(result.cells_truncated, 1);
    }
}

#[tokio::test]
async fn writes_fail_inside_the_read_only_transaction() {
    let db = with_table(
        "readonly",
        "CREATE TABLE t (x int); INSERT INTO t VALUES (1); CREATE SEQUENCE s;
         CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql VOLATILE
           AS 'INSERT INTO public.t VALUES (666) RETURNING x';",
    )
    .await;
    let engine = db.engine();
    // 25006: the read-only transaction refused the write; 0A000: the
    // bounding query (`bound.rs`) refused a data-modifying WITH first.
    for (sql, sqlstate) in [
        ("SELECT public.sneaky()", "25006"),
        (
            "WITH w AS (INSERT INTO public.t VALUES (2) RETURNING x) SELECT x FROM w",
            "0A000",
        ),
        ("INSERT INTO public.t VALUES (3)", "25006"),
        ("SELECT nextval('public.s')", "25006"),
        ("SELECT setval('public.s', 100)", "25006"),
    ] {
        let error = run(&engine, sql).await.expect_err(sql);
        assert_eq!(error.code, ErrorCode::SqlReadonlyOnly, "{sql}: {error:?}");
        assert!(
            error
                .untrusted_detail
                .as_deref()
                .is_some_and(|d| d.contains(sqlstate)),
            "{sql}: {error:?}"
        );
    }
    let client = db.client().await;
    let rows = client.query("SELECT x FROM t", &[]).await.expect("count");
    assert_eq!(rows.len(), 1, "the table must be unchanged");
    let last: i64 = client
        .query_one("SELECT last_value FROM s", &[])
        .await
        .expect("seq")
        .get(0);
    assert_eq!(last, 1, "the sequence must be untouched");
}

#[tokio::test]
async fn one_flight_only_for_tables_of_built_in_types() {
    let db = with_table(
        "builtin",
        "CREATE TYPE public.mood AS ENUM ('calm', 'cross'); \
         CREATE TABLE public.plain (n int, t text, a int[]); \
         CREATE TABLE public.moods (n int, m public.mood); \
         INSERT INTO public.moods VALUES (1, 'calm'), (2, 'cross')",
    )
    .await;
    let engine = db.engine();
    let reads = |tables: &[&str]| {
        query("SELECT 1")
            .with_output_columns(1)
            .with_tables_used(tables)
    };
    // Nothing is known of a table this engine has not described.
    assert!(engine.one_flight(&reads(&["public.plain"])).is_none());
    engine.table_columns("public.plain").await.expect("plain");
    engine.table_columns("public.moods").await.expect("moods");
    assert!(engine.one_flight(&reads(&["public.plain"])).is_some());
    assert!(engine.one_flight(&reads(&["public.moods"])).is_none());
    assert!(engine
        .one_flight(&reads(&["public.plain", "public.moods"]))
        .is_none());
    // The enum's type is looked up in two flights, well within the timeout
    // (in one flight the lookup would wait behind the flight's own rows).
    let checked = CheckedQuery::for_engine_tests(
        "SELECT n, m FROM public.moods ORDER BY n",
        10,
        4096,
        1 << 20,
        Duration::from_secs(10),
    )
    .with_output_columns(2)
    .with_tables_used(&["public.moods"]);
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(result.rows.len(), 2);
    assert_eq!(result.columns[1].name, "m");
}

#[tokio::test]
async fn extended_protocol_runs_one_statement_only() {
    let db = with_table("multistmt", "CREATE TABLE t (x int)").await;
    let engine = db.engine();
    for sql in [
        "SELECT 1; SELECT 2",
        "SELECT 1; COMMIT; DROP TABLE t",
        "SELECT 1; DROP TABLE t",
    ] {
        // In two flights, and in one (where the bounding query goes out
        // before the prepare has answered).
        for error in [
            run(&engine, sql).await.expect_err(sql),
            run_one_flight(&engine, sql, 1).await.expect_err(sql),
        ] {
            assert_eq!(error.code, ErrorCode::BackendError, "{sql}");
            assert_syntax_error(&error);
        }
    }
    let exists = db.client().await.query("SELECT 1 FROM t", &[]).await;
    assert!(exists.is_ok(), "the table must still exist");
}

#[tokio::test]
async fn placeholders_are_refused_not_a_panic() {
    let db = Db::create("params").await;
    let engine = db.engine();
    for error in [
        run(&engine, "SELECT $1::int")
            .await
            .expect_err("placeholder"),
        run_one_flight(&engine, "SELECT $1::int", 1)
            .await
            .expect_err("placeholder"),
    ] {
        assert_eq!(error.code, ErrorCode::SqlParseError, "{error:?}");
    }
}

#[tokio::test]
async fn server_errors_map_to_codes_with_untrusted_detail() {
    let db = Db::create("errors").await;
    let reader = format!("{}_reader", db.name);
    db.client()
        .await
        .batch_execute(&format!(
            "CREATE TABLE secret (x int); CREATE ROLE {reader} NOLOGIN;"
        ))
        .await
        .expect("setup");
    let error = run(&db.engine(), "SELECT nope FROM missing")
        .await
        .expect_err("missing");
    assert_eq!(error.code, ErrorCode::BackendError);
    assert!(error
        .untrusted_detail
        .as_deref()
        .is_some_and(|d| d.contains("missing")));
    assert!(
        !error.message.contains("missing"),
        "server text stays out of the message"
    );

    let mut conn = db.connection();
    conn.role = Some(reader.clone());
    let engine = super::PostgresEngine::new("test", &conn, None, super::trusting());
    let error = run(&engine, "SELECT x FROM public.secret")
        .await
        .expect_err("denied");
    drop(engine);
    let admin = admin("postgres").await;
    for sql in [
        format!("DROP DATABASE {} WITH (FORCE)", db.name),
        format!("DROP ROLE {reader}"),
    ] {
        admin.batch_execute(&sql).await.expect("cleanup");
    }
    assert_eq!(error.code, ErrorCode::BackendError);
    assert!(error.message.contains(&reader), "{error:?}");
    assert!(error
        .untrusted_detail
        .as_deref()
        .is_some_and(|d| d.contains("42501")));
}

#[tokio::test]
async fn role_is_set_for_the_transaction_only() {
    let db = Db::create("role").await;
    let client = db.client().await;
    let role = format!("sqlwarden \"ro\" {}", db.name);
    client
        .batch_execute(&format!(
            "CREATE ROLE \"{}\" NOLOGIN",
            role.replace('"', "\"\"")
        ))
        .await
        .expect("role");
    let mut conn = db.connection();
    conn.role = Some(role.clone());
    let engine = super::PostgresEngine::new("test", &conn, None, super::trusting());
    let result = run(&engine, "SELECT current_user::text, session_user::text")
        .await
        .expect("run");
    assert_eq!(
        result.rows.to_vec()[0],
        vec![json!(role), json!("postgres")]
    );
    drop(engine);
    client
        .batch_execute(&format!("DROP ROLE \"{}\"", role.replace('"', "\"\"")))
        .await
        .expect("drop role");
}

/// Whether a backend of this database is still running `pattern`.
async fn backend_running(db: &Db, pattern: &str) -> bool {
    let rows = admin("postgres")
        .await
        .query(
            "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE $2 AND pid <> pg_backend_pid()",
            &[&db.name, &format!("%{pattern}%")],
        )
        .await
        .expect("pg_stat_activity");
    !rows.is_empty()
}

#[tokio::test]
async fn timeout_cancels_the_backend_query() {
    let db = Db::create("timeout").await;
    let engine = db.engine();
    let checked = CheckedQuery::for_engine_tests(
        "SELECT pg_sleep(30), 'timeout-marker'",
        10,
        4096,
        1 << 20,
        Duration::from_millis(300),
    );
    for checked in [checked.clone(), checked.with_output_columns(2)] {
        let error = engine
            .run(&checked, RunContext::default())
            .await
            .expect_err("timeout");
        assert_eq!(error.code, ErrorCode::QueryTimeout);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !backend_running(&db, "timeout-marker").await,
            "backend still running"
        );
        assert_eq!(
            engine.idle_connections(),
            0,
            "a timed-out connection is discarded"
        );
    }
}

#[tokio::test]
async fn client_cancellation_cancels_the_backend_query() {
    let db = Db::create("cancel").await;
    let engine = db.engine();
    let checked = query("SELECT pg_sleep(30), 'cancel-marker'");
    for checked in [checked.clone(), checked.with_output_columns(2)] {
        let cancel = CancellationToken::new();
        let ctx = RunContext {
            cancel: cancel.clone(),
            progress: None,
        };
        let trigger = async {
            for _ in 0..100 {
                if backend_running(&db, "cancel-marker").await {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            cancel.cancel();
        };
        let (result, ()) = tokio::join!(engine.run(&checked, ctx), trigger);
        let error = result.expect_err("cancelled");
        assert_eq!(error.code, ErrorCode::BackendError);
        assert!(error.message.contains("cancelled"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !backend_running(&db, "cancel-marker").await,
            "backend still running"
        );
    }
}

#[tokio::test]
async fn as_many_connections_as_calls_ran_at_once_stay_for_reuse() {
    let db = Db::create("pool_width").await;
    let engine = db.engine();
    let pids = |results: Vec<crate::engine::EngineResult<crate::engine::QueryResult>>| {
        results
            .into_iter()
            .map(|r| r.expect("run").rows.to_vec()[0][0].to_string())
            .collect::<std::collections::BTreeSet<_>>()
    };
    // Sixteen calls at once, each holding its connection for a while (a
    // call that starts late on a loaded machine may reuse one that
    // finished, so fewer than sixteen may be opened, but far more than
    // four).
    let sql = "SELECT pg_backend_pid() FROM pg_sleep(1)";
    let first = pids(futures_util::future::join_all((0..16).map(|_| run(&engine, sql))).await);
    assert!(first.len() > 4, "only {} ran at once", first.len());
    assert_eq!(engine.idle_connections(), first.len(), "every one is kept");
    // The next sixteen open no connection: they reuse those.
    let second = pids(futures_util::future::join_all((0..16).map(|_| run(&engine, sql))).await);
    assert!(second.is_subset(&first), "{second:?} beyond {first:?}");
}

#[tokio::test]
async fn connections_are_reused_after_success_and_dropped_after_errors() {
    let db = Db::create("pool").await;
    let engine = db.engine();
    let pid = |r: crate::engine::QueryResult| r.rows.to_vec()[0][0].clone();
    let first = pid(run(&engine, "SELECT pg_backend_pid()").await.expect("run"));
    let second = pid(run(&engine, "SELECT pg_backend_pid()").await.expect("run"));
    assert_eq!(first, second, "an idle connection is reused");
    assert_eq!(engine.idle_connections(), 1);
    run(&engine, "SELECT 1/0")
        .await
        .expect_err("division by zero");
    assert_eq!(
        engine.idle_connections(),
        0,
        "the failed connection is gone"
    );
    let third = pid(run(&engine, "SELECT pg_backend_pid()").await.expect("run"));
    assert_ne!(first, third, "a new connection replaced the failed one");
}

#[tokio::test]
async fn every_query_runs_read_only_and_is_rolled_back() {
    let db = Db::create("rollback").await;
    let engine = db.engine();
    let result = run(
        &engine,
        "SELECT current_setting('transaction_read_only'), current_setting('statement_timeout'), \
         current_setting('lock_timeout'), current_setting('idle_in_transaction_session_timeout')",
    )
    .await
    .expect("run");
    assert_eq!(
        result.rows.to_vec()[0],
        vec![json!("on"), json!("30s"), json!("30s"), json!("30s")]
    );
    // The pooled connection is back outside any transaction.
    let open = admin("postgres")
        .await
        .query(
            "SELECT state FROM pg_stat_activity WHERE datname = $1 AND state <> 'idle'",
            &[&db.name],
        )
        .await
        .expect("pg_stat_activity");
    assert!(open.is_empty(), "a transaction was left open");
}

#[tokio::test]
async fn a_missing_role_is_named_as_a_configuration_problem() {
    let db = Db::create("norole").await;
    let mut conn = db.connection();
    conn.role = Some("sqlwarden_role_that_does_not_exist".into());
    let engine = super::PostgresEngine::new("test", &conn, None, super::trusting());
    let error = run(&engine, "SELECT 1").await.expect_err("no such role");
    assert_eq!(error.code, ErrorCode::BackendError);
    assert!(
        error
            .message
            .contains("cannot switch to role `sqlwarden_role_that_does_not_exist`"),
        "{error:?}"
    );
    assert!(error.hint.contains("connections.yaml"), "{}", error.hint);
    let error = engine
        .table_columns("public.t")
        .await
        .expect_err("catalog too");
    assert!(error.message.contains("cannot switch to role"), "{error:?}");
}

#[tokio::test]
async fn cut_cells_are_counted_only_in_rows_returned() {
    let db = Db::create("cutcount").await;
    // Each row is ["xxxx"] (8 bytes) after its 10-byte cell is cut to 4.
    let checked = CheckedQuery::for_engine_tests(
        "SELECT repeat('x', 10) FROM generate_series(1, 10)",
        100,
        4,
        20,
        Duration::from_secs(30),
    );
    let result = db
        .engine()
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(result.rows.len(), 2);
    assert_eq!(result.truncation, Some(Truncation::ResultBytes));
    assert_eq!(result.cells_truncated, 2);
}

/// A function created in `public` with a closer signature than the
/// built-in would win overload resolution under the default search path;
/// with the engine's `pg_catalog`-only path the built-in runs.
#[tokio::test]
async fn a_public_function_cannot_shadow_a_builtin() {
    let db = with_table(
        "shadow",
        "CREATE TABLE public.t (v varchar(10)); INSERT INTO public.t VALUES ('a'); \
         CREATE FUNCTION public.upper(varchar) RETURNS text \
           LANGUAGE sql AS $$ SELECT 'shadowed'::text $$;",
    )
    .await;
    let shadowed = db
        .client()
        .await
        .query_one("SELECT upper(v) FROM public.t", &[])
        .await
        .expect("direct");
    assert_eq!(
        shadowed.get::<_, String>(0),
        "shadowed",
        "the attack needs the default path"
    );
    let result = run(&db.engine(), "SELECT upper(v) FROM public.t")
        .await
        .expect("run");
    assert_eq!(result.rows, vec![vec![json!("A")]]);
}

/// A column that copies base columns of one short type is sent whole in one
/// flight, one that copies columns of one type and modifier that bound its
/// text is sent held to them, and one that copies `text` or `varchar`
/// columns (of other modifiers) is sent as a prefix; any other column
/// (computed, an array, copies of two types or of two modifiers of a
/// number, a type unknown to the engine) is bounded.
#[tokio::test]
async fn only_copies_of_one_short_type_are_sent_whole() {
    let db = with_table(
        "whole",
        "CREATE TABLE public.a (n int, big bigint, t text, arr int[], at timestamptz, \
           vc varchar(10), amount numeric(12, 2), code char(3), vcs varchar(10)[], \
           ts timestamp(3)); \
         CREATE TABLE public.b (n int, m bigint, vc varchar(20), vc10 varchar(10), \
           amount numeric, ts timestamp)",
    )
    .await;
    let engine = db.engine();
    engine.table_columns("public.a").await.expect("a");
    engine.table_columns("public.b").await.expect("b");
    let checked = query("SELECT 1").with_tables_used(&["public.a", "public.b"]);
    let assumed = engine
        .one_flight(&checked.with_output_copies(&[
            &[("public.a", "n")],
            &[("public.a", "big")],
            &[("public.a", "t")],
            &[("public.a", "arr")],
            &[("public.a", "at")],
            &[],
            &[("public.a", "n"), ("public.b", "n")],
            &[("public.a", "n"), ("public.b", "m")],
            &[("public.a", "gone")],
            &[("public.c", "n")],
            &[("public.a", "vc")],
            &[("public.a", "amount")],
            &[("public.a", "code")],
            &[("public.a", "vcs")],
            &[("public.a", "vc"), ("public.b", "vc10")],
            &[("public.a", "vc"), ("public.b", "vc")],
            &[("public.a", "amount"), ("public.b", "amount")],
            &[("public.a", "ts"), ("public.b", "ts")],
        ]))
        .expect("one flight");
    let held = |ty: Type, typmod: i32| Sent::Held(ColumnType { ty, typmod });
    assert_eq!(
        assumed,
        vec![
            Sent::Whole(Type::INT4),
            Sent::Whole(Type::INT8),
            Sent::Prefix(Type::TEXT),
            Sent::Bounded,
            Sent::Whole(Type::TIMESTAMPTZ),
            Sent::Bounded,
            Sent::Whole(Type::INT4),
            Sent::Bounded,
            Sent::Bounded,
            Sent::Bounded,
            held(Type::VARCHAR, 10 + 4),
            held(Type::NUMERIC, (12 << 16) + 2 + 4),
            held(Type::BPCHAR, 3 + 4),
            Sent::Bounded,
            held(Type::VARCHAR, 10 + 4),
            Sent::Prefix(Type::VARCHAR),
            Sent::Bounded,
            Sent::Whole(Type::TIMESTAMP),
        ]
    );
    // A cell cap below the short types' longest text: everything bounded.
    let small = copying("SELECT 1", "public.a", "n", 63);
    assert_eq!(engine.one_flight(&small), Some(vec![Sent::Bounded]));
    // And below a varchar(10)'s 40 bytes: a prefix.
    let small = copying("SELECT 1", "public.a", "vc", 39);
    assert_eq!(
        engine.one_flight(&small),
        Some(vec![Sent::Prefix(Type::VARCHAR)])
    );
    let fits = copying("SELECT 1", "public.a", "vc", 40);
    assert_eq!(
        engine.one_flight(&fits),
        Some(vec![held(Type::VARCHAR, 14)])
    );
}

/// The text of the longest values a modifier allows, as the server writes
/// them, is within what the engine takes as its bound, with the modifier
/// the server describes for the type.
#[tokio::test]
async fn the_longest_text_of_a_modifier_bounded_type_fits_its_bound() {
    let db = with_table("modifier", "SELECT 1").await;
    let client = db.client().await;
    let extremes = [
        ("varchar(3)", "'\u{1d11e}\u{1d11e}\u{1d11e}'"),
        ("varchar(1)", "'\u{1d11e}'"),
        ("char(3)", "'\u{1d11e}'"),
        ("char(2)", "'ab'"),
        ("numeric(5, 2)", "-999.99"),
        ("numeric(1000, 0)", "-pg_catalog.repeat('9', 1000)::numeric"),
        (
            "numeric(1000, 1000)",
            "-('0.' || pg_catalog.repeat('9', 1000))::numeric",
        ),
        ("numeric(3, 3)", "-0.999"),
        ("numeric(3, 5)", "-0.00999"),
        ("numeric(2, -3)", "-99000"),
        ("numeric(1, 0)", "'NaN'"),
        ("bit(9)", "B'101010101'"),
        ("varbit(9)", "B'10101010'"),
    ];
    for (declared, value) in extremes {
        let sql = format!("SELECT ({value})::{declared}");
        let statement = client.prepare(&sql).await.expect(&sql);
        let described = &statement.columns()[0];
        let column = ColumnType {
            ty: described.type_().clone(),
            typmod: described.type_modifier(),
        };
        let longest = bound::longest_by_modifier(&column)
            .unwrap_or_else(|| panic!("{declared} has no bound: {column:?}"));
        let text: String = client
            .query_one(&format!("SELECT ({value})::{declared}::text"), &[])
            .await
            .expect(&sql)
            .get(0);
        assert!(
            text.len() as u64 <= longest,
            "{declared}: {text:?} is {} bytes, over {longest}",
            text.len()
        );
        assert_eq!(bound::sent(&column, longest), Sent::Held(column.clone()));
    }
}

/// The short types' text is at most 64 bytes for their longest values in
/// every date, interval and float style a server may be set to, so a
/// column of one is never measured.
#[tokio::test]
async fn the_longest_text_of_a_short_type_fits_64_bytes() {
    let db = with_table("short", "SELECT 1").await;
    let client = db.client().await;
    let extremes = [
        ("bool", "false"),
        ("int2", "-32768"),
        ("int4", "-2147483648"),
        ("int8", "-9223372036854775808"),
        ("oid", "4294967295"),
        ("float4", "-1.17549435e-38"),
        ("float4", "-3.4028235e+38"),
        ("float8", "-2.2250738585072014e-308"),
        ("float8", "-1.7976931348623157e+308"),
        ("float8", "-infinity"),
        ("date", "5874897-12-31"),
        ("date", "4714-11-24 BC"),
        ("time", "23:59:59.999999"),
        ("timetz", "23:59:59.999999-15:59:59"),
        ("timestamp", "294276-12-31 23:59:59.999999"),
        ("timestamp", "4713-01-01 00:00:00.000001 BC"),
        ("timestamptz", "294276-12-30 23:59:59.999999+00"),
        ("timestamptz", "4713-01-02 00:00:00.000001+00 BC"),
        ("uuid", "ffffffff-ffff-ffff-ffff-ffffffffffff"),
        ("inet", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"),
        ("inet", "::ffff:255.255.255.254/127"),
        ("inet", "255.255.255.254/31"),
        ("cidr", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124"),
        ("macaddr", "ff:ff:ff:ff:ff:ff"),
        ("macaddr8", "ff:ff:ff:ff:ff:ff:ff:ff"),
    ];
    let mut longest = 0;
    for style in ["ISO, MDY", "SQL, DMY", "Postgres, DMY", "German, DMY"] {
        for zone in [
            "UTC",
            "America/Argentina/ComodRivadavia",
            "Pacific/Chatham",
            "<+0545>-5:45",
        ] {
            for digits in ["-15", "0", "3"] {
                client
                    .batch_execute(&format!(
                        "SET DateStyle = '{style}'; SET TimeZone = '{zone}'; \
                         SET extra_float_digits = {digits}"
                    ))
                    .await
                    .expect("settings");
                for (ty, value) in extremes {
                    let sql = format!(
                        "SELECT octet_length('{value}'::{ty}::text), '{value}'::{ty}::text"
                    );
                    let row = client.query_one(&sql, &[]).await.expect(&sql);
                    let length: i32 = row.get(0);
                    let text: String = row.get(1);
                    assert!(length <= 64, "{ty} under {style}, {zone}: {text:?}");
                    longest = longest.max(length);
                }
            }
        }
    }
    assert!(longest > 30, "the extremes reach long texts: {longest}");
}

/// When the server describes another type for a column the engine sent
/// whole (here a set operation whose other branch computes a wider type),
/// the query runs again, described, and the answer is the server's (see
/// also `flight::a_column_whose_type_changed_runs_again_described`).
#[tokio::test]
async fn a_column_of_another_type_than_assumed_runs_again_bounded() {
    let db = with_table(
        "assumed",
        "CREATE TABLE public.t (n int); INSERT INTO public.t VALUES (1)",
    )
    .await;
    let engine = db.engine();
    engine.table_columns("public.t").await.expect("t");
    // The other branch makes the column numeric: 1.5 stays 1.5.
    let union = copying(
        "SELECT n FROM public.t UNION ALL SELECT 1.5 ORDER BY 1",
        "public.t",
        "n",
        4096,
    );
    assert_eq!(
        engine.one_flight(&union),
        Some(vec![Sent::Whole(Type::INT4)])
    );
    let result = engine
        .run(&union, RunContext::default())
        .await
        .expect("union");
    assert_eq!(
        result.rows.to_vec(),
        vec![vec![json!("1")], vec![json!("1.5")]]
    );
    assert_eq!(result.columns[0].type_name, "numeric");
}
