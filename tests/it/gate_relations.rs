//! The gate's join rules follow the data, on a real PostgreSQL database
//! holding the tables of the test policy (`tests/fixtures/gate/`).
//!
//! - A generated family of queries in which rows of one table flow into
//!   the rows of another through arrays, set-returning functions, LATERAL,
//!   casts and set subqueries, without an approved join: each is refused
//!   with `JOIN_NOT_APPROVED`, and the database is unchanged.
//! - What only looks like a join (one-row aggregates, scalar subqueries,
//!   a table's own arrays, literal arrays) and ordinary SQL that used to
//!   be refused pass the gate and run.
//! - A custom operator in a non-`pg_catalog` schema, whose function raises,
//!   is refused in every position an operator can sit; one that policy's
//!   `allowed_operators` lists runs in every position, and no other does.
#![allow(clippy::unwrap_used)]

use sqlwarden::guard::{Gate, TableFacts};
use tokio_postgres::Client;

use crate::support::gate::{
    assert_stable_rendering, fingerprint, fixture_db, fixture_facts, fixture_policy,
    fixture_policy_with, run_read_only,
};

/// Table and column pairs that no approved join relates (the fixture
/// approves orders-customers and orders-products on their keys only, and
/// orders-regions only as a draft).
const UNRELATED: &[(&str, &str, &str, &str)] = &[
    ("orders", "customer_id", "products", "product_id"),
    ("orders", "status", "products", "name"),
    ("customers", "name", "products", "name"),
    ("customers", "customer_id", "products", "product_id"),
    ("orders", "region_code", "regions", "region_code"),
    ("products", "product_id", "customers", "customer_id"),
];

/// Ways rows of `{I}` reach the rows of `{O}`: `{O}`/`{oc}` is the outer
/// table and column, `{I}`/`{ic}` the inner ones.
const FLOWS: &[&str] = &[
    "SELECT o.{oc} FROM {O} o WHERE o.{oc} = ANY (ARRAY(SELECT i.{ic} FROM {I} i))",
    "SELECT count(*) FROM {O} o CROSS JOIN LATERAL unnest(ARRAY(SELECT i.{ic} FROM {I} i)) AS n(x)",
    "SELECT o.{oc}, (SELECT array_agg(i.{ic}) FROM {I} i) FROM {O} o",
    "SELECT o.{oc} FROM {O} o WHERE o.{oc} = ANY ((SELECT array_agg(i.{ic}) FROM {I} i))",
    "SELECT o.{oc} FROM {O} o WHERE o.{oc}::text = ANY (ARRAY(SELECT i.{ic}::text FROM {I} i))",
    "SELECT o.{oc} FROM {O} o WHERE CAST(o.{oc} AS text) = ANY (CAST(ARRAY(SELECT i.{ic} FROM {I} i) AS text[]))",
    "SELECT o.{oc} FROM {O} o WHERE o.{oc}::text > ALL (SELECT i.{ic}::text FROM {I} i)",
    "SELECT o.{oc}, unnest(ARRAY(SELECT i.{ic} FROM {I} i)) FROM {O} o",
    "SELECT o.{oc}, x FROM {O} o, unnest((SELECT array_agg(i.{ic}) FROM {I} i)) AS x",
    "SELECT o.{oc}, l.v FROM {O} o, LATERAL (SELECT i.{ic} AS v FROM {I} i WHERE i.{ic}::text <> o.{oc}::text) l",
    "SELECT o.{oc}, (SELECT string_agg(i.{ic}::text, ',') FROM {I} i) FROM {O} o",
    "SELECT o.{oc} FROM {O} o WHERE o.{oc}::text IN (SELECT jsonb_array_elements_text(jsonb_agg(i.{ic})) FROM {I} i)",
    "SELECT o.{oc} FROM {O} o WHERE o.{oc} IN (SELECT unnest(array_agg(i.{ic})) FROM {I} i)",
    "SELECT o.{oc}, j FROM {O} o, json_array_elements((SELECT json_agg(i.{ic}) FROM {I} i)) AS j",
    "SELECT o.{oc} FROM {O} o WHERE EXISTS (SELECT 1 FROM unnest(ARRAY(SELECT i.{ic} FROM {I} i)) AS u(v) WHERE u.v::text = o.{oc}::text)",
    "SELECT o.{oc} FROM {O} o WHERE o.{oc}::text = ANY (string_to_array((SELECT string_agg(i.{ic}::text, ',') FROM {I} i), ','))",
    "WITH a AS (SELECT array_agg(i.{ic}) AS v FROM {I} i) SELECT o.{oc} FROM {O} o, a WHERE o.{oc} = ANY (a.v)",
    "SELECT o.{oc} FROM {O} o, (SELECT i.{ic} FROM {I} i ORDER BY 1 LIMIT 5) s WHERE s.{ic}::text <> o.{oc}::text",
    // One-row pieces that still carry a set of rows.
    "WITH a AS (SELECT array_agg(i.{ic}) AS v FROM {I} i) SELECT o.{oc} FROM {O} o WHERE o.{oc} = ANY ((SELECT v FROM a))",
    "SELECT o.{oc} FROM {O} o, (SELECT sum(power(2::numeric, length(i.{ic}::text))) AS s FROM {I} i) x WHERE mod(div(x.s, power(2::numeric, length(o.{oc}::text))), 2) = 1",
    "SELECT o.{oc} FROM {O} o WHERE length(o.{oc}::text) = ANY ((SELECT percentile_disc(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY length(i.{ic}::text)) FROM {I} i))",
    "SELECT o.{oc} FROM {O} o WHERE ((SELECT bit_or(1::bigint << (length(i.{ic}::text) % 63)) FROM {I} i) >> (length(o.{oc}::text) % 63)) % 2 = 1",
    "WITH RECURSIVE r(n, s) AS (SELECT 0, ''::text UNION ALL SELECT r.n + 1, r.s || i.{ic}::text FROM r, {I} i WHERE r.n < 2) SELECT o.{oc} FROM {O} o WHERE position(o.{oc}::text IN (SELECT s FROM r ORDER BY n DESC LIMIT 1)) > 0",
    "SELECT o.{oc}, x.m FROM {O} o, (SELECT max(i.{ic}::text) OVER () AS m FROM {I} i LIMIT 1) x, (SELECT string_agg(i.{ic}::text, ',') OVER () AS g FROM {I} i LIMIT 1) y WHERE position(o.{oc}::text IN y.g) > 0",
];

