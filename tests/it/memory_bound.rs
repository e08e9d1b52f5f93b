//! One call cannot take the desktop's memory, whatever the query computes.
//!
//! A family of queries that make PostgreSQL compute values of 50 to 200 MB
//! (strings, arrays, JSON, `bytea`, aggregates over many rows), make an
//! error or a plan quote such a value, or do both, runs through the real
//! server binary over stdio against the real database. Each call is either
//! answered with its cells cut (and the cut reported) or refused with the
//! right code; the server keeps serving; the database is unchanged; and its
//! peak resident memory over
//! the whole family stays within the documented bound (64 MiB above the
//! idle server, with the default 1 MiB result cap).
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use crate::stdio::Fixture;
use crate::stdio_abuse::Raw;

/// The documented bound on what one call may add to the server's peak
/// memory, on top of the result caps.
const BOUND_MIB: u64 = 64;

/// How a case must end.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// Answered, with at least one cell cut to `max_cell_bytes`.
    Cut,
    /// Refused with this error code.
    Refused(&'static str),
    /// An estimate whose plan text was cut to the result cap.
    PlanCut,
}

/// Queries whose cells the server computes huge: each must arrive cut.
fn huge_values() -> Vec<String> {
    let n = 150_000_000;
    let mut cases = vec![
        format!("SELECT repeat('x', {n}) AS v FROM products LIMIT 1"),
        format!("SELECT lpad('', {}, 'é') AS v FROM products LIMIT 1", n / 2),
        format!("SELECT rpad(name, {n}, '-') AS v FROM products LIMIT 1"),
        format!("SELECT to_jsonb(repeat('j', {n})) AS v FROM products LIMIT 1"),
        format!("SELECT to_json(repeat('k', {n})) AS v FROM products LIMIT 1"),
        format!(
            "SELECT decode(repeat('ab', {}), 'hex') AS v FROM products LIMIT 1",
            n / 2
        ),
        format!(
            "SELECT ARRAY[repeat('a', {}), repeat('b', {})] AS v FROM products LIMIT 1",
            n / 2,
            n / 2
        ),
        format!("SELECT jsonb_build_array(repeat('c', {n})) AS v FROM products LIMIT 1"),
        format!(
            "SELECT concat(repeat('d', {}), name) AS v FROM products LIMIT 1",
            n / 2
        ),
        format!("SELECT repeat(name, {}) AS v FROM products LIMIT 1", n / 20),
        format!(
            "SELECT string_agg(repeat(name, {}), ',') AS v FROM products",
            n / 600
        ),
        format!(
            "SELECT array_agg(repeat(name, {})) AS v FROM products",
            n / 600
        ),
        format!(
            "SELECT jsonb_agg(repeat(name, {})) AS v FROM products",
            n / 600
        ),
    ];
    // Several huge columns in one row.
    cases.push(format!(
        "SELECT repeat('e', {m}) AS a, repeat('f', {m}) AS b, repeat('g', {m}) AS c FROM products LIMIT 1",
        m = n / 3
    ));
    cases
}

/// Queries whose error message would quote a huge computed value: each
/// must be refused as the database's error, its text cut.
fn huge_errors() -> Vec<String> {
    let n = 120_000_000;
    let mut cases = Vec::new();
    for (digits, ty) in [
        ("7", "int"),
        ("x", "int"),
        ("x", "bigint"),
        ("x", "numeric"),
        ("x", "date"),
        ("x", "uuid"),
        ("x", "boolean"),
        ("x", "jsonb"),
        ("x", "interval"),
        ("x", "inet"),
    ] {
        cases.push(format!(
            "SELECT CAST(repeat('{digits}', {n}) AS {ty}) AS v FROM products LIMIT 1"
        ));
    }
    cases.push(format!(
        "SELECT name FROM products WHERE CAST(repeat(name, {}) AS int) > 0 LIMIT 1",
        n / 10
    ));
    cases
}

