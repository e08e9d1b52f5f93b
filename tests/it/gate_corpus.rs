//! The gate against a corpus of hostile and malformed SQL, on a real
//! PostgreSQL database holding the tables of the test policy
//! (`tests/fixtures/gate/`).
//!
//! Every attack must be refused with its exact error code. Should one be
//! accepted (a bug), its rendered SQL is executed read-only so the failure
//! shows what it would have done, and a fingerprint of every table (row
//! counts and an md5 of the contents, the table list, the sequence) must be
//! unchanged after the whole corpus. Legitimate queries must pass the gate
//! and run.
#![allow(clippy::unwrap_used)]

use sqlwarden::guard::Gate;

use crate::support::gate::{
    assert_stable_rendering, fingerprint, fixture_db, fixture_facts, fixture_policy, run_read_only,
    same_column_count,
};

const ATTACKS: &[(&str, &str)] = &[
    // Empty, malformed, and parser confusion.
    ("", "SQL_PARSE_ERROR"),
    ("   ", "SQL_PARSE_ERROR"),
    ("-- only a comment", "SQL_PARSE_ERROR"),
    ("/* only a comment */", "SQL_PARSE_ERROR"),
    (";", "SQL_PARSE_ERROR"),
    ("SELEC name FROM products", "SQL_PARSE_ERROR"),
    ("SELECT name FROM", "SQL_PARSE_ERROR"),
    ("SELECT 'unterminated FROM products", "SQL_PARSE_ERROR"),
    ("SELECT name FROM products WHERE", "SQL_PARSE_ERROR"),
    ("SELECT name FROM products /* unterminated", "SQL_PARSE_ERROR"),
    ("SELECT $$ FROM products", "SQL_PARSE_ERROR"),
    ("SELECT name FROM products WHERE price >", "SQL_PARSE_ERROR"),
    ("SELECT name FROM products WHERE price OPERATOR(public.===) 1", "SQL_PARSE_ERROR"),
    // More than one statement.
    ("SELECT 1; DROP TABLE t", "SQL_MULTIPLE_STATEMENTS"),
    ("SELECT name FROM products; DROP TABLE orders", "SQL_MULTIPLE_STATEMENTS"),
    ("SELECT name FROM products; DELETE FROM orders", "SQL_MULTIPLE_STATEMENTS"),
    ("COMMIT; DROP TABLE orders", "SQL_MULTIPLE_STATEMENTS"),
    ("COMMIT; DELETE FROM orders; SELECT 1", "SQL_MULTIPLE_STATEMENTS"),
    ("ROLLBACK; INSERT INTO audit_log (entry) VALUES ('x')", "SQL_MULTIPLE_STATEMENTS"),
    ("SELECT name FROM products;;DROP TABLE orders", "SQL_MULTIPLE_STATEMENTS"),
    ("SELECT name FROM products; SELECT phone FROM customers", "SQL_MULTIPLE_STATEMENTS"),
    ("SELECT name FROM products -- \n; DROP TABLE orders", "SQL_MULTIPLE_STATEMENTS"),
    ("SELECT name FROM products /* x */; /* y */ UPDATE orders SET amount = 0", "SQL_MULTIPLE_STATEMENTS"),
    ("SELECT name FROM products; garbage that does not parse", "SQL_MULTIPLE_STATEMENTS"),
    ("SELECT name FROM products; COPY orders TO PROGRAM 'id'", "SQL_MULTIPLE_STATEMENTS"),
    // Not a query.
    ("DROP TABLE orders", "SQL_READONLY_ONLY"),
    ("DELETE FROM orders", "SQL_READONLY_ONLY"),
    ("UPDATE orders SET amount = 0", "SQL_READONLY_ONLY"),
    ("INSERT INTO audit_log (entry) VALUES ('x')", "SQL_READONLY_ONLY"),
    ("INSERT INTO audit_log (entry) SELECT name FROM products", "SQL_READONLY_ONLY"),
    ("TRUNCATE orders", "SQL_READONLY_ONLY"),
    ("CREATE TABLE x AS SELECT name FROM products", "SQL_READONLY_ONLY"),
    ("ALTER TABLE orders DROP COLUMN note", "SQL_READONLY_ONLY"),
    ("GRANT ALL ON orders TO public", "SQL_READONLY_ONLY"),
    ("SET search_path = pg_catalog", "SQL_READONLY_ONLY"),
    ("SET ROLE postgres", "SQL_READONLY_ONLY"),
    ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "SQL_READONLY_ONLY"),
    ("RESET ALL", "SQL_READONLY_ONLY"),
    ("DISCARD ALL", "SQL_READONLY_ONLY"),
    ("LISTEN channel", "SQL_READONLY_ONLY"),
    ("NOTIFY channel", "SQL_READONLY_ONLY"),
    ("PREPARE p AS SELECT name FROM products", "SQL_READONLY_ONLY"),
    ("EXECUTE p", "SQL_READONLY_ONLY"),
    ("DECLARE c CURSOR FOR SELECT name FROM products", "SQL_READONLY_ONLY"),
    ("COPY orders TO STDOUT", "SQL_READONLY_ONLY"),
    ("COPY audit_log FROM STDIN", "SQL_READONLY_ONLY"),
    ("EXPLAIN SELECT name FROM products", "SQL_READONLY_ONLY"),
    ("EXPLAIN ANALYZE DELETE FROM orders", "SQL_READONLY_ONLY"),
    ("CALL some_procedure()", "SQL_READONLY_ONLY"),
    ("DO $$BEGIN DELETE FROM orders; END$$", "SQL_READONLY_ONLY"),
    ("BEGIN", "SQL_READONLY_ONLY"),
    ("COMMIT", "SQL_READONLY_ONLY"),
    ("VACUUM orders", "SQL_READONLY_ONLY"),
    ("LOCK TABLE orders", "SQL_READONLY_ONLY"),
    ("SHOW ALL", "SQL_READONLY_ONLY"),
    ("MERGE INTO orders o USING products p ON o.product_id = p.product_id WHEN MATCHED THEN DELETE", "SQL_READONLY_ONLY"),
    // Writes hidden inside a query.
    ("WITH d AS (DELETE FROM orders RETURNING order_id) SELECT order_id FROM d", "SQL_READONLY_ONLY"),
    ("WITH u AS (UPDATE orders SET amount = 0 RETURNING order_id) SELECT count(*) FROM u", "SQL_READONLY_ONLY"),
    ("WITH i AS (INSERT INTO audit_log (entry) VALUES ('x') RETURNING id) SELECT id FROM i", "SQL_READONLY_ONLY"),
    ("WITH p AS (SELECT name FROM products), d AS (DELETE FROM orders RETURNING order_id) SELECT name FROM p", "SQL_READONLY_ONLY"),
    ("SELECT name FROM products WHERE EXISTS (WITH d AS (DELETE FROM orders RETURNING 1) SELECT 1 FROM d)", "SQL_READONLY_ONLY"),
    ("SELECT name INTO TEMP stolen FROM customers", "SQL_READONLY_ONLY"),
    ("SELECT name INTO stolen FROM products", "SQL_READONLY_ONLY"),
    ("SELECT name INTO UNLOGGED stolen FROM products", "SQL_READONLY_ONLY"),
    // Locking.
    ("SELECT name FROM products FOR UPDATE", "LOCKING_NOT_ALLOWED"),
    ("SELECT name FROM products FOR SHARE", "LOCKING_NOT_ALLOWED"),
    ("SELECT name FROM products FOR NO KEY UPDATE", "LOCKING_NOT_ALLOWED"),
    ("SELECT name FROM products FOR KEY SHARE", "LOCKING_NOT_ALLOWED"),
    ("SELECT name FROM products FOR UPDATE NOWAIT", "LOCKING_NOT_ALLOWED"),
    ("SELECT name FROM products FOR UPDATE SKIP LOCKED", "LOCKING_NOT_ALLOWED"),
    ("SELECT name FROM (SELECT name FROM products FOR UPDATE) s", "LOCKING_NOT_ALLOWED"),
    ("SELECT name FROM products WHERE product_id IN (SELECT product_id FROM orders FOR SHARE)", "LOCKING_NOT_ALLOWED"),
    // No table.
    ("SELECT 1", "TABLE_REFERENCE_REQUIRED"),
    ("SELECT now()", "TABLE_REFERENCE_REQUIRED"),
    ("VALUES (1), (2)", "TABLE_REFERENCE_REQUIRED"),
    ("SELECT g FROM generate_series(1, 10) AS g", "TABLE_REFERENCE_REQUIRED"),
    ("WITH x AS (SELECT 1 AS a) SELECT a FROM x", "TABLE_REFERENCE_REQUIRED"),
    // Tables not in policy, system catalogs.
    ("SELECT entry FROM audit_log", "TABLE_NOT_ALLOWED"),
    ("SELECT entry FROM public.audit_log", "TABLE_NOT_ALLOWED"),
    ("SELECT name FROM products p JOIN audit_log a ON a.id = p.product_id", "TABLE_NOT_ALLOWED"),
    ("SELECT name FROM products WHERE product_id IN (SELECT id FROM audit_log)", "TABLE_NOT_ALLOWED"),
    ("WITH a AS (SELECT entry FROM audit_log) SELECT entry FROM a", "TABLE_NOT_ALLOWED"),
    ("SELECT name FROM \"Products\"", "TABLE_NOT_ALLOWED"),
    ("SELECT name FROM \"public.products\"", "TABLE_NOT_ALLOWED"),
    ("SELECT name FROM other.products", "TABLE_NOT_ALLOWED"),
    ("SELECT name FROM shop.public.products", "TABLE_NOT_ALLOWED"),
    ("SELECT last_value FROM attack_seq", "TABLE_NOT_ALLOWED"),
    ("SELECT relname FROM pg_class", "SYSTEM_SCHEMA_NOT_ALLOWED"),
    ("SELECT usename, passwd FROM pg_shadow", "SYSTEM_SCHEMA_NOT_ALLOWED"),
    ("SELECT rolpassword FROM pg_authid", "SYSTEM_SCHEMA_NOT_ALLOWED"),
    ("SELECT relname FROM pg_catalog.pg_class", "SYSTEM_SCHEMA_NOT_ALLOWED"),
    ("SELECT relname FROM PG_CATALOG.PG_CLASS", "SYSTEM_SCHEMA_NOT_ALLOWED"),
    ("SELECT relname FROM \"pg_catalog\".\"pg_class\"", "SYSTEM_SCHEMA_NOT_ALLOWED"),
    ("SELECT table_name FROM information_schema.tables", "SYSTEM_SCHEMA_NOT_ALLOWED"),
    ("SELECT chunk_id FROM pg_toast.pg_toast_1", "SYSTEM_SCHEMA_NOT_ALLOWED"),
    ("SELECT name FROM products WHERE EXISTS (SELECT 1 FROM pg_stat_activity)", "SYSTEM_SCHEMA_NOT_ALLOWED"),
    ("SELECT name FROM products p JOIN pg_settings s ON s.name = p.name", "SYSTEM_SCHEMA_NOT_ALLOWED"),
    ("WITH x AS (SELECT setting FROM pg_settings) SELECT setting FROM x", "SYSTEM_SCHEMA_NOT_ALLOWED"),
    ("SELECT x FROM pg_temp.x", "SYSTEM_SCHEMA_NOT_ALLOWED"),
    // Dangerous functions, in every position.
    ("SELECT pg_sleep(10) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT name FROM products WHERE pg_sleep(10) IS NULL", "FUNCTION_NOT_ALLOWED"),
    ("SELECT name FROM products GROUP BY name, pg_sleep(1)", "FUNCTION_NOT_ALLOWED"),
    ("SELECT name FROM products GROUP BY name HAVING max(pg_sleep(1)::text) = ''", "FUNCTION_NOT_ALLOWED"),
    ("SELECT name FROM products ORDER BY pg_sleep(1)", "FUNCTION_NOT_ALLOWED"),
    ("SELECT p.name FROM products p JOIN orders o ON o.product_id = p.product_id AND pg_sleep(1) IS NULL", "FUNCTION_NOT_ALLOWED"),
    ("SELECT x FROM products, pg_read_file('/etc/passwd') AS x", "FUNCTION_NOT_ALLOWED"),
    ("SELECT x FROM products, LATERAL pg_ls_dir('.') AS x", "FUNCTION_NOT_ALLOWED"),
    ("SELECT CASE WHEN price > 0 THEN pg_read_binary_file('/etc/passwd') END FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT CAST(pg_stat_file('.') AS text) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT sum(price) OVER (PARTITION BY pg_backend_pid()) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT lo_import('/etc/passwd') FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT lo_export(1, '/tmp/x') FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT lo_get(1) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT dblink('host=evil', 'DELETE FROM orders') FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT dblink_exec('DELETE FROM orders') FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT set_config('default_transaction_read_only', 'off', false) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT current_setting('data_directory') FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT pg_terminate_backend(1) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT pg_cancel_backend(1) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT pg_reload_conf() FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT nextval('attack_seq') FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT setval('attack_seq', 99) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT pg_advisory_lock(1) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT pg_advisory_xact_lock(1) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT query_to_xml('DELETE FROM orders RETURNING 1', true, true, '') FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT xpath('/a', query_to_xml('SELECT 1', true, true, '')) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT txid_current() FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT version() FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT current_user FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT pg_catalog.pg_sleep(1) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT \"pg_sleep\"(1) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT \"PG_SLEEP\"(1) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT PG_SLEEP(1) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT public.lower(name) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT \"pg_catalog\".pg_sleep(1) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT pg_sleep/**/(1) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT name FROM products WHERE price > (SELECT pg_sleep(1)::int)", "FUNCTION_NOT_ALLOWED"),
    ("SELECT count(*) FILTER (WHERE pg_sleep(1) IS NULL) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_sleep(1)::text::int) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT name FROM products WHERE price IN (SELECT nextval('attack_seq'))", "FUNCTION_NOT_ALLOWED"),
    ("SELECT ARRAY(SELECT pg_sleep(1)) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT ARRAY(SELECT phone FROM customers) FROM products", "COLUMN_NOT_ALLOWED"),
    ("SELECT 1 OPERATOR(pg_catalog.+) 1 FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT name FROM products WHERE price OPERATOR(public.+) 1 > 0", "FUNCTION_NOT_ALLOWED"),
    ("SELECT name::regclass FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT 'pg_authid'::regclass FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT CAST('pg_sleep' AS regproc) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT U&\"pg_sleep\"(1) FROM products", "FUNCTION_NOT_ALLOWED"),
    ("SELECT U&\"\\0070g_sleep\"(1) FROM products", "FUNCTION_NOT_ALLOWED"),
    // Denied columns in every clause, quoting and case tricks.
    ("SELECT phone FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT PHONE FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT \"phone\" FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT \"Customer_Phone\" FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT Customer_Phone FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT c.\"Customer_Phone\" FROM customers c", "COLUMN_NOT_ALLOWED"),
    ("SELECT c.phone FROM customers c", "COLUMN_NOT_ALLOWED"),
    ("SELECT customers.email FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT name FROM customers WHERE phone LIKE '+86%'", "COLUMN_NOT_ALLOWED"),
    ("SELECT name FROM customers ORDER BY address", "COLUMN_NOT_ALLOWED"),
    ("SELECT count(*) FROM customers GROUP BY email", "COLUMN_NOT_ALLOWED"),
    ("SELECT region_code FROM customers GROUP BY region_code HAVING max(phone) > ''", "COLUMN_NOT_ALLOWED"),
    ("SELECT upper(address) FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT length(phone) AS name FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT o.order_id FROM orders o JOIN customers c ON o.customer_id = c.customer_id AND c.phone IS NOT NULL", "COLUMN_NOT_ALLOWED"),
    ("SELECT row_number() OVER (ORDER BY email) FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT CASE WHEN phone > '' THEN 1 END FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT name FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND c.phone > '')", "COLUMN_NOT_ALLOWED"),
    ("SELECT x FROM (SELECT phone AS x FROM customers) s", "COLUMN_NOT_ALLOWED"),
    ("WITH s AS (SELECT address FROM customers) SELECT address FROM s", "COLUMN_NOT_ALLOWED"),
    ("SELECT name FROM products UNION SELECT phone FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT note FROM orders", "COLUMN_NOT_ALLOWED"),
    ("SELECT o.note FROM orders o", "COLUMN_NOT_ALLOWED"),
    ("SELECT order_id FROM orders WHERE note IS NOT NULL", "COLUMN_NOT_ALLOWED"),
    ("SELECT ctid FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT xmin FROM products", "COLUMN_NOT_ALLOWED"),
    ("SELECT nosuchcolumn FROM products", "COLUMN_NOT_ALLOWED"),
    ("SELECT name/**/FROM/**/customers WHERE phone = '1'", "COLUMN_NOT_ALLOWED"),
    ("SELECT name -- harmless?\n, phone FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT name FROM customers NATURAL JOIN (SELECT customer_id, 1 AS phone FROM orders) x", "COLUMN_NOT_ALLOWED"),
    ("SELECT c.name FROM customers c JOIN customers d USING (phone)", "COLUMN_NOT_ALLOWED"),
    ("SELECT (c).phone FROM customers c", "SELECT_STAR_NOT_ALLOWED"),
    ("SELECT name FROM products WHERE EXISTS (VALUES (1) ORDER BY (SELECT phone FROM customers LIMIT 1))", "COLUMN_NOT_ALLOWED"),
    ("SELECT \"PHÔNE\" FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT U&\"ph\\006Fne\" FROM customers", "COLUMN_NOT_ALLOWED"),
    ("SELECT name AS phone, count(*) FROM customers GROUP BY phone", "COLUMN_NOT_ALLOWED"),
    // Stars and whole rows.
    ("SELECT * FROM customers", "SELECT_STAR_NOT_ALLOWED"),
    ("SELECT c.* FROM customers c", "SELECT_STAR_NOT_ALLOWED"),
    ("SELECT * FROM orders", "SELECT_STAR_NOT_ALLOWED"),
    ("SELECT c FROM customers c", "SELECT_STAR_NOT_ALLOWED"),
    ("SELECT customers FROM customers", "SELECT_STAR_NOT_ALLOWED"),
    ("SELECT row_to_json(c) FROM customers c", "SELECT_STAR_NOT_ALLOWED"),
    ("SELECT to_jsonb(c.*) FROM customers c", "SELECT_STAR_NOT_ALLOWED"),
    ("SELECT count(c.*) FROM customers c", "SELECT_STAR_NOT_ALLOWED"),
    ("SELECT x FROM (SELECT * FROM customers) x", "SELECT_STAR_NOT_ALLOWED"),
    ("SELECT name FROM customers WHERE customer_id IN (SELECT * FROM customers)", "SELECT_STAR_NOT_ALLOWED"),
    // Joins.
    ("SELECT o.order_id FROM orders o CROSS JOIN customers c", "JOIN_NOT_APPROVED"),
    ("SELECT o.order_id FROM orders o, customers c", "JOIN_NOT_APPROVED"),
    ("SELECT o.order_id FROM orders o JOIN customers c ON true", "JOIN_NOT_APPROVED"),
    ("SELECT o.order_id FROM orders o JOIN customers c ON o.order_id = c.customer_id", "JOIN_NOT_APPROVED"),
    ("SELECT o.order_id FROM orders o JOIN customers c ON o.customer_id = c.customer_id AND o.region_code = c.region_code", "JOIN_NOT_APPROVED"),
    ("SELECT o.order_id FROM orders o JOIN customers c ON o.customer_id = c.customer_id OR o.amount > 0", "JOIN_NOT_APPROVED"),
    ("SELECT o.order_id FROM orders o JOIN regions r ON o.region_code = r.region_code", "JOIN_NOT_APPROVED"),
    ("SELECT o.order_id FROM orders o JOIN customers c ON o.customer_id > c.customer_id", "JOIN_NOT_APPROVED"),
    ("SELECT a.order_id FROM orders a JOIN orders b ON a.customer_id = b.customer_id", "JOIN_NOT_APPROVED"),
    ("SELECT name FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.amount > c.customer_id)", "JOIN_NOT_APPROVED"),
    ("SELECT name FROM customers WHERE customer_id IN (SELECT order_id FROM orders)", "JOIN_NOT_APPROVED"),
    ("SELECT name FROM customers WHERE customer_id = ANY (SELECT order_id FROM orders)", "JOIN_NOT_APPROVED"),
    ("SELECT c.name FROM customers c JOIN (SELECT order_id AS k FROM orders) t ON t.k = c.customer_id", "JOIN_NOT_APPROVED"),
    ("SELECT o.order_id FROM orders o NATURAL JOIN customers c", "JOIN_NOT_APPROVED"),
    ("SELECT c.name FROM customers c JOIN orders o USING (region_code)", "JOIN_NOT_APPROVED"),
    ("SELECT o.order_id FROM orders o JOIN customers c ON o.customer_id = c.customer_id JOIN products p ON p.product_id = o.product_id JOIN regions r ON r.region_code = c.region_code", "TOO_MANY_JOIN_TABLES"),
    // Partitions.
    ("SELECT kind FROM events", "PARTITION_FILTER_REQUIRED"),
    ("SELECT kind FROM events WHERE kind = 'view'", "PARTITION_FILTER_REQUIRED"),
    ("SELECT kind FROM events WHERE pt = '20240601' OR kind = 'view'", "PARTITION_FILTER_REQUIRED"),
    ("SELECT kind FROM events WHERE pt <> '20240601'", "PARTITION_FILTER_REQUIRED"),
    ("SELECT kind FROM events WHERE pt = kind", "PARTITION_FILTER_REQUIRED"),
    ("SELECT kind FROM events WHERE pt IS NOT NULL", "PARTITION_FILTER_REQUIRED"),
    ("SELECT kind FROM events WHERE NOT (pt = '20240601')", "PARTITION_FILTER_REQUIRED"),
    ("SELECT kind FROM events WHERE pt NOT IN ('20240601')", "PARTITION_FILTER_REQUIRED"),
    ("SELECT e.kind FROM events e JOIN customers c ON c.customer_id = e.customer_id", "PARTITION_FILTER_REQUIRED"),
    // Limits.
    ("SELECT name FROM products LIMIT ALL", "LIMIT_MUST_BE_LITERAL"),
    ("SELECT name FROM products LIMIT 1e9", "LIMIT_MUST_BE_LITERAL"),
    ("SELECT name FROM products LIMIT 1.5", "LIMIT_MUST_BE_LITERAL"),
    ("SELECT name FROM products LIMIT (SELECT 10)", "LIMIT_MUST_BE_LITERAL"),
    ("SELECT name FROM products LIMIT $1", "LIMIT_MUST_BE_LITERAL"),
    ("SELECT name FROM products LIMIT NULL", "LIMIT_MUST_BE_LITERAL"),
    ("SELECT name FROM products LIMIT '5'", "LIMIT_MUST_BE_LITERAL"),
    ("SELECT name FROM products LIMIT 2 + 3", "LIMIT_MUST_BE_LITERAL"),
    ("SELECT name FROM products LIMIT 99999999999999999999999", "LIMIT_MUST_BE_LITERAL"),
    ("SELECT name FROM products OFFSET (SELECT 1)", "LIMIT_MUST_BE_LITERAL"),
    ("SELECT name FROM products FETCH FIRST 50 PERCENT ROWS ONLY", "LIMIT_MUST_BE_LITERAL"),
    ("SELECT name FROM (SELECT name FROM products LIMIT ALL) s", "LIMIT_MUST_BE_LITERAL"),
    ("SELECT name FROM products LIMIT 0", "LIMIT_MUST_BE_POSITIVE"),
    ("SELECT name FROM products LIMIT -1", "LIMIT_MUST_BE_POSITIVE"),
    ("SELECT name FROM products LIMIT -0", "LIMIT_MUST_BE_POSITIVE"),
    ("SELECT name FROM products OFFSET -1", "LIMIT_MUST_BE_POSITIVE"),
    ("SELECT name FROM products FETCH FIRST 0 ROWS ONLY", "LIMIT_MUST_BE_POSITIVE"),
    ("SELECT name FROM (SELECT name FROM products LIMIT 0) s", "LIMIT_MUST_BE_POSITIVE"),
    ("SELECT name FROM products WHERE product_id IN (SELECT product_id FROM orders LIMIT -5)", "LIMIT_MUST_BE_POSITIVE"),
];

