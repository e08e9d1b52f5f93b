//! The call in one flight (and in two, when the gate's column count is not
//! known or wrong) keeps every guarantee of a call made one statement at a
//! time: a failing setting stops the query before it runs, a text that
//! only parses wrapped gives nothing, a cap that stops reading mid-stream
//! leaves no connection in a bad state, and truncation is reported exactly
//! at `applied_limit + 1` rows. A relay between the engine and the server
//! shows what goes out in each write.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_postgres::types::Type;

use super::{
    admin, assert_syntax_error, copying, copying_each, host, port, run, run_one_flight, trusting,
    Db, PostgresEngine,
};
use crate::engine::postgres::bound::{ColumnType, Sent};
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

/// A database with `public.probe()`, whose calls the server counts.
async fn probe_db(label: &str) -> Db {
    let db = Db::create(label).await;
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
    db
}

#[tokio::test]
async fn a_failing_setting_stops_the_query_before_it_runs() {
    let db = probe_db("flightset").await;
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
    for error in [
        run(&engine, "SELECT public.probe(), 1/0").await,
        run_one_flight(&engine, "SELECT public.probe(), 1/0", 2).await,
    ] {
        let error = error.expect_err("the role does not exist");
        assert_eq!(error.code, ErrorCode::BackendError);
        assert!(error.message.contains("cannot switch to role"), "{error:?}");
        assert_eq!(
            engine.idle_connections(),
            0,
            "the failed connection is closed"
        );
    }
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

/// `checked` as two flights run it, then as one flight runs it, for a
/// query of `columns` columns.
fn both_ways(checked: CheckedQuery, columns: usize) -> [CheckedQuery; 2] {
    [checked.clone(), checked.with_output_columns(columns)]
}

#[tokio::test]
async fn a_byte_cap_with_few_rows_left_keeps_a_clean_connection() {
    for checked in both_ways(
        // ["xxxxxxxx"] is 12 bytes: 100 bytes hold 8 of the 50 rows asked
        // for, and the 43 left in flight are read and dropped.
        capped(
            "SELECT repeat('x', 8) FROM generate_series(1, 1000)",
            50,
            100,
        ),
        1,
    ) {
        a_byte_cap_with_few_rows_left(checked).await;
    }
}

async fn a_byte_cap_with_few_rows_left(checked: CheckedQuery) {
    let db = Db::create("flightdrain").await;
    let engine = db.engine();
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
    for checked in both_ways(
        // The server could send 100,001 rows of a slow query; reading
        // stops after 8, and the backend must not go on computing the rest.
        capped(
            "SELECT repeat('x', 8), 'flight-cancel-marker' || i FROM generate_series(1, 100000) AS i \
             WHERE pg_catalog.pg_sleep(0.0001) IS NOT NULL",
            100_000,
            200,
        ),
        2,
    ) {
        a_byte_cap_with_many_rows_left(checked).await;
    }
}

async fn a_byte_cap_with_many_rows_left(checked: CheckedQuery) {
    let db = Db::create("flightcancel").await;
    let engine = db.engine();
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
        for checked in both_ways(checked, 1) {
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
        for result in [
            run(&engine, sql).await,
            run_one_flight(&engine, sql, 1).await,
        ] {
            let result = result.expect("run");
            assert_eq!(result.columns[0].name, "x");
            assert_eq!(result.columns[0].type_name, "text", "{sql}");
        }
    }
}

/// The frontend messages a relayed connection sent, by their type byte,
/// grouped by write: a new group starts when the client sends again after
/// the server has answered.
#[derive(Default)]
struct Writes {
    groups: Vec<String>,
    server_spoke: bool,
    /// Bytes the server sent since the last [`Relay::clear`].
    server_bytes: usize,
}

/// A TCP relay in front of the test server that records [`Writes`].
struct Relay {
    port: u16,
    writes: Arc<Mutex<Writes>>,
}

impl Relay {
    async fn start() -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let relay_port = listener.local_addr().expect("address").port();
        let writes = Arc::new(Mutex::new(Writes::default()));
        let shared = Arc::clone(&writes);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect((host(), port())).await.expect("server");
                tokio::spawn(relay(client, server, Arc::clone(&shared)));
            }
        });
        Relay {
            port: relay_port,
            writes,
        }
    }

    /// Forget what was recorded so far.
    fn clear(&self) {
        let mut writes = self.writes.lock().expect("writes");
        writes.groups.clear();
        writes.server_spoke = true;
        writes.server_bytes = 0;
    }

    fn groups(&self) -> Vec<String> {
        self.writes.lock().expect("writes").groups.clone()
    }

    /// Groups of [`Self::groups`] without the closes of earlier
    /// statements (C S) that may lead any write.
    fn flights(&self) -> Vec<String> {
        self.groups()
            .iter()
            .map(|g| g.trim_start_matches("CS").to_owned())
            .filter(|g| !g.is_empty())
            .collect()
    }

    fn server_bytes(&self) -> usize {
        self.writes.lock().expect("writes").server_bytes
    }
}

