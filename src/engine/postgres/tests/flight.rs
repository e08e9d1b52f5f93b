//! The call in two flights keeps every guarantee of a call made one
//! statement at a time: a failing setting stops the query before it runs,
//! a cap that stops reading mid-stream leaves no connection in a bad state,
//! and truncation is reported exactly at `applied_limit + 1` rows.

use std::time::Duration;

use serde_json::json;

use super::{admin, run, trusting, Db, PostgresEngine};
use crate::engine::{Engine, RunContext, Truncation};
use crate::error::ErrorCode;
use crate::guard::CheckedQuery;

/// How many times `public.probe()` ran in `db`, as the server's function
/// statistics count it (also in transactions that were rolled back). A
/// backend reports its counts when it ends or its next transaction ends,
/// so this waits for the number to settle.
async fn probe_calls(db: &Db, at_least: i64) -> i64 {
    let client = db.client().await;
    let mut calls = 0;
    for _ in 0..50 {
        client
            .batch_execute("SELECT pg_stat_clear_snapshot()")
            .await
            .expect("clear snapshot");
        calls = client
            .query_one(
                "SELECT COALESCE(sum(calls), 0)::int8 FROM pg_stat_user_functions WHERE funcname = 'probe'",
                &[],
            )
            .await
            .expect("function statistics")
            .get(0);
        if calls >= at_least {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    calls
}

#[tokio::test]
async fn a_failing_setting_stops_the_query_before_it_runs() {
    let db = Db::create("flightset").await;
    db.client()
        .await
        .batch_execute(&format!(
            "ALTER DATABASE {} SET track_functions = 'all'; \
             CREATE FUNCTION public.probe() RETURNS int LANGUAGE plpgsql VOLATILE \
               AS $$ BEGIN RETURN 1; END $$;",
            db.name
        ))
        .await
        .expect("setup");
    // The control: on a working connection the query runs, and is counted.
    let engine = db.engine();
    let result = run(&engine, "SELECT public.probe()").await.expect("run");
    assert_eq!(result.rows, vec![vec![json!(1)]]);
    drop(engine);
    assert_eq!(
        probe_calls(&db, 1).await,
        1,
        "the control call was not counted"
    );

    // `SET LOCAL ROLE` fails in flight one: the query is in the same write
    // as the settings, yet never runs.
    let mut conn = db.connection();
    conn.role = Some("sqlwarden_flight_missing_role".into());
    let engine = PostgresEngine::new("test", &conn, None, trusting());
    let error = run(&engine, "SELECT public.probe(), 1/0")
        .await
        .expect_err("the role does not exist");
    assert_eq!(error.code, ErrorCode::BackendError);
    assert!(error.message.contains("cannot switch to role"), "{error:?}");
    assert_eq!(
        engine.idle_connections(),
        0,
        "the failed connection is closed"
    );
    drop(engine);
    // The failed backend has ended; give its statistics time to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        probe_calls(&db, 2).await,
        1,
        "the query ran after its setting failed"
    );
}

/// This database's backends other than the caller's, with their state.
async fn backends(db: &Db) -> Vec<(i32, String)> {
    admin("postgres")
        .await
        .query(
            "SELECT pid, COALESCE(state, '') FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            &[&db.name],
        )
        .await
        .expect("pg_stat_activity")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

fn capped(sql: &str, limit: u64, max_result_bytes: u64) -> CheckedQuery {
    CheckedQuery::for_engine_tests(sql, limit, 4096, max_result_bytes, Duration::from_secs(30))
}

#[tokio::test]
async fn a_byte_cap_with_few_rows_left_keeps_a_clean_connection() {
    let db = Db::create("flightdrain").await;
    let engine = db.engine();
    // ["xxxxxxxx"] is 12 bytes: 100 bytes hold 8 of the 50 rows asked for,
    // and the 43 left in flight are read and dropped.
    let checked = capped(
        "SELECT repeat('x', 8) FROM generate_series(1, 1000)",
        50,
        100,
    );
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(result.rows.len(), 8);
    assert_eq!(result.truncation, Some(Truncation::ResultBytes));
    assert_eq!(
        engine.idle_connections(),
        1,
        "the drained connection is kept"
    );
    let idle = backends(&db).await;
    assert_eq!(idle.len(), 1, "{idle:?}");
    assert_eq!(
        idle[0].1, "idle",
        "the kept connection is outside any transaction"
    );
    // It serves the next call, on the same backend, with settings reset.
    let next = run(
        &engine,
        "SELECT pg_backend_pid(), current_setting('transaction_read_only'), \
         current_setting('statement_timeout')",
    )
    .await
    .expect("next call");
    assert_eq!(
        next.rows.to_vec()[0],
        vec![json!(idle[0].0), json!("on"), json!("30s")]
    );
}

#[tokio::test]
async fn a_byte_cap_with_many_rows_left_cancels_the_backend() {
    let db = Db::create("flightcancel").await;
    let engine = db.engine();
    // The server could send 100,001 rows of a slow query; reading stops
    // after 8, and the backend must not go on computing the rest.
    let checked = capped(
        "SELECT repeat('x', 8), 'flight-cancel-marker' || i FROM generate_series(1, 100000) AS i \
         WHERE pg_catalog.pg_sleep(0.0001) IS NOT NULL",
        100_000,
        200,
    );
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(result.truncation, Some(Truncation::ResultBytes));
    assert!(
        !result.rows.is_empty() && result.rows.len() < 10,
        "{}",
        result.rows.len()
    );
    assert_eq!(
        engine.idle_connections(),
        0,
        "the cancelled connection is closed"
    );
    let left = backends_left(&db).await;
    assert!(left.is_empty(), "a backend is still there: {left:?}");
    let next = run(&engine, "SELECT 1").await.expect("next call");
    assert_eq!(next.rows, vec![vec![json!(1)]]);
}

#[tokio::test]
async fn truncation_is_reported_exactly_at_one_row_past_the_limit() {
    let db = Db::create("flightlimit").await;
    let engine = db.engine();
    for (rows, limit, truncated) in [(3, 3, false), (4, 3, true), (0, 1, false), (2, 1, true)] {
        let checked = capped(
            &format!("SELECT i FROM generate_series(1, {rows}) AS i"),
            limit,
            1 << 20,
        );
        let result = engine
            .run(&checked, RunContext::default())
            .await
            .expect("run");
        let expected: Vec<_> = (1..=rows.min(limit)).map(|i| vec![json!(i)]).collect();
        assert_eq!(result.rows, expected, "{rows} rows, limit {limit}");
        assert_eq!(
            result.truncation,
            truncated.then_some(Truncation::RowLimit),
            "{rows} rows, limit {limit}"
        );
    }
    // Every one of those calls ended cleanly on the one connection.
    assert_eq!(engine.idle_connections(), 1);
}

/// Waits until no backend of `db` is left (a cancelled one ends once its
/// connection is closed), and returns what is still there after a while.
async fn backends_left(db: &Db) -> Vec<(i32, String)> {
    let mut left = backends(db).await;
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        left = backends(db).await;
    }
    left
}

#[tokio::test]
async fn a_statement_without_columns_runs_under_the_row_cap() {
    let db = Db::create("flightnocols").await;
    let engine = db.engine();
    let result = run(&engine, "SELECT FROM generate_series(1, 3)")
        .await
        .expect("run");
    assert_eq!(result.rows.len(), 3);
    assert!(result.columns.is_empty());
    assert_eq!(engine.idle_connections(), 1);
    // Nothing bounds it on the server, so reading stops at the cap and the
    // backend is stopped rather than left to send a 10 billion rows.
    let checked = capped(
        "SELECT FROM generate_series(1, 100000) AS a, generate_series(1, 100000) AS b",
        5,
        1 << 20,
    );
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(result.rows.len(), 5);
    assert_eq!(result.truncation, Some(Truncation::RowLimit));
    assert_eq!(engine.idle_connections(), 0);
    let left = backends_left(&db).await;
    assert!(left.is_empty(), "a backend is still there: {left:?}");
}

#[tokio::test]
async fn concurrent_calls_each_finish_on_their_own_connection() {
    let db = Db::create("flightmany").await;
    db.client()
        .await
        .batch_execute("CREATE TABLE public.t AS SELECT i FROM generate_series(1, 100) AS i")
        .await
        .expect("setup");
    let engine = db.engine();
    let calls = (0..64).map(|_| {
        let checked = capped("SELECT i FROM public.t", 1, 1 << 20);
        let engine = &engine;
        async move { engine.run(&checked, RunContext::default()).await }
    });
    let results = tokio::time::timeout(
        Duration::from_secs(120),
        futures_util::future::join_all(calls),
    )
    .await
    .expect("every call finished");
    for result in results {
        let result = result.expect("run");
        assert_eq!(result.rows.len(), 1);
        assert_eq!(result.truncation, Some(Truncation::RowLimit));
    }
}

#[tokio::test]
async fn an_empty_result_names_the_types_rows_would_have() {
    let db = Db::create("flightempty").await;
    let engine = db.engine();
    for sql in ["SELECT 'a' AS x WHERE false", "SELECT 'a' AS x"] {
        let result = run(&engine, sql).await.expect("run");
        assert_eq!(result.columns[0].name, "x");
        assert_eq!(result.columns[0].type_name, "text", "{sql}");
    }
}