const LEGITIMATE: &[&str] = &[
    "SELECT name, price FROM products ORDER BY price DESC",
    "SELECT * FROM products",
    "SELECT p.* FROM products p",
    "SELECT count(*) FROM customers",
    "SELECT name, segment FROM customers -- trailing comment",
    "SELECT /* inline */ name FROM customers;",
    "SELECT \"name\" FROM \"customers\"",
    "SELECT \"Loyalty Tier\", count(*) FROM customers GROUP BY 1",
    "SELECT o.order_id, c.name FROM orders o JOIN customers c ON o.customer_id = c.customer_id",
    "SELECT o.order_id, c.name FROM orders o LEFT JOIN customers c ON c.customer_id = o.customer_id",
    "SELECT o.order_id FROM orders o, customers c WHERE o.customer_id = c.customer_id AND o.amount > c.customer_id",
    "SELECT c.name, r.region_name FROM customers c JOIN regions r USING (region_code)",
    "SELECT c.name, r.region_name FROM customers c NATURAL JOIN regions r",
    "SELECT p.name, sum(o.amount) FROM orders o JOIN products p ON p.product_id = o.product_id GROUP BY p.name ORDER BY 2 DESC",
    "SELECT name FROM customers c WHERE EXISTS (SELECT * FROM orders o WHERE o.customer_id = c.customer_id)",
    "SELECT name FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND o.status = 'new')",
    "SELECT name FROM customers WHERE customer_id IN (SELECT customer_id FROM orders WHERE amount > 100)",
    "SELECT name FROM customers WHERE customer_id = ANY (SELECT customer_id FROM orders)",
    "SELECT name FROM products WHERE price > (SELECT avg(price) FROM products)",
    "WITH t AS (SELECT customer_id AS cid, sum(amount) AS total FROM orders GROUP BY customer_id) SELECT c.name, t.total FROM customers c JOIN t ON t.cid = c.customer_id",
    "SELECT region_code, count(*) AS n FROM orders GROUP BY region_code HAVING count(*) > 1 ORDER BY n DESC",
    "SELECT name AS phone FROM customers ORDER BY phone",
    "SELECT c.name, ARRAY(SELECT o.order_id FROM orders o WHERE o.customer_id = c.customer_id) FROM customers c",
    "SELECT count(DISTINCT category), string_agg(name, ', ' ORDER BY name) FROM products",
    "SELECT name FROM products WHERE to_tsvector('simple', name) @@ plainto_tsquery('simple', 'product')",
    "SELECT created_at AT TIME ZONE 'UTC', created_at::date, round(amount::numeric, 1), to_char(created_at, 'YYYY-MM') FROM orders WHERE created_at > now() - interval '7 days'",
    "SELECT region_code, mode() WITHIN GROUP (ORDER BY status), bool_or(amount > 100), array_agg(DISTINCT status) FROM orders GROUP BY region_code",
    "SELECT category, name, price, rank() OVER (PARTITION BY category ORDER BY price DESC) FROM products",
    "SELECT category, percentile_cont(0.5) WITHIN GROUP (ORDER BY price) FROM products GROUP BY category",
    "SELECT category, count(*) FILTER (WHERE price > 15) FROM products GROUP BY category",
    "SELECT category, status, sum(amount) FROM orders o JOIN products p ON p.product_id = o.product_id GROUP BY GROUPING SETS ((category), (status), ())",
    "SELECT category, count(*) FROM products GROUP BY ROLLUP (category)",
    "SELECT category, count(*) FROM products GROUP BY CUBE (category)",
    "SELECT DISTINCT ON (category) category, name, price FROM products ORDER BY category, price DESC",
    "SELECT c.name, l.total FROM customers c, LATERAL (SELECT sum(o.amount) AS total FROM orders o WHERE o.customer_id = c.customer_id) l",
    "SELECT extract(year FROM created_at), date_trunc('month', created_at), created_at + interval '3' month FROM orders",
    "SELECT substring(name FROM 1 FOR 5), upper(name), CAST(price AS int), price::numeric(10,1) FROM products",
    "SELECT CASE WHEN amount > 100 THEN 'big' ELSE 'small' END AS size, coalesce(status, '?') FROM orders",
    "SELECT region_code FROM orders UNION SELECT region_code FROM regions ORDER BY 1",
    "SELECT region_code FROM orders INTERSECT SELECT region_code FROM customers",
    "SELECT kind, count(*) FROM events WHERE pt = '20240601' GROUP BY kind",
    "SELECT kind FROM events WHERE pt IN ('20240601', '20240602') AND kind = 'view'",
    "SELECT payload ->> 'n' FROM events WHERE pt BETWEEN '20240601' AND '20240603'",
    "SELECT e.kind, c.name FROM events e JOIN customers c ON c.customer_id = e.customer_id WHERE e.pt = '20240602'",
    "SELECT name FROM products LIMIT 5",
    r"SELECT name FROM products WHERE name ~ '\d' OR name = 'a\'",
    "SELECT - -price, -(-price) FROM products",
    "SELECT name FROM products ORDER BY name LIMIT 5 OFFSET 2",
    "SELECT name FROM products FETCH FIRST 3 ROWS ONLY",
    "SELECT g, name FROM products, generate_series(1, 2) AS g",
    "SELECT name, lag(price) OVER w, lead(price) OVER w FROM products WINDOW w AS (ORDER BY price)",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT p.name FROM products p JOIN n ON n.i = p.product_id",
];