/// Every flow over every unrelated pair.
fn generated_flows() -> Vec<String> {
    let mut cases = Vec::new();
    for (outer, oc, inner, ic) in UNRELATED {
        for template in FLOWS {
            cases.push(
                template
                    .replace("{O}", outer)
                    .replace("{oc}", oc)
                    .replace("{I}", inner)
                    .replace("{ic}", ic),
            );
        }
    }
    cases
}

/// Gate and facts over the fixture database.
async fn setup(label: &str) -> (crate::support::pg::TestDb, Client, TableFacts) {
    let (db, client) = fixture_db(label).await;
    let facts = fixture_facts(&client, &fixture_policy()).await;
    (db, client, facts)
}

/// Run every query through the gate; each must be refused with one of
/// `codes`. An accepted one is run read-only so the failure shows what it
/// would have done.
async fn expect_refused(
    gate: &Gate<'_>,
    facts: &TableFacts,
    client: &Client,
    cases: &[String],
    codes: &[&str],
) -> Vec<String> {
    let mut failures = Vec::new();
    for sql in cases {
        match gate.prepare(sql).and_then(|p| gate.check(p, facts, None)) {
            Err(e) if codes.contains(&e.code.as_str()) => {
                assert!(!e.message.is_empty() && !e.hint.is_empty(), "{sql}");
            }
            Err(e) => failures.push(format!("{sql:?}: got {} ({})", e.code, e.message)),
            Ok(checked) => {
                let ran = run_read_only(client, checked.sql()).await;
                failures.push(format!(
                    "{sql:?}: ACCEPTED as {:?} (ran: {:?})",
                    checked.sql(),
                    ran.map(|r| r.len())
                ));
            }
        }
    }
    failures
}

