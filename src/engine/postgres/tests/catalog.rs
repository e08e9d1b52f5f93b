//! `estimate` and Unix-socket connections, which need a checked query or a
//! local socket and so are tested inside the crate.

use serde_json::json;

use super::{query, run, Db};
use crate::engine::Engine;
use crate::error::ErrorCode;

#[tokio::test]
async fn estimate_explains_without_running() {
    let db = Db::create("estimate").await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, v text);
             INSERT INTO t SELECT i, 'x' FROM generate_series(1, 1000) i; ANALYZE t;
             CREATE TABLE log (n int);
             CREATE FUNCTION noisy(int) RETURNS int LANGUAGE sql VOLATILE
               AS 'INSERT INTO public.log VALUES ($1) RETURNING $1';",
        )
        .await
        .expect("setup");
    let engine = db.engine();
    let estimate = engine
        .estimate(&query("SELECT id, v FROM public.t WHERE id < 100"))
        .await
        .expect("estimate");
    assert!(estimate.cost.is_some_and(|c| c > 0.0), "{estimate:?}");
    assert!(
        estimate
            .estimated_rows
            .is_some_and(|r| (50.0..200.0).contains(&r)),
        "{estimate:?}"
    );
    assert!(estimate.plan.contains("on t"), "{}", estimate.plan);
    assert!(estimate.details.contains_key("node_type"));

    // EXPLAIN plans a volatile function without calling it.
    engine
        .estimate(&query("SELECT public.noisy(1)"))
        .await
        .expect("estimate");
    let calls: i64 = client
        .query_one("SELECT count(*) FROM log", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(calls, 0);

    let error = engine
        .estimate(&query("SELECT nope FROM t"))
        .await
        .expect_err("bad column");
    assert_eq!(error.code, ErrorCode::BackendError);
}

#[tokio::test]
async fn unix_socket_hosts_connect_without_tls() {
    let db = Db::create("socket").await;
    let socket_dir = db
        .client()
        .await
        .query_one("SHOW unix_socket_directories", &[])
        .await
        .expect("socket dirs")
        .get::<_, String>(0);
    let first = socket_dir.split(',').next().unwrap_or("").trim().to_owned();
    assert!(
        first.starts_with('/'),
        "the test server has no Unix socket: {socket_dir}"
    );
    let mut conn = db.connection();
    conn.host = first;
    conn.sslmode = crate::config::SslMode::VerifyFull;
    let engine = super::PostgresEngine::new("test", &conn, None, super::trusting());
    let result = run(&engine, "SELECT inet_client_addr() IS NULL")
        .await
        .expect("socket connection");
    assert_eq!(result.rows.to_vec()[0][0], json!(true));
}