#[tokio::test]
async fn attacks_are_refused_with_exact_codes_and_change_nothing() {
    assert!(ATTACKS.len() >= 150, "corpus has {} attacks", ATTACKS.len());
    let (_db, client) = fixture_db("gate_corpus").await;
    let policy = fixture_policy();
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let facts = fixture_facts(&client, &policy).await;
    let before = fingerprint(&client).await;

    let mut failures = Vec::new();
    for (sql, expected) in ATTACKS {
        let outcome = gate.prepare(sql).and_then(|p| gate.check(p, &facts, None));
        match outcome {
            Err(e) if e.code.as_str() == *expected => {
                assert!(
                    !e.message.is_empty() && !e.hint.is_empty(),
                    "{sql}: empty message or hint"
                );
            }
            Err(e) => failures.push(format!(
                "{sql:?}: expected {expected}, got {} ({})",
                e.code, e.message
            )),
            Ok(checked) => {
                let ran = run_read_only(&client, checked.sql()).await;
                failures.push(format!(
                    "{sql:?}: expected {expected}, ACCEPTED as {:?} (ran: {:?})",
                    checked.sql(),
                    ran.map(|r| r.len())
                ));
            }
        }
    }
    let after = fingerprint(&client).await;
    assert_eq!(before, after, "the database changed");
    assert!(
        failures.is_empty(),
        "{} of {} attacks misjudged:\n{}",
        failures.len(),
        ATTACKS.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn legitimate_queries_pass_and_run() {
    let (_db, client) = fixture_db("gate_legit").await;
    let policy = fixture_policy();
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let facts = fixture_facts(&client, &policy).await;
    let mut failures = Vec::new();
    for sql in LEGITIMATE {
        match gate.prepare(sql).and_then(|p| gate.check(p, &facts, None)) {
            Ok(checked) => {
                assert_stable_rendering(checked.sql());
                if let Err(e) = run_read_only(&client, checked.sql()).await {
                    failures.push(format!("{sql:?}: rendered {:?} failed: {e}", checked.sql()));
                } else if let Err(e) = same_column_count(&client, &checked).await {
                    failures.push(format!("{sql:?}: {e}"));
                }
            }
            Err(e) => failures.push(format!(
                "{sql:?}: refused {} {} / {}",
                e.code, e.message, e.hint
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} legitimate queries failed:\n{}",
        failures.len(),
        LEGITIMATE.len(),
        failures.join("\n")
    );
}

/// Backslashes in plain literals keep their meaning after rendering.
#[tokio::test]
async fn rendered_literals_match_what_was_checked() {
    let (_db, client) = fixture_db("gate_literals").await;
    let policy = fixture_policy();
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let facts = fixture_facts(&client, &policy).await;
    let sql = r"SELECT 'a\' AS one, 'it''s' AS two, '\d' AS three FROM products LIMIT 1";
    let checked = gate
        .check(gate.prepare(sql).unwrap(), &facts, None)
        .unwrap();
    let row = &run_read_only(&client, checked.sql()).await.unwrap()[0];
    assert_eq!(row.get::<_, String>(0), r"a\");
    assert_eq!(row.get::<_, String>(1), "it's");
    assert_eq!(row.get::<_, String>(2), r"\d");
}

#[tokio::test]
async fn preview_runs_on_real_tables() {
    let (_db, client) = fixture_db("gate_preview").await;
    let policy = fixture_policy();
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let mut facts = fixture_facts(&client, &policy).await;
    facts
        .default_partitions
        .insert("public.events".into(), "20240603".into());
    for (table, _) in rules.tables() {
        let checked = gate.preview(table, &facts, Some(3)).unwrap();
        let rows = run_read_only(&client, checked.sql()).await.unwrap();
        assert!(rows.len() <= 4, "{table}");
        assert!(!checked.sql().contains("phone"), "{}", checked.sql());
    }
}