#[tokio::test]
async fn rows_flowing_between_unrelated_tables_are_refused() {
    let cases = generated_flows();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let (_db, client, facts) = setup("gate_flows").await;
    let policy = fixture_policy();
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let before = fingerprint(&client).await;
    let failures = expect_refused(&gate, &facts, &client, &cases, &["JOIN_NOT_APPROVED"]).await;
    assert_eq!(before, fingerprint(&client).await, "the database changed");
    assert!(
        failures.is_empty(),
        "{} of {} flows misjudged:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Queries that combine no rows of unrelated tables, and ordinary SQL the
/// gate used to refuse: they pass and run.
const ACCEPTED: &[&str] = &[
    "SELECT order_id FROM orders WHERE customer_id = ANY (ARRAY[1, 2, 3])",
    "SELECT order_id FROM orders WHERE 'new' = ANY (string_to_array(status, ','))",
    "SELECT o.order_id, x FROM orders o, LATERAL unnest(ARRAY[o.amount, o.amount * 2]) AS x",
    "SELECT p.name, t FROM products p, unnest(string_to_array(p.name, ' ')) AS t",
    "SELECT p.name, unnest(string_to_array(p.name, ' ')) FROM products p",
    "SELECT o.order_id FROM orders o WHERE o.product_id = ANY (ARRAY(SELECT p.product_id FROM products p WHERE p.price > 12))",
    "SELECT o.order_id FROM orders o WHERE o.product_id IN (SELECT p.product_id FROM products p) OR o.amount > 100",
    "SELECT o.order_id FROM orders o WHERE o.product_id <> ALL (SELECT p.product_id FROM products p WHERE p.price > 20)",
    "SELECT c.name, ARRAY(SELECT o.order_id FROM orders o WHERE o.customer_id = c.customer_id) FROM customers c",
    "SELECT o.order_id FROM orders o, (SELECT avg(price) AS a FROM products) s WHERE o.amount > s.a",
    "SELECT a.n, b.m FROM (SELECT count(*) AS n FROM orders) a, (SELECT max(price) AS m FROM products) b",
    "WITH t AS (SELECT sum(amount) AS total FROM orders) SELECT o.order_id, o.amount / t.total FROM orders o, t",
    "SELECT o.order_id FROM orders o WHERE o.order_id = (SELECT max(order_id) FROM orders)",
    "SELECT o.order_id FROM orders o WHERE o.order_id = (SELECT x.order_id FROM orders x ORDER BY x.amount DESC LIMIT 1)",
    "SELECT o.order_id FROM orders o WHERE o.order_id IN (SELECT max(order_id) FROM orders)",
    "SELECT name, (SELECT count(*) FROM orders) FROM products",
    "SELECT name FROM products WHERE EXISTS (SELECT 1 FROM orders WHERE amount > 100)",
    "(SELECT order_id FROM orders ORDER BY amount DESC LIMIT 3)",
    "((SELECT name FROM products ORDER BY price))",
    "(SELECT name FROM products) ORDER BY name LIMIT 5",
    "SELECT ROW(name, price) FROM products",
    "SELECT ROW(o.order_id, o.amount) = ROW(1, 7.50) FROM orders o",
    "SELECT CAST(price AS pg_catalog.numeric), price::pg_catalog.int4, CAST(price AS pg_catalog.numeric(10, 1)) FROM products",
    "SELECT count(p.*) FROM products p",
    "SELECT count(o.*) FROM products p LEFT JOIN (SELECT product_id FROM orders) o ON o.product_id = p.product_id",
    "SELECT name FROM products TABLESAMPLE BERNOULLI (50) REPEATABLE (7)",
    "SELECT p.name FROM products AS p TABLESAMPLE SYSTEM (100)",
    "SELECT name FROM products ORDER BY price USING >",
    "SELECT string_agg(name, ',' ORDER BY price USING <) FROM products",
    "SELECT o.order_id FROM orders o, (SELECT sum(price * 2) AS s, percentile_cont(0.5) WITHIN GROUP (ORDER BY price) AS m FROM products) x WHERE o.amount < x.s AND o.amount > x.m",
    "SELECT name, (SELECT sum(amount) FILTER (WHERE status = 'new') FROM orders) FROM products",
];

#[tokio::test]
async fn constants_and_ordinary_sql_pass_and_run() {
    let (_db, client, facts) = setup("gate_constants").await;
    let policy = fixture_policy();
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let mut failures = Vec::new();
    for sql in ACCEPTED {
        match gate.prepare(sql).and_then(|p| gate.check(p, &facts, None)) {
            Ok(checked) => {
                assert_stable_rendering(checked.sql());
                if let Err(e) = run_read_only(&client, checked.sql()).await {
                    failures.push(format!("{sql:?}: rendered {:?} failed: {e}", checked.sql()));
                }
            }
            Err(e) => failures.push(format!("{sql:?}: refused {} {}", e.code, e.message)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The parenthesised query returns its own three rows, in policy.
    let checked = gate
        .check(
            gate.prepare("(SELECT order_id FROM orders ORDER BY amount DESC LIMIT 3)")
                .unwrap(),
            &facts,
            None,
        )
        .unwrap();
    assert_eq!(checked.applied_limit(), 3);
    let rows = run_read_only(&client, checked.sql()).await.unwrap();
    let ids: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    // The top three amounts among EAST and NORTH orders (ids 300, 298, 296
    // are NORTH, EAST, ... by `1 + i % 4`): never a WEST or SOUTH order.
    let direct = client
        .query(
            "SELECT order_id FROM orders WHERE region_code IN ('EAST', 'NORTH') \
             ORDER BY amount DESC LIMIT 3",
            &[],
        )
        .await
        .unwrap();
    let expected: Vec<i32> = direct.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn cte_references_and_one_row_pieces_follow_the_join_rules() {
    let (_db, client, facts) = setup("gate_cte_nodes").await;
    let policy = fixture_policy();
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let before = fingerprint(&client).await;
    let check = |sql: &str| gate.prepare(sql).and_then(|p| gate.check(p, &facts, None));

    // The reproducer, on the fixture: two references to one CTE
    // whose body is a proper join, combined with nothing relating them.
    let e = check(
        "WITH c AS (SELECT o.order_id, o.customer_id FROM orders o JOIN customers cu \
         ON cu.customer_id = o.customer_id) SELECT count(*) FROM c c1, c c2",
    )
    .unwrap_err();
    assert_eq!(e.code.as_str(), "JOIN_NOT_APPROVED");
    assert!(
        e.message.contains("CTE reference `c1`") && e.message.contains("CTE reference `c2`"),
        "{}",
        e.message
    );
    assert!(e.hint.contains("approved join from `public."), "{}", e.hint);

    // Grouped derived tables combined with nothing: named as such.
    let e = check(
        "SELECT a.n, b.m FROM (SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id) a, \
         (SELECT category, max(price) AS m FROM products GROUP BY category) b",
    )
    .unwrap_err();
    assert_eq!(e.code.as_str(), "JOIN_NOT_APPROVED");
    assert!(
        e.message
            .contains("Derived table `b` (reading `public.products`) and derived table `a` (reading `public.orders`)"),
        "{}",
        e.message
    );

    // Self-joins through a set subquery need an approved self-join.
    let e = check(
        "SELECT name FROM customers WHERE customer_id IN \
         (SELECT customer_id FROM customers WHERE segment = 'smb')",
    )
    .unwrap_err();
    assert_eq!(e.code.as_str(), "JOIN_NOT_APPROVED");
    assert!(e.hint.contains("to itself"), "{}", e.hint);
    assert_eq!(before, fingerprint(&client).await);
}

/// Where an operator can sit; `{op}` is the operator's qualified name.
const OPERATOR_POSITIONS: &[&str] = &[
    "SELECT name FROM products ORDER BY price USING OPERATOR({op})",
    "SELECT name FROM products p ORDER BY p.price DESC, p.name USING OPERATOR({op})",
    "SELECT array_agg(name ORDER BY price USING OPERATOR({op})) FROM products",
    "SELECT string_agg(name, ',' ORDER BY price USING OPERATOR({op})) FROM products",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY price USING OPERATOR({op})) FROM products",
    "SELECT rank() OVER (ORDER BY price USING OPERATOR({op})) FROM products",
    "SELECT lag(name) OVER w FROM products WINDOW w AS (ORDER BY price USING OPERATOR({op}))",
    "SELECT name FROM products UNION SELECT name FROM products ORDER BY 1 USING OPERATOR({op})",
    "SELECT x FROM (SELECT name AS x FROM products ORDER BY price USING OPERATOR({op}) LIMIT 2) s",
    "WITH s AS (SELECT name, price FROM products ORDER BY price USING OPERATOR({op})) SELECT name FROM s",
    "SELECT name FROM products WHERE price OPERATOR({op}) 20",
    "SELECT price OPERATOR({op}) 20 FROM products",
    "SELECT name FROM products GROUP BY name, price HAVING max(price) OPERATOR({op}) 20",
    "SELECT o.order_id FROM orders o JOIN products p ON p.product_id = o.product_id AND p.price OPERATOR({op}) 20",
    "SELECT CASE WHEN price OPERATOR({op}) 20 THEN 1 END FROM products",
    "SELECT name FROM products WHERE EXISTS (SELECT 1 FROM orders o WHERE o.amount OPERATOR({op}) 20)",
    "SELECT count(*) FILTER (WHERE price OPERATOR({op}) 20) FROM products",
];

#[tokio::test]
async fn custom_operators_are_refused_in_every_position() {
    let (_db, client, facts) = setup("gate_operators").await;
    // An operator (and a btree operator class, so ORDER BY USING accepts
    // it) whose functions raise: anyone with CREATE on a schema can do this.
    client
        .batch_execute(
            "CREATE SCHEMA evil;
             CREATE FUNCTION evil.lt(numeric, numeric) RETURNS boolean LANGUAGE plpgsql
               AS $$ BEGIN RAISE EXCEPTION 'evil operator ran'; END $$;
             CREATE FUNCTION evil.cmp(numeric, numeric) RETURNS int LANGUAGE plpgsql
               AS $$ BEGIN RAISE EXCEPTION 'evil operator ran'; END $$;
             CREATE OPERATOR evil.< (LEFTARG = numeric, RIGHTARG = numeric, FUNCTION = evil.lt);
             CREATE OPERATOR evil.= (LEFTARG = numeric, RIGHTARG = numeric, FUNCTION = evil.lt);
             CREATE OPERATOR CLASS evil.numeric_ops FOR TYPE numeric USING btree AS
               OPERATOR 1 evil.<, OPERATOR 3 evil.=, FUNCTION 1 evil.cmp(numeric, numeric);",
        )
        .await
        .unwrap();
    // The attack is real: run directly, the operator's function runs.
    for direct in [
        "SELECT name FROM products WHERE price OPERATOR(evil.<) 20",
        "SELECT name FROM products ORDER BY price USING OPERATOR(evil.<)",
    ] {
        let e = client.query(direct, &[]).await.unwrap_err();
        assert!(
            format!("{e:?}").contains("evil operator ran"),
            "{direct}: {e:?}"
        );
    }
    let policy = fixture_policy();
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let before = fingerprint(&client).await;
    let mut cases = Vec::new();
    for op in ["evil.<", "public.<", "pg_catalog.<", "\"evil\".<"] {
        cases.extend(OPERATOR_POSITIONS.iter().map(|t| t.replace("{op}", op)));
    }
    // Plain symbols that are not PostgreSQL's ordering operators.
    cases.push("SELECT name FROM products ORDER BY price USING ~<~".into());
    cases.push("SELECT name FROM products ORDER BY name USING <=".into());
    let failures = expect_refused(&gate, &facts, &client, &cases, &["FUNCTION_NOT_ALLOWED"]).await;
    assert_eq!(before, fingerprint(&client).await, "the database changed");
    assert!(
        failures.is_empty(),
        "{} of {} operator positions misjudged:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn an_operator_policy_allows_runs_in_every_position_and_no_other_does() {
    let (_db, client, facts) = setup("gate_allowed_operator").await;
    // `ext.<` is a benign ordering operator (with its btree class, so
    // ORDER BY USING accepts it); `evil.<` raises, as above.
    // One overload per type the positions compare (allowing `ext.<`
    // allows every operator of that name in `ext`).
    let mut setup = String::from("CREATE SCHEMA ext;\n");
    for (ty, class) in [
        ("numeric", "numeric"),
        ("text", "text"),
        ("double precision", "float8"),
    ] {
        setup.push_str(&format!(
            "CREATE FUNCTION ext.lt({ty}, {ty}) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 < $2';
             CREATE FUNCTION ext.eq({ty}, {ty}) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 = $2';
             CREATE FUNCTION ext.cmp({ty}, {ty}) RETURNS int LANGUAGE sql IMMUTABLE
               AS 'SELECT CASE WHEN $1 < $2 THEN -1 WHEN $1 > $2 THEN 1 ELSE 0 END';
             CREATE OPERATOR ext.< (LEFTARG = {ty}, RIGHTARG = {ty}, FUNCTION = ext.lt);
             CREATE OPERATOR ext.= (LEFTARG = {ty}, RIGHTARG = {ty}, FUNCTION = ext.eq);
             CREATE OPERATOR CLASS ext.{class}_ops FOR TYPE {ty} USING btree AS
               OPERATOR 1 ext.<, OPERATOR 3 ext.=, FUNCTION 1 ext.cmp({ty}, {ty});\n"
        ));
    }
    client.batch_execute(&setup).await.unwrap();
    client
        .batch_execute(
            "CREATE SCHEMA evil;
             CREATE FUNCTION evil.lt(numeric, numeric) RETURNS boolean LANGUAGE plpgsql
               AS $$ BEGIN RAISE EXCEPTION 'evil operator ran'; END $$;
             CREATE OPERATOR evil.< (LEFTARG = numeric, RIGHTARG = numeric, FUNCTION = evil.lt);",
        )
        .await
        .unwrap();
    let policy = fixture_policy_with(|p| {
        p.security.allowed_operators = Some(vec!["ext.<".into()]);
    });
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let before = fingerprint(&client).await;

    let mut failures = Vec::new();
    for template in OPERATOR_POSITIONS {
        let sql = template.replace("{op}", "ext.<");
        match gate.prepare(&sql).and_then(|p| gate.check(p, &facts, None)) {
            Ok(checked) => {
                assert_stable_rendering(checked.sql());
                if let Err(e) = run_read_only(&client, checked.sql()).await {
                    failures.push(format!("{sql:?}: accepted but failed to run: {e:?}"));
                }
            }
            Err(e) => failures.push(format!("{sql:?}: refused {} ({})", e.code, e.message)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} positions of an allowed operator misjudged:\n{}",
        failures.len(),
        OPERATOR_POSITIONS.len(),
        failures.join("\n")
    );

    // The same symbol in any other schema, a quoted schema, and other
    // symbols of the allowed schema stay refused in every position.
    let mut cases = Vec::new();
    for op in ["evil.<", "public.<", "\"ext\".<", "EXT.<", "ext.="] {
        cases.extend(OPERATOR_POSITIONS.iter().map(|t| t.replace("{op}", op)));
    }
    let failures = expect_refused(&gate, &facts, &client, &cases, &["FUNCTION_NOT_ALLOWED"]).await;
    assert_eq!(before, fingerprint(&client).await, "the database changed");
    assert!(
        failures.is_empty(),
        "{} of {} unlisted operators misjudged:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn with_ties_is_refused_rather_than_dropped() {
    let (_db, client, facts) = setup("gate_ties").await;
    let policy = fixture_policy();
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let sql = "SELECT category FROM products ORDER BY category FETCH FIRST 1 ROWS WITH TIES";
    // Run directly it returns every tied row: dropping WITH TIES would
    // silently return one.
    let direct = client.query(sql, &[]).await.unwrap();
    assert!(direct.len() > 1, "{} rows", direct.len());
    let e = gate
        .prepare(sql)
        .and_then(|p| gate.check(p, &facts, None))
        .unwrap_err();
    assert_eq!(e.code.as_str(), "LIMIT_MUST_BE_LITERAL");
    assert!(e.message.contains("WITH TIES"), "{}", e.message);
    assert!(e.hint.contains("rank()"), "{}", e.hint);
}
