//! The gate's promise on PostgreSQL's own reading: text that sqlparser and
//! PostgreSQL lex differently (quoted names with backslashes, hex and bit
//! strings with doubled quotes, escape, Unicode and dollar strings, nested
//! comments) can never make the server run something the gate did not
//! check.
//!
//! A generated family crosses quote-breaking fragments with clause
//! positions and smuggled payloads (denied columns, an unlisted table, a
//! server file, a session setting). Each variant is either refused with a
//! gate code, or accepted and then run exactly as rendered on the real
//! server, under `standard_conforming_strings` on *and* off: both runs must
//! agree and return nothing policy denies. The database fingerprint is
//! unchanged afterwards.
#![allow(clippy::unwrap_used)]

use sqlwarden::guard::Gate;

use crate::support::gate::{fingerprint, fixture_db, fixture_facts, fixture_policy};

/// Values no accepted query may return: customer contact columns, the
/// unlisted `audit_log`, server files and settings.
const FORBIDDEN: &[&str] = &[
    "+86-555-",
    "+1-555-",
    "@example.com",
    "Secret Street",
    "root:",
    "sqlwarden-secret-entry",
    "/var/lib/postgresql",
];

/// Codes a refused variant may carry; never an internal error.
const REFUSAL_CODES: &[&str] = &[
    "SQL_PARSE_ERROR",
    "GATE_MISMATCH",
    "COLUMN_NOT_ALLOWED",
    "TABLE_NOT_ALLOWED",
    "FUNCTION_NOT_ALLOWED",
    "SYSTEM_SCHEMA_NOT_ALLOWED",
    "SQL_MULTIPLE_STATEMENTS",
    "JOIN_NOT_APPROVED",
    "SQL_READONLY_ONLY",
];