async fn relay(client: TcpStream, server: TcpStream, writes: Arc<Mutex<Writes>>) {
    let (mut client_in, mut client_out) = client.into_split();
    let (mut server_in, mut server_out) = server.into_split();
    let spoke = Arc::clone(&writes);
    let answers = async move {
        let mut buf = vec![0_u8; 1 << 16];
        while let Ok(n @ 1..) = server_in.read(&mut buf).await {
            {
                let mut spoke = spoke.lock().expect("writes");
                spoke.server_spoke = true;
                spoke.server_bytes += n;
            }
            if client_out.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let requests = async move {
        let mut buf = vec![0_u8; 1 << 16];
        // Bytes of the message being read that are still to come, and
        // whether the untyped startup message is behind us.
        let (mut pending, mut started, mut header) = (0_usize, false, Vec::new());
        while let Ok(n @ 1..) = client_in.read(&mut buf).await {
            {
                let mut writes = writes.lock().expect("writes");
                if std::mem::take(&mut writes.server_spoke) {
                    writes.groups.push(String::new());
                }
                let mut at = 0;
                while at < n {
                    if pending > 0 {
                        let skip = pending.min(n - at);
                        pending -= skip;
                        at += skip;
                        continue;
                    }
                    header.push(buf[at]);
                    at += 1;
                    let need = if started { 5 } else { 4 };
                    if header.len() < need {
                        continue;
                    }
                    let length = &header[need - 4..];
                    let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]);
                    pending = length as usize - 4;
                    if started {
                        if let Some(group) = writes.groups.last_mut() {
                            group.push(char::from(header[0]));
                        }
                    }
                    started = true;
                    header.clear();
                }
            }
            if server_out.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(answers, requests);
}

/// A database `label` with `setup` run in it, and an engine that reaches it
/// through a [`Relay`], has read the facts of `public.t` and is warm.
async fn relayed_table(label: &str, setup: &str) -> (Db, Relay, PostgresEngine) {
    let db = Db::create(label).await;
    db.client().await.batch_execute(setup).await.expect("setup");
    let relay = Relay::start().await;
    let mut conn = db.connection();
    conn.port = relay.port;
    let engine = PostgresEngine::new("test", &conn, None, trusting());
    engine.table_columns("public.t").await.expect("facts");
    run(&engine, "SELECT 1").await.expect("warm-up");
    (db, relay, engine)
}

/// The writes of one call after the connection is warm (login vetted), and
/// the call's result.
async fn writes_of(checked: &CheckedQuery) -> (Vec<String>, Vec<Vec<serde_json::Value>>) {
    let db = Db::create("flightwrites").await;
    let relay = Relay::start().await;
    let mut conn = db.connection();
    conn.port = relay.port;
    let engine = PostgresEngine::new("test", &conn, None, trusting());
    run(&engine, "SELECT 1").await.expect("warm-up");
    // Anything the warm-up still sent has arrived (the close of its
    // statement waits for the next call's write).
    tokio::time::sleep(Duration::from_millis(200)).await;
    relay.clear();
    let result = engine
        .run(checked, RunContext::default())
        .await
        .expect("run");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(engine.idle_connections(), 1, "the connection is kept");
    (relay.groups(), result.rows.to_vec())
}

#[tokio::test]
async fn a_query_goes_out_in_one_write_and_its_answer_is_whole() {
    let checked = capped(
        "SELECT i, repeat('x', i) FROM generate_series(1, 4) AS i",
        3,
        1 << 20,
    );
    let expected: Vec<_> = (1..=3)
        .map(|i: usize| vec![json!(i), json!("x".repeat(i))])
        .collect();
    // The opening (Q), the prepare (P D S), the bounding query (P B D E
    // S), the rollback (Q) and the reset (Q), all in one write; nothing
    // after it: the call's own statement is closed in the next call's
    // write (the warm-up, in two flights, closed its own in its second).
    let (groups, rows) = writes_of(&checked.clone().with_output_columns(2)).await;
    assert_eq!(rows, expected);
    assert_eq!(groups, ["QPDSPBDESQQ"]);
    // The control: without the gate's column count it takes two writes
    // before the answer, so the relay can tell them apart. The second
    // leads with the close of the statement the first prepared.
    let (groups, rows) = writes_of(&checked).await;
    assert_eq!(rows, expected);
    assert_eq!(groups, ["QPDS", "CSPBDESQQ"]);
}

/// A statement left to close with the next call is closed there, at the
/// head of its one write: a session of calls on one connection costs one
/// write per call and leaves no statement prepared on the server.
#[tokio::test]
async fn statements_left_to_close_go_out_with_the_next_call_and_none_pile_up() {
    let (_db, relay, engine) = relayed_table(
        "flightclosing",
        "CREATE TABLE public.t (a int, b text); INSERT INTO public.t VALUES (1, 'one')",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    relay.clear();
    for _ in 0..5 {
        let result = run_one_flight(&engine, "SELECT a, b FROM public.t", 2)
            .await
            .expect("run");
        assert_eq!(result.rows, vec![vec![json!(1), json!("one")]]);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The first follows the warm-up, whose second flight closed its own.
    let mut expected = vec!["QPDSPBDESQQ"];
    expected.extend(["CSQPDSPBDESQQ"; 4]);
    assert_eq!(relay.groups(), expected);
    assert_eq!(engine.idle_connections(), 1);
    // The server's own list of the session's prepared statements, read on
    // the pooled connection by a call: only that call's own statement.
    let prepared = run_one_flight(
        &engine,
        "SELECT count(*)::int FROM pg_catalog.pg_prepared_statements",
        1,
    )
    .await
    .expect("run");
    assert_eq!(prepared.rows, vec![vec![json!(1)]]);
}

#[tokio::test]
async fn other_columns_than_the_gate_resolved_run_again_described() {
    let db = Db::create("flightredo").await;
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE public.t (a int, b text); INSERT INTO public.t VALUES (1, 'one')",
        )
        .await
        .expect("setup");
    let engine = db.engine();
    // The table gained or lost a column after the gate read its facts: too
    // few names leave a column out of the wrap, too many fail on the
    // server. Either way the answer is the server's, whole.
    for gate_columns in [1, 3] {
        let result = run_one_flight(&engine, "SELECT * FROM public.t", gate_columns)
            .await
            .expect("run");
        assert_eq!(
            result.rows,
            vec![vec![json!(1), json!("one")]],
            "{gate_columns}"
        );
        let names: Vec<&str> = result.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(engine.idle_connections(), 1, "the connection stays clean");
    }
}

#[tokio::test]
async fn a_text_that_parses_only_once_wrapped_gives_nothing() {
    let db = probe_db("flightwrapped").await;
    let engine = db.engine();
    // As if the gate had let it through: alone this is a syntax error, but
    // inside the bounding query it closes the derived tables early and
    // opens another, whose value the outer query would return. The failed
    // prepare aborts the transaction, so the bounding query never runs.
    let sql = "SELECT 1) AS q0 (c1)) AS z, \
               (SELECT q0.c1, true AS w1 FROM (SELECT public.probe() || '-wrapped-leak'";
    let error = run_one_flight(&engine, sql, 1)
        .await
        .expect_err("the text alone does not parse");
    assert_eq!(error.code, ErrorCode::BackendError, "{error:?}");
    assert_syntax_error(&error);
    assert_eq!(engine.idle_connections(), 0, "the connection is closed");
    // The control: the bounding query the engine sent does return the
    // value, so only the prepare's answer kept it out of the result.
    drop(engine);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(probe_calls(&db, 1).await, 0, "the wrapped text ran");
    let wrapped = crate::engine::postgres::bound::wrap(sql, &[Sent::Bounded], 4096, 1001);
    let rows = db
        .client()
        .await
        .query(&wrapped, &[])
        .await
        .expect("wrapped");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].get::<_, Option<String>>(0).as_deref(),
        Some("1-wrapped-leak")
    );
    assert_eq!(probe_calls(&db, 1).await, 1, "the control was not counted");
}

/// A relayed table made by `setup` ([`relayed_table`]), changed by
/// `change` once the engine has read its facts; the relay is cleared. The
/// database lives as long as the returned [`Db`].
async fn altered(label: &str, setup: &str, change: &str) -> (Db, Relay, PostgresEngine) {
    let (db, relay, engine) = relayed_table(label, setup).await;
    db.client()
        .await
        .batch_execute(change)
        .await
        .expect("alter");
    tokio::time::sleep(Duration::from_millis(200)).await;
    relay.clear();
    (db, relay, engine)
}

/// A column of `declared` type holding `first`, which becomes `text` once
/// the engine has read the table's facts and then gets a value of `long`
/// times `filler`: the first flight's rows are dropped and the query runs
/// again, described (a second flight, seen by the relay), so the long value
/// is bounded on the server like any other. Returns the relay and engine
/// for what else the caller checks.
async fn changed_to_text(
    label: &str,
    declared: &str,
    first: &str,
    filler: char,
    long: usize,
) -> (Relay, PostgresEngine) {
    let (_db, relay, engine) = altered(
        label,
        &format!("CREATE TABLE public.t (v {declared}); INSERT INTO public.t VALUES ('{first}')"),
        &format!(
            "ALTER TABLE public.t ALTER COLUMN v TYPE text; \
             INSERT INTO public.t VALUES (repeat('{filler}', {long}))"
        ),
    )
    .await;
    let checked = copying(
        "SELECT v FROM public.t ORDER BY length(v)",
        "public.t",
        "v",
        64,
    );
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(
        result.rows.to_vec(),
        vec![
            vec![json!(first)],
            vec![json!(filler.to_string().repeat(64))]
        ]
    );
    assert_eq!(result.cells_truncated, 1);
    assert_eq!(result.columns[0].type_name, "text");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        relay.flights(),
        ["QPDSPBDESQQ", "QPDS", "PBDESQQ"],
        "one flight, then two"
    );
    (relay, engine)
}

