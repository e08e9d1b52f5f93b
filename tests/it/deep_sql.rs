//! Deeply nested SQL cannot take the server down.
//!
//! Every walk of a parsed query recurses once per level, and sqlparser
//! builds a chain of infix operators (`1+1+…+1`) into a tree as deep as
//! the chain is long without counting it against its recursion limit: a
//! 1,000-term chain once overflowed the server's stack and killed it
//! (every later call of the session was lost). Through the real binary
//! over stdio, a family of shapes at sizes from 100 to 100,000 is each
//! answered — run, or refused with `SQL_PARSE_ERROR` — and the server
//! keeps serving; a chain just under the bound runs through the whole
//! pipeline, PostgreSQL's own parse tree included, and returns the right
//! value.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use crate::stdio::Fixture;
use crate::stdio_abuse::Raw;

/// Deep shapes by name, for `n` repetitions.
fn shapes(n: usize) -> Vec<(&'static str, String)> {
    vec![
        (
            "plus",
            format!("SELECT {} AS x FROM products", vec!["1"; n].join("+")),
        ),
        (
            "and",
            format!(
                "SELECT name FROM products WHERE {}",
                vec!["unit_price > 0"; n].join(" AND ")
            ),
        ),
        (
            "or",
            format!(
                "SELECT name FROM products WHERE {}",
                vec!["product_id = 1"; n].join(" OR ")
            ),
        ),
        (
            "concat",
            format!("SELECT {} AS x FROM products", vec!["name"; n].join(" || ")),
        ),
        (
            "parens",
            format!(
                "SELECT {}1{} AS x FROM products",
                "(".repeat(n),
                ")".repeat(n)
            ),
        ),
        (
            "case",
            format!(
                "SELECT {}1{} AS x FROM products",
                "CASE WHEN true THEN ".repeat(n),
                " END".repeat(n)
            ),
        ),
        (
            "call",
            format!(
                "SELECT {}1{} AS x FROM products",
                "abs(".repeat(n),
                ")".repeat(n)
            ),
        ),
        (
            "minus",
            format!("SELECT {}1 AS x FROM products", "- ".repeat(n)),
        ),
        (
            "not",
            format!("SELECT name FROM products WHERE {}true", "NOT ".repeat(n)),
        ),
        (
            "cast",
            format!("SELECT 1{} AS x FROM products", "::int".repeat(n)),
        ),
        (
            "union",
            vec!["SELECT name FROM products"; n].join(" UNION ALL "),
        ),
        (
            "subquery",
            (0..n).fold("SELECT name FROM products".to_string(), |q, i| {
                format!("SELECT name FROM ({q}) s{i}")
            }),
        ),
    ]
}

#[tokio::test]
async fn deep_queries_are_answered_and_the_server_survives() {
    let fx = Fixture::new("deep_sql", "").await;
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    let mut id = 0;
    let mut outcomes = Vec::new();
    for n in [100, 1_000, 20_000, 100_000] {
        for (shape, sql) in shapes(n) {
            id += 1;
            let answer = raw
                .call_tool(id, "run_select_sql", json!({"source": "demo", "sql": sql}))
                .await;
            let outcome = if answer["ok"] == true {
                "ran".to_string()
            } else {
                let code = answer["error"]["code"].as_str().unwrap_or("?").to_string();
                assert_eq!(code, "SQL_PARSE_ERROR", "{shape} × {n}: {answer}");
                assert!(!answer["error"]["hint"].as_str().unwrap().is_empty());
                code
            };
            outcomes.push(format!("{shape} × {n}: {outcome}"));
        }
    }
    // Everything past the bound is refused, with the reason.
    for n in [1_000, 20_000, 100_000] {
        id += 1;
        let sql = format!("SELECT {} AS x FROM products", vec!["1"; n].join("+"));
        let answer = raw
            .call_tool(id, "run_select_sql", json!({"source": "demo", "sql": sql}))
            .await;
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("nests"), "{n}: {message}");
    }
    // A chain just under the bound goes through every layer and computes
    // the right value (PostgreSQL's parse tree of it is some thousand
    // messages deep).
    id += 1;
    let sql = format!(
        "SELECT {} AS x FROM products ORDER BY 1 LIMIT 1",
        vec!["1"; 480].join("+")
    );
    let answer = raw
        .call_tool(id, "run_select_sql", json!({"source": "demo", "sql": sql}))
        .await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["data"]["rows"][0][0], 480, "{answer}");
    // Still serving.
    id += 1;
    let answer = raw
        .call_tool(
            id,
            "run_select_sql",
            json!({"source": "demo", "sql": "SELECT count(*) AS n FROM products"}),
        )
        .await;
    assert_eq!(answer["ok"], true);
    eprintln!("{}", outcomes.join("\n"));
    raw.finish().await;
}