/// Openers and closers that one lexer may read as a single token and the
/// other as the end of one: the middle becomes live SQL to only one of them.
const FRAGMENTS: &[(&str, &str)] = &[
    (r#""a\""#, r#"""#),
    (r#""a"""#, r#"""#),
    (r"'a\'", "'"),
    ("'a''", "'"),
    ("X'00''", "'"),
    ("x'0F''", "'"),
    ("B'01''", "'"),
    (r"E'a\''", "'"),
    (r"e'a\\'", "'"),
    (r"N'a\'", "'"),
    (r"U&'\0027", "'"),
    (r#"U&"a\""#, r#"""#),
    ("$$", "$$"),
    ("$t$", "$t$"),
    ("/* /* */", "*/"),
    ("--", "\n"),
];

/// Where the fragment sits; `{}` is replaced by `OPEN <payload> CLOSE`.
const POSITIONS: &[&str] = &[
    "SELECT name AS {} FROM customers",
    "SELECT name, {} AS tag FROM customers",
    "SELECT name FROM customers WHERE name = {}",
    "SELECT lower({}) AS l FROM customers",
    "SELECT CASE WHEN segment = {} THEN 1 ELSE 0 END AS c FROM customers",
    "SELECT name FROM customers WHERE segment IN ('x', {})",
    "SELECT name FROM customers ORDER BY {}",
];

/// What the middle tries to run.
const PAYLOADS: &[&str] = &[
    ", phone, email, address FROM public.customers --",
    ", (SELECT entry FROM audit_log LIMIT 1) AS e FROM customers --",
    ", pg_read_file('/etc/passwd') AS f, current_setting('data_directory') AS d FROM customers --",
];

/// The family: every fragment in every position with every payload.
fn variants() -> Vec<String> {
    let mut out = Vec::new();
    for (open, close) in FRAGMENTS {
        for position in POSITIONS {
            for payload in PAYLOADS {
                let middle = format!("{open}{payload}{close}");
                out.push(position.replace("{}", &middle));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_review_reproducers_are_refused() {
    let policy = fixture_policy();
    let (_db, client) = fixture_db("quoting_repro").await;
    let facts = fixture_facts(&client, &policy).await;
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    for sql in [
        r#"SELECT name AS "a\"", phone, email FROM public.customers --" FROM customers"#,
        "SELECT name, X'00'' AS a, phone FROM public.customers --' AS h FROM customers",
    ] {
        let outcome = gate
            .prepare(sql)
            .and_then(|prepared| gate.check(prepared, &facts, None));
        let refused = outcome.expect_err(sql);
        assert!(
            ["SQL_PARSE_ERROR", "GATE_MISMATCH"].contains(&refused.code.as_str()),
            "{sql}: {} {}",
            refused.code,
            refused.message
        );
        assert!(!refused.hint.is_empty());
    }
}

#[tokio::test]
async fn a_family_of_lexer_confusions_never_runs_unchecked_sql() {
    let policy = fixture_policy();
    let (_db, client) = fixture_db("quoting_family").await;
    client
        .batch_execute("INSERT INTO audit_log (entry) VALUES ('sqlwarden-secret-entry')")
        .await
        .unwrap();
    let facts = fixture_facts(&client, &policy).await;
    let before = fingerprint(&client).await;
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);

    let family = variants();
    assert!(family.len() >= 200, "only {} variants", family.len());
    let mut accepted = 0;
    let mut refused: std::collections::BTreeMap<&str, usize> = Default::default();
    for sql in &family {
        let outcome = gate
            .prepare(sql)
            .and_then(|prepared| gate.check(prepared, &facts, None));
        let checked = match outcome {
            Err(e) => {
                assert!(
                    REFUSAL_CODES.contains(&e.code.as_str()),
                    "{sql}\nrefused with {}: {} ({:?})",
                    e.code,
                    e.message,
                    e.internal
                );
                *refused.entry(e.code.as_str()).or_default() += 1;
                continue;
            }
            Ok(checked) => checked,
        };
        accepted += 1;
        let text = checked.sql();
        let mut results = Vec::new();
        for conforming in ["on", "off"] {
            client.batch_execute("BEGIN READ ONLY").await.unwrap();
            client
                .batch_execute(&format!(
                    "SET LOCAL standard_conforming_strings = {conforming}; SET LOCAL escape_string_warning = off"
                ))
                .await
                .unwrap();
            let rows = client.simple_query(text).await;
            client.batch_execute("ROLLBACK").await.unwrap();
            let rendered = match rows {
                Ok(messages) => messages
                    .iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                            (0..r.len())
                                .map(|i| r.get(i).unwrap_or("NULL").to_string())
                                .collect::<Vec<_>>()
                                .join("|"),
                        ),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
                Err(e) => format!("error: {}", e.as_db_error().map_or("", |d| d.code().code())),
            };
            for forbidden in FORBIDDEN {
                assert!(
                    !rendered.contains(forbidden),
                    "{sql}\nran as {text}\nand returned {forbidden}"
                );
            }
            results.push(rendered);
        }
        assert_eq!(
            results[0], results[1],
            "{sql}\nran as {text}\nreads differently under standard_conforming_strings = off"
        );
    }
    eprintln!(
        "lexer family: {} variants, {accepted} accepted and run safely, refused: {refused:?}",
        family.len()
    );
    assert_eq!(fingerprint(&client).await, before);
}

/// Legitimate queries with the same awkward characters still run, and
/// mean the same under either string setting.
#[tokio::test]
async fn awkward_but_legitimate_literals_still_run() {
    let policy = fixture_policy();
    let (_db, client) = fixture_db("quoting_legit").await;
    let facts = fixture_facts(&client, &policy).await;
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    for (sql, expected) in [
        ("SELECT 'O''Brien' AS v FROM regions LIMIT 1", "O'Brien"),
        (r"SELECT E'a\\b' AS v FROM regions LIMIT 1", r"a\b"),
        (r"SELECT 'a\b' AS v FROM regions LIMIT 1", r"a\b"),
        (
            r"SELECT E'tab\there' AS v FROM regions LIMIT 1",
            "tab\there",
        ),
        ("SELECT $$it's$$ AS v FROM regions LIMIT 1", "it's"),
        ("SELECT $q$x''y$q$ AS v FROM regions LIMIT 1", "x''y"),
        (r"SELECT U&'\0041\00e9' AS v FROM regions LIMIT 1", "Aé"),
        ("SELECT X'0F'::text AS v FROM regions LIMIT 1", "00001111"),
        ("SELECT B'101'::text AS v FROM regions LIMIT 1", "101"),
        (
            r#"SELECT "Loyalty Tier" AS "a\b" FROM customers ORDER BY customer_id LIMIT 1"#,
            "silver",
        ),
        ("SELECT 1.5e3::text AS v FROM regions LIMIT 1", "1500"),
    ] {
        let checked = gate
            .prepare(sql)
            .and_then(|prepared| gate.check(prepared, &facts, None))
            .unwrap_or_else(|e| panic!("{sql}: {} {} {:?}", e.code, e.message, e.internal));
        for conforming in ["on", "off"] {
            client.batch_execute("BEGIN READ ONLY").await.unwrap();
            client
                .batch_execute(&format!(
                    "SET LOCAL standard_conforming_strings = {conforming}"
                ))
                .await
                .unwrap();
            let messages = client.simple_query(checked.sql()).await.unwrap();
            client.batch_execute("ROLLBACK").await.unwrap();
            let value = messages
                .iter()
                .find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => {
                        Some(r.get(0).unwrap_or("NULL").to_string())
                    }
                    _ => None,
                })
                .unwrap();
            assert_eq!(value, expected, "{sql} as {} ({conforming})", checked.sql());
        }
    }
}