/// A column the engine sends whole because the table's facts say `int`,
/// but whose type changed since: it runs again described
/// ([`changed_to_text`]).
#[tokio::test]
async fn a_column_whose_type_changed_runs_again_described() {
    let (_relay, engine) = changed_to_text("flightassumed", "int", "1", 'x', 100).await;
    assert_eq!(engine.idle_connections(), 1, "the connection is kept");
}

/// A table of strings, numbers and bits whose modifiers bound their text:
/// one flight, every column sent held to its own type and modifier,
/// unmeasured, and every value exactly as the server has it.
#[tokio::test]
async fn columns_bounded_by_their_modifier_go_out_in_one_flight_as_they_are() {
    let (_db, relay, engine) = relayed_table(
        "flightheld",
        "CREATE TABLE public.t (k int, name varchar(5), code char(4), \
               amount numeric(7, 2), flags bit(3), mask varbit(4)); \
             INSERT INTO public.t VALUES \
               (1, 'h\u{e9}\u{1d11e}', 'ab', -12345.67, B'101', B'1'), \
               (2, NULL, NULL, NULL, NULL, NULL)",
    )
    .await;
    let checked = copying_each(
        "SELECT k, name, code, amount, flags, mask FROM public.t ORDER BY k",
        "public.t",
        &["k", "name", "code", "amount", "flags", "mask"],
        64,
    );
    let sent = engine.one_flight(&checked).expect("one flight");
    assert_eq!(sent[0], Sent::Whole(Type::INT4));
    assert!(
        sent[1..].iter().all(|s| matches!(s, Sent::Held(_))),
        "{sent:?}"
    );
    relay.clear();
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(relay.flights(), ["QPDSPBDESQQ"], "one flight");
    let two_flights = run(&engine, checked.sql()).await.expect("two flights");
    assert_eq!(result.rows.to_vec(), two_flights.rows.to_vec());
    assert_eq!(
        result.rows.to_vec()[0][1..],
        [
            json!("h\u{e9}\u{1d11e}"),
            json!("ab  "),
            json!("-12345.67"),
            json!("101"),
            json!("1")
        ]
    );
    assert_eq!(result.cells_truncated, 0);
    let types: Vec<&str> = result
        .columns
        .iter()
        .map(|c| c.type_name.as_str())
        .collect();
    assert_eq!(
        types,
        ["int4", "varchar", "bpchar", "numeric", "bit", "varbit"]
    );
}