#[tokio::test]
async fn huge_computed_values_errors_and_plans_stay_within_the_memory_bound() {
    let fx = Fixture::new("memory_bound", "").await;
    let admin = fx.admin().await;
    let database = fingerprint(&admin).await;
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    raw.call_tool(
        1,
        "run_select_sql",
        json!({"source": "demo", "sql": "SELECT name FROM products LIMIT 5"}),
    )
    .await;
    let before = raw.peak_rss_kib();

    let mut cases: Vec<(&str, String, Outcome)> = Vec::new();
    for sql in huge_values() {
        cases.push(("run_select_sql", sql, Outcome::Cut));
    }
    for sql in huge_errors() {
        cases.push(("run_select_sql", sql, Outcome::Refused("BACKEND_ERROR")));
    }
    // The planner folds an immutable function of constants, and the plan
    // text then quotes the folded value whole.
    for n in [3_000_000, 8_000_000] {
        cases.push((
            "estimate_query_cost",
            format!("SELECT name FROM products WHERE name = repeat('p', {n})"),
            Outcome::PlanCut,
        ));
    }
    for n in [9_000_000, 120_000_000] {
        cases.push((
            "estimate_query_cost",
            format!("SELECT name FROM products WHERE name = repeat('p', {n})"),
            Outcome::Refused("RESULT_TOO_LARGE"),
        ));
    }

    let mut id = 100;
    for (tool, sql, outcome) in &cases {
        id += 1;
        let answer = raw
            .call_tool(id, tool, json!({"source": "demo", "sql": sql}))
            .await;
        check(&answer, *outcome, sql);
        let text = answer.to_string();
        assert!(
            text.len() < 2 * 1024 * 1024,
            "{sql}: the answer is {} bytes",
            text.len()
        );
    }

    // Still serving, on the same pool.
    id += 1;
    let answer = raw
        .call_tool(
            id,
            "run_select_sql",
            json!({"source": "demo", "sql": "SELECT count(*) AS n FROM products"}),
        )
        .await;
    assert_eq!(answer["ok"], true);

    let after = raw.peak_rss_kib();
    let growth_mib = after.saturating_sub(before) / 1024;
    eprintln!(
        "peak RSS over {} huge cases: {before} -> {after} KiB (+{growth_mib} MiB)",
        cases.len()
    );
    assert!(
        growth_mib < BOUND_MIB,
        "peak memory grew by {growth_mib} MiB over the family ({before} -> {after} KiB)"
    );
    raw.finish().await;
    assert_eq!(database, fingerprint(&admin).await, "the database changed");
}

/// Every relation of the demo database with a digest of its rows.
async fn fingerprint(client: &tokio_postgres::Client) -> Vec<String> {
    let tables: Vec<String> = client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = Vec::new();
    for table in tables {
        let row = client
            .query_one(
                &format!("SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM public.{table} t"),
                &[],
            )
            .await
            .unwrap();
        out.push(format!("{table}={}", row.get::<_, String>(0)));
    }
    out
}

/// Assert that `answer` (a tool's structured content) ended as `outcome`.
fn check(answer: &Value, outcome: Outcome, sql: &str) {
    match outcome {
        Outcome::Cut => {
            assert_eq!(answer["ok"], true, "{sql}: {}", short(answer));
            assert_eq!(
                answer["metadata"]["truncated"],
                true,
                "{sql}: the cut is not reported: {}",
                short(answer)
            );
            for row in answer["data"]["rows"].as_array().unwrap() {
                for cell in row.as_array().into_iter().flatten() {
                    assert!(
                        cell.to_string().len() < 64 * 1024,
                        "{sql}: a cell of {} bytes",
                        cell.to_string().len()
                    );
                }
            }
        }
        Outcome::PlanCut => {
            assert_eq!(answer["ok"], true, "{sql}: {}", short(answer));
            assert_eq!(answer["metadata"]["truncated"], true, "{sql}");
            let plan = answer["data"]["estimate"]["plan"].as_str().unwrap();
            assert!(
                plan.len() <= 1024 * 1024 + 100,
                "{sql}: plan of {} bytes",
                plan.len()
            );
            assert!(plan.ends_with("`max_result_bytes`)"), "{sql}");
        }
        Outcome::Refused(code) => {
            assert_eq!(answer["ok"], false, "{sql}: {}", short(answer));
            assert_eq!(answer["error"]["code"], code, "{sql}: {}", short(answer));
            assert!(
                !answer["error"]["hint"].as_str().unwrap_or("").is_empty(),
                "{sql}: no hint"
            );
        }
    }
}

/// The start of `answer`, for a failure message.
fn short(answer: &Value) -> String {
    answer.to_string().chars().take(600).collect()
}
