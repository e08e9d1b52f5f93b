use super::*;

#[test]
fn each_column_is_bounded_and_cut_text_trails() {
    let sql = wrap("SELECT a, b FROM t -- note", 2, 10, 101);
    assert_eq!(
        sql,
        "SELECT CASE WHEN pg_catalog.octet_length(q.c1::pg_catalog.text) <= 10 THEN q.c1 END, \
             CASE WHEN pg_catalog.octet_length(q.c2::pg_catalog.text) <= 10 THEN q.c2 END, \
             ARRAY[CASE WHEN pg_catalog.octet_length(q.c1::pg_catalog.text) > 10 \
             THEN pg_catalog.left(CASE WHEN pg_catalog.json_typeof(pg_catalog.to_json(q.c1)) = 'string' \
             THEN q.c1::pg_catalog.text ELSE pg_catalog.to_json(q.c1)::pg_catalog.text END, 10) END, \
             CASE WHEN pg_catalog.octet_length(q.c2::pg_catalog.text) > 10 \
             THEN pg_catalog.left(CASE WHEN pg_catalog.json_typeof(pg_catalog.to_json(q.c2)) = 'string' \
             THEN q.c2::pg_catalog.text ELSE pg_catalog.to_json(q.c2)::pg_catalog.text END, 10) END]::pg_catalog.text[]\n\
             FROM (SELECT * FROM (\nSELECT a, b FROM t -- note\n) AS q0 (c1, c2) OFFSET 0) AS q\nLIMIT 101"
    );
}