/// A set operation whose other branch computes a long `varchar` (no
/// modifier) from a column the engine holds to `varchar(5)`: the cast in
/// the first flight cuts the long value on the server, so it never crosses
/// the wire whole; the server describes the column without the modifier,
/// so that flight's rows are dropped and the query runs again described,
/// where the value is bounded and its start shown.
#[tokio::test]
async fn a_longer_value_of_a_held_column_never_crosses_the_wire_whole() {
    let held = Sent::Held(ColumnType {
        ty: Type::VARCHAR,
        typmod: 5 + 4,
    });
    let flights = a_long_branch_beside("flightwidened", "varchar(5)", "::varchar", held).await;
    assert_eq!(
        flights,
        ["QPDSPBDESQQ", "QPDS", "PBDESQQ"],
        "one flight, then two"
    );
}

/// A table `t` of one `declared` column `v` holding `abc`, sent as
/// `sent`, queried with a `UNION ALL` branch that computes a
/// 2,000,000-byte string (`cast` after it): the answer shows the long
/// value's start, cut, and the value never crosses the wire whole. Returns
/// the flights the relay saw.
async fn a_long_branch_beside(label: &str, declared: &str, cast: &str, sent: Sent) -> Vec<String> {
    let (_db, relay, engine) = relayed_table(
        label,
        &format!("CREATE TABLE public.t (v {declared}); INSERT INTO public.t VALUES ('abc')"),
    )
    .await;
    let long = 2_000_000;
    let checked = copying(
        &format!("SELECT v FROM public.t UNION ALL SELECT repeat('x', {long}){cast} ORDER BY 1"),
        "public.t",
        "v",
        64,
    );
    assert_eq!(engine.one_flight(&checked), Some(vec![sent]));
    relay.clear();
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(
        result.rows.to_vec(),
        vec![vec![json!("abc")], vec![json!("x".repeat(64))]]
    );
    assert_eq!(result.cells_truncated, 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let bytes = relay.server_bytes();
    assert!(
        bytes < 20_000,
        "{bytes} bytes came back for a {long}-byte value"
    );
    assert_eq!(engine.idle_connections(), 1, "the connection is kept");
    relay.flights()
}

/// The same with numbers: a wider value than the held `numeric(6, 2)`
/// fails the first flight's cast (it is never rounded into an answer),
/// and the query runs again described, with every value exact.
#[tokio::test]
async fn a_wider_number_of_a_held_column_runs_again_exact() {
    let (_db, relay, engine) = relayed_table(
        "flightwider",
        "CREATE TABLE public.t (a numeric(6, 2)); INSERT INTO public.t VALUES (1234.5)",
    )
    .await;
    for (other, rows) in [
        ("1e20", ["1234.50", "100000000000000000000"]),
        ("1.234", ["1.234", "1234.50"]),
    ] {
        let checked = copying(
            &format!("SELECT a FROM public.t UNION ALL SELECT {other} ORDER BY 1"),
            "public.t",
            "a",
            4096,
        );
        relay.clear();
        let result = engine
            .run(&checked, RunContext::default())
            .await
            .expect(other);
        let rows: Vec<_> = rows.iter().map(|v| vec![json!(v)]).collect();
        assert_eq!(result.rows.to_vec(), rows, "{other}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            relay.flights(),
            ["QPDSPBDESQQ", "QPDS", "PBDESQQ"],
            "{other}: one flight, then two"
        );
        assert_eq!(
            engine.idle_connections(),
            1,
            "{other}: the connection is kept"
        );
    }
}

/// A `varchar(5)` column that became `text` since the engine read the
/// table's facts, and then got a long value: the first flight's cast cuts
/// it on the server (an `int` column is sent as it is, see
/// `a_column_whose_type_changed_runs_again_described`), and the query
/// runs again described, bounded ([`changed_to_text`]).
#[tokio::test]
async fn a_held_column_whose_type_changed_is_cut_on_the_server() {
    let long = 1_000_000;
    let (relay, _engine) =
        changed_to_text("flightheldchanged", "varchar(5)", "abc", 'y', long).await;
    let bytes = relay.server_bytes();
    assert!(
        bytes < 20_000,
        "{bytes} bytes came back for a {long}-byte value"
    );
}

/// `text` as the caller sees it under a cap of `max` bytes: its first
/// whole characters that fit.
fn first_bytes(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// `text` and `varchar` columns go out in one flight as prefixes of one
/// character more than the cap: values at, just over and far over the cap
/// (a million bytes), multi-byte characters across the cut, JSON's escapes
/// and control characters all read as the first bytes of the whole value,
/// each value over the cap counted once, and the long value never crosses
/// the wire whole.
#[tokio::test]
async fn strings_go_out_in_one_flight_as_prefixes_cut_like_whole_values() {
    let cap = 64;
    let long = 1_000_000;
    let values = [
        "NULL".to_owned(),
        format!("repeat('a', {cap})"),
        format!("repeat('b', {})", cap + 1),
        format!("repeat('z', {long})"),
        // A three-byte character straddles byte 64.
        "repeat('x', 62) || '日本語'".to_owned(),
        "repeat('\u{1d11e}', 40)".to_owned(),
        "E'a\\nb\"c\\\\d\\t' || repeat('e', 80)".to_owned(),
        "repeat(chr(1), 100)".to_owned(),
        "''".to_owned(),
    ];
    let rows: Vec<String> = (1..)
        .zip(&values)
        .map(|(k, v)| format!("({k}, {v}, {v})"))
        .collect();
    let (db, relay, engine) = relayed_table(
        "flightprefix",
        &format!(
            "CREATE TABLE public.t (k int, s text, v varchar); \
             INSERT INTO public.t VALUES {}",
            rows.join(", ")
        ),
    )
    .await;
    let checked = copying_each(
        "SELECT k, s, v FROM public.t ORDER BY k",
        "public.t",
        &["k", "s", "v"],
        cap,
    );
    assert_eq!(
        engine.one_flight(&checked),
        Some(vec![
            Sent::Whole(Type::INT4),
            Sent::Prefix(Type::TEXT),
            Sent::Prefix(Type::VARCHAR)
        ])
    );
    relay.clear();
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(relay.flights(), ["QPDSPBDESQQ"], "one flight");
    let bytes = relay.server_bytes();
    assert!(
        bytes < 20_000,
        "{bytes} bytes came back for a {long}-byte value"
    );
    // The oracle: each whole value, read directly, then cut.
    let whole = db
        .client()
        .await
        .query("SELECT s FROM public.t ORDER BY k", &[])
        .await
        .expect("whole values");
    let mut over = 0;
    let expected: Vec<Vec<serde_json::Value>> = (1..)
        .zip(&whole)
        .map(|(k, row)| {
            let cell = match row.get::<_, Option<String>>(0) {
                None => json!(null),
                Some(text) => {
                    over += u64::from(text.len() > cap as usize);
                    json!(first_bytes(&text, cap as usize))
                }
            };
            vec![json!(k), cell.clone(), cell]
        })
        .collect();
    assert_eq!(result.rows.to_vec(), expected);
    assert_eq!(over, 6, "the values over the cap");
    assert_eq!(result.cells_truncated, 2 * over);
    let types: Vec<&str> = result
        .columns
        .iter()
        .map(|c| c.type_name.as_str())
        .collect();
    assert_eq!(types, ["int4", "text", "varchar"]);
    assert_eq!(engine.idle_connections(), 1, "the connection is kept");
}

/// A set operation whose other branch computes a long string beside a
/// `text` column: the server describes the column as `text`, as assumed,
/// so the one flight's rows are the answer, and the long value was cut on
/// the server by the prefix.
#[tokio::test]
async fn a_long_computed_string_beside_a_text_column_is_cut_in_one_flight() {
    let prefix = Sent::Prefix(Type::TEXT);
    let flights = a_long_branch_beside("flightprefixunion", "text", "", prefix).await;
    assert_eq!(flights, ["QPDSPBDESQQ"], "one flight");
}

/// A `text` column that became `jsonb` since the engine read the table's
/// facts, and then got a long value: the prefix of the first flight does
/// not prepare for `jsonb`, so nothing of it runs; the query runs again
/// described, where the value is measured and cut on the server.
#[tokio::test]
async fn a_text_column_changed_to_another_type_runs_again_described() {
    let long = 1_000_000;
    let (_db, relay, engine) = altered(
        "flightprefixchanged",
        "CREATE TABLE public.t (v text); INSERT INTO public.t VALUES ('{\"a\": 1}')",
        &format!(
            "ALTER TABLE public.t ALTER COLUMN v TYPE jsonb USING v::jsonb; \
             INSERT INTO public.t VALUES (jsonb_build_object('k', repeat('z', {long})))"
        ),
    )
    .await;
    let checked = copying(
        "SELECT v FROM public.t ORDER BY length(v::text)",
        "public.t",
        "v",
        64,
    );
    assert_eq!(
        engine.one_flight(&checked),
        Some(vec![Sent::Prefix(Type::TEXT)])
    );
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(
        result.rows.to_vec(),
        vec![
            vec![json!({"a": 1})],
            vec![json!(format!("{{\"k\": \"{}", "z".repeat(57)))]
        ]
    );
    assert_eq!(result.cells_truncated, 1);
    assert_eq!(result.columns[0].type_name, "jsonb");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        relay.flights(),
        ["QPDSPBDESQQ", "QPDS", "PBDESQQ"],
        "one flight, then two"
    );
    let bytes = relay.server_bytes();
    assert!(
        bytes < 20_000,
        "{bytes} bytes came back for a {long}-byte value"
    );
    assert_eq!(engine.idle_connections(), 1, "the connection is kept");
}
