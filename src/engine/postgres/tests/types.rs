//! Every common type, rendered by the engine from the real server's binary
//! values, against the JSON the type module documents; where the form is
//! PostgreSQL's own text form, against the server's text cast.

use serde_json::{json, Value};

use super::{run, Db};

async fn one(engine: &super::PostgresEngine, expr: &str) -> Value {
    let result = run(engine, &format!("SELECT {expr}"))
        .await
        .unwrap_or_else(|e| panic!("SELECT {expr}: {e:?}"));
    result.rows.to_vec()[0][0].clone()
}

#[tokio::test]
async fn scalar_types_render_losslessly() {
    let db = Db::create("types").await;
    db.client()
        .await
        .batch_execute(
            "CREATE TYPE mood AS ENUM ('sad', 'happy');
             CREATE DOMAIN positive AS numeric(10,2) CHECK (VALUE > 0);
             CREATE DOMAIN tags AS text[];",
        )
        .await
        .expect("setup");
    let engine = db.engine();
    let cases: Vec<(&str, Value)> = vec![
        ("NULL::int4", Value::Null),
        ("true", json!(true)),
        ("32767::int2", json!(32767)),
        ("(-2147483648)::int4", json!(-2_147_483_648_i64)),
        (
            "9223372036854775807::int8",
            json!(9_223_372_036_854_775_807_i64),
        ),
        ("0.1::float4", json!(0.1)),
        ("1.5e300::float8", json!(1.5e300)),
        ("'NaN'::float8", json!("NaN")),
        ("'-Infinity'::float4", json!("-Infinity")),
        ("'Infinity'::float8", json!("Infinity")),
        (
            "123456789012345678901234567890.000000000000000000001::numeric",
            json!("123456789012345678901234567890.000000000000000000001"),
        ),
        ("'NaN'::numeric", json!("NaN")),
        ("'-Infinity'::numeric", json!("-Infinity")),
        ("(-0.00012)::numeric(10,6)", json!("-0.000120")),
        ("0::numeric(5,2)", json!("0.00")),
        ("1000000::numeric", json!("1000000")),
        ("12.34::money", json!("12.34")),
        ("(-0.5)::money", json!("-0.50")),
        ("'héllo'::text", json!("héllo")),
        ("'ab'::varchar(5)", json!("ab")),
        ("'ab'::char(4)", json!("ab  ")),
        ("'pg_class'::name", json!("pg_class")),
        ("'x'::\"char\"", json!("x")),
        ("'\\x00ff10'::bytea", json!("\\x00ff10")),
        ("''::bytea", json!("\\x")),
        ("'2024-02-29'::date", json!("2024-02-29")),
        ("'infinity'::date", json!("infinity")),
        (
            "'5874897-12-31'::date",
            json!("2145031948 days after 2000-01-01"),
        ),
        ("'4713-01-01 BC'::date", json!("-4712-01-01")),
        ("'13:45:06.5'::time", json!("13:45:06.5")),
        ("'24:00'::time", json!("24:00:00")),
        ("'13:45:06+05:30'::timetz", json!("13:45:06+05:30")),
        (
            "'2024-02-29 13:45:06.123456'::timestamp",
            json!("2024-02-29T13:45:06.123456"),
        ),
        (
            "'1999-12-31 23:59:59'::timestamp",
            json!("1999-12-31T23:59:59"),
        ),
        ("'-infinity'::timestamp", json!("-infinity")),
        (
            "'2024-02-29 13:45:06+02'::timestamptz",
            json!("2024-02-29T11:45:06Z"),
        ),
        (
            "'1 year 2 mons -3 days 04:05:06.5'::interval",
            json!("P1Y2M-3DT4H5M6.5S"),
        ),
        ("'0'::interval", json!("PT0S")),
        (
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
            json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        ),
        (
            "'{\"a\": [1, 2.5, null], \"b\": \"x\"}'::json",
            json!({"a": [1, 2.5, null], "b": "x"}),
        ),
        (
            "'{\"b\": 1, \"a\": true}'::jsonb",
            json!({"a": true, "b": 1}),
        ),
        (
            "'3.141592653589793238462'::jsonb",
            json!("3.141592653589793238462"),
        ),
        ("'192.168.0.1'::inet", json!("192.168.0.1")),
        ("'192.168.0.0/24'::inet", json!("192.168.0.0/24")),
        ("'10.0.0.0/8'::cidr", json!("10.0.0.0/8")),
        ("'2001:db8::1/64'::inet", json!("2001:db8::1/64")),
        ("'08:00:2b:01:02:03'::macaddr", json!("08:00:2b:01:02:03")),
        (
            "'08:00:2b:01:02:03:04:05'::macaddr8",
            json!("08:00:2b:01:02:03:04:05"),
        ),
        ("B'1011'::bit(4)", json!("1011")),
        ("B'101100111'::varbit", json!("101100111")),
        ("'<a>x</a>'::xml", json!("<a>x</a>")),
        ("12345::oid", json!(12345)),
        ("'happy'::public.mood", json!("happy")),
        ("12.5::public.positive", json!("12.50")),
        ("ARRAY[1, NULL, 3]::int4[]", json!([1, null, 3])),
        ("ARRAY[[1, 2], [3, 4]]::int8[]", json!([[1, 2], [3, 4]])),
        ("'{}'::text[]", json!([])),
        ("ARRAY['a', NULL]::text[]", json!(["a", null])),
        ("ARRAY[1.50, NULL]::numeric[]", json!(["1.50", null])),
        ("ARRAY['2024-01-01'::date]", json!(["2024-01-01"])),
        (
            "ARRAY['happy', 'sad']::public.mood[]",
            json!(["happy", "sad"]),
        ),
        ("ARRAY['{\"k\": 1}'::jsonb]", json!([{"k": 1}])),
        ("ARRAY['\\x01'::bytea]", json!(["\\x01"])),
        ("ARRAY['10.0.0.1'::inet]", json!(["10.0.0.1"])),
        ("'{x,y}'::public.tags", json!(["x", "y"])),
    ];
    let mut failures = Vec::new();
    for (expr, expected) in cases {
        let got = one(&engine, expr).await;
        if got != expected {
            failures.push(format!("{expr}: got {got}, expected {expected}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn column_types_name_arrays_as_element_brackets() {
    let db = Db::create("typenames").await;
    let result = run(&db.engine(), "SELECT 1::int8 AS a, ARRAY['x']::text[] AS b")
        .await
        .expect("run");
    let names: Vec<_> = result
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.type_name.as_str()))
        .collect();
    assert_eq!(names, vec![("a", "int8"), ("b", "text[]")]);
}

#[tokio::test]
async fn other_types_fall_back_to_name_and_binary() {
    let db = Db::create("fallback").await;
    let engine = db.engine();
    let value = one(&engine, "'[1,5)'::int4range").await;
    assert_eq!(value["pg_type"], json!("int4range"));
    assert!(value["binary_base64"]
        .as_str()
        .is_some_and(|b| !b.is_empty()));
    let value = one(&engine, "point(1, 2)").await;
    assert_eq!(value["pg_type"], json!("point"));
}

/// Where the documented form is PostgreSQL's own text form, compare with
/// the server's text cast for many values at once.
#[tokio::test]
async fn text_forms_match_the_server() {
    let db = Db::create("textforms").await;
    let client = db.client().await;
    client
        .batch_execute(
            "SET intervalstyle = iso_8601;
             CREATE TABLE v AS SELECT
               (random() * 10 ^ (i % 30) - 10 ^ (i % 15))::numeric(60, 20) AS n,
               ((i * 37 % 100) * interval '1 month' - (i * 13 % 50) * interval '1 day'
                 + (i * 7919 % 100000) * interval '1.000731 second' * (CASE WHEN i % 2 = 0 THEN -1 ELSE 1 END)) AS iv,
               ('2000-01-01'::date + (i * 997 - 40000)) AS d,
               (time '00:00' + (i * 1234567) * interval '1 microsecond') AS t
             FROM generate_series(1, 300) AS i;",
        )
        .await
        .expect("setup");
    let engine = db.engine();
    let expected = client
        .query(
            "SELECT n::text, iv::text, d::text, t::text FROM v ORDER BY v.n",
            &[],
        )
        .await
        .expect("text forms");
    let got = run(&engine, "SELECT n, iv, d, t FROM public.v ORDER BY v.n")
        .await
        .expect("run");
    assert_eq!(got.rows.len(), expected.len());
    for (row, text) in got.rows.iter().zip(&expected) {
        for (i, cell) in row.iter().enumerate() {
            assert_eq!(cell, &json!(text.get::<_, String>(i)), "column {i}");
        }
    }
}

/// Cells written straight from their wire bytes (strings, booleans,
/// integers, numerics, dates and timestamps) make the same rows, the same
/// cut count and the same byte count as the same cells rendered as values
/// and pushed, under caps that cut nothing, some things and almost
/// everything: over real rows of every string type beside other types,
/// with escapes, control characters, multi-byte characters across the
/// cut, NULLs, empty strings, each integer type's extremes, numeric
/// `NaN` and infinities, and dates and timestamps at infinity, BC and
/// beyond the calendar library's years.
#[tokio::test]
async fn cells_written_from_their_bytes_match_their_rendered_values() {
    let db = Db::create("typeswrite").await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE t (a text, b varchar, c char(6), d name, e int, f numeric, \
               g jsonb, h text[], i xml, j bool, k int2, l int8, m date, n timestamp, \
               o timestamptz, p float8, q float4, r uuid);
             INSERT INTO t VALUES
               ('plain', 'x', 'ab', 'n', 1, 1.5, '{\"k\": \"v\"}', ARRAY['a'], '<a/>', \
                true, 32767, 9223372036854775807, '2024-02-29', '2024-02-29 23:59:59.999999', \
                '2024-02-29 23:59:59.5+05:30', 0.1, 0.1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
               (E'quote \" back \\\\ nl \\n tab \\t bell \\007 del \\177', \
                '日本語テキスト', 'é', 'ünïcödé', NULL, NULL, NULL, NULL, NULL, \
                false, -32768, -9223372036854775808, '4713-01-01 BC', '4713-01-01 00:00:00 BC', \
                '294276-12-31 23:59:59.999999+00', 'NaN', 'NaN', '00000000-0000-0000-0000-000000000000'),
               (repeat('🦀', 30), repeat('x', 5000), NULL, repeat('y', 63), -7, -0.001, \
                '[1, 2, 3]', ARRAY['long text here', NULL], '<b>text</b>', \
                NULL, 0, 0, 'infinity', '-infinity', 'infinity', '-Infinity', '-Infinity', \
                'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'),
               ('', '', '', '', 0, 'NaN', 'null', '{}', '', \
                true, 1, -1, '5874897-12-31', '294276-12-31 23:59:59.999999', \
                '-infinity', 1e308, 3.4028235e38, '{12345678-9abc-def0-1234-56789abcdef0}'),
               ('', '', '', '', -2147483648, '-Infinity', 'null', '{}', '', \
                NULL, NULL, NULL, '0001-01-01', '1999-12-31 12:00:00', \
                '1970-01-01 00:00:00+00', -0.0, -1.4e-45, NULL),
               (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
        )
        .await
        .expect("setup");
    let rows = client.query("SELECT * FROM t", &[]).await.expect("rows");
    let cut = written_matches_rendered(&rows, &[3, 5, 64, 1 << 20]);
    assert!(cut[1] > 10, "the cap of 5 cuts: {cut:?}");
}

/// The other scalar types, domains, enums and arrays: arrays of scalars
/// are written as nested JSON text and cut whole when over the cap, which
/// must match the rendered value cut the same way; arrays of other types
/// (`jsonb[]`, ranges) and other types still go through `Value`.
#[tokio::test]
async fn arrays_and_other_scalars_written_from_their_bytes_match_their_rendered_values() {
    let db = Db::create("typeswrite2").await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TYPE mood AS ENUM ('sad', 'happy');
             CREATE DOMAIN positive AS numeric(10,2) CHECK (VALUE > 0);
             CREATE DOMAIN tags AS text[];
             CREATE TABLE u (a money, b bytea, c oid, d \"char\", e time, f timetz, \
               g interval, h inet, i cidr, j macaddr, k macaddr8, l bit(4), m varbit, \
               n pg_lsn, o mood, p positive, q tags, r int4[], s text[], t float4[], \
               u uuid[], v date[], w numeric[], x bytea[], y jsonb[], z int4range, \
               aa mood[], ab bool[], ac timestamptz[], ad float8[], ae regclass, af json);
             INSERT INTO u VALUES
               ('12.34', '\\x00ff10', 12345, 'x', '13:45:06.5', '13:45:06+05:30', \
                '1 year 2 mons -3 days 04:05:06.5', '192.168.0.1', '10.0.0.0/8', \
                '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', B'1011', B'101100111', \
                '16/B374D848', 'happy', 12.5, '{x,y}', '{{1,2,3},{4,NULL,6}}', \
                ARRAY[E'quote \" back \\\\ nl \\n', NULL, '日本語', repeat('🦀', 5)], \
                '{0.1,NaN,-Infinity,3.4028235e38}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}', \
                '{2024-02-29,infinity,4713-01-01 BC}', '{1.50,NaN,-0.001}', '{\"\\\\x01\"}', \
                ARRAY['{\"k\": 1}'::jsonb, NULL], '[1,5)', '{happy,sad}', '{t,f,NULL}', \
                '{2024-02-29 13:45:06+02,-infinity}', '{1e308,-0,NaN}', 'pg_class', '{\"a\": [1, 2.5]}'),
               ('-92233720368547758.08', '', 0, '', '24:00', '00:00-14:59', '0', \
                '2001:db8::1/64', '::/0', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00', B'0000', \
                B'', '0/0', 'sad', 0.01, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', \
                'empty', '{}', '{}', '{}', '{}', '-', '[]'),
               (NULL, decode(repeat('ab', 40), 'hex'), 4294967295, NULL, NULL, NULL, \
                '-178000000 years', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                '{NULL}', '{{{1},{2}},{{3},{4}}}', ARRAY[repeat('long', 40), ''], '{NULL}', \
                NULL, '{NULL,NULL}', NULL, '{NULL}', '{NULL}', NULL, '{NULL}', '{NULL}', \
                NULL, '{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20}', NULL, NULL),
               (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
        )
        .await
        .expect("setup");
    let rows = client.query("SELECT * FROM u", &[]).await.expect("rows");
    let cut = written_matches_rendered(&rows, &[1, 3, 7, 12, 40, 64, 1 << 20]);
    assert!(cut[2] > 20, "the cap of 7 cuts: {cut:?}");
    assert_eq!(cut[6], 0, "nothing is cut under a cap of 1 MiB");
}

/// Push `rows` into two builders under each of `caps`: once written cell
/// by cell from their bytes ([`write`]), once rendered as values and
/// pushed. The rows' text, the cut count and the byte count must be the
/// same; returns the cut count under each cap.
///
/// [`write`]: crate::engine::postgres::types::write
fn written_matches_rendered(rows: &[tokio_postgres::Row], caps: &[u64]) -> Vec<u64> {
    use crate::engine::postgres::types::{render, write, RawCell};
    use crate::engine::result::ResultBuilder;
    use crate::engine::ResultColumn;

    let width = rows.first().map_or(0, |row| row.len());
    let mut cuts = Vec::new();
    for &cap in caps {
        let builder =
            || ResultBuilder::new(vec![ResultColumn::default(); width], 100, cap, 1 << 30);
        let (mut rendered, mut written) = (builder(), builder());
        for row in rows {
            let raw = |i: usize| -> Option<&[u8]> {
                row.get::<_, Option<RawCell<'_>>>(i).map(|cell| cell.0)
            };
            let cells = row
                .columns()
                .iter()
                .enumerate()
                .map(|(i, column)| render(column.type_(), raw(i)))
                .collect();
            assert!(rendered.push_cut(cells, 0));
            let pushed = written.push_with(|cells| {
                for (i, column) in row.columns().iter().enumerate() {
                    write(column.type_(), raw(i), cells);
                }
                Ok::<_, std::convert::Infallible>(())
            });
            assert_eq!(pushed, Ok(true));
        }
        let (rendered, written) = (rendered.finish(), written.finish());
        let lines = |r: &crate::engine::QueryResult| -> Vec<String> {
            r.rows.json_rows().map(str::to_owned).collect()
        };
        assert_eq!(lines(&written), lines(&rendered), "cap {cap}");
        assert_eq!(
            written.cells_truncated, rendered.cells_truncated,
            "cap {cap}"
        );
        assert_eq!(written.bytes, rendered.bytes, "cap {cap}");
        cuts.push(written.cells_truncated);
    }
    cuts
}
