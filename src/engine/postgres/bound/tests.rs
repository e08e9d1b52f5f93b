use super::*;

#[test]
fn each_column_is_bounded_and_cut_text_trails() {
    let sql = wrap("SELECT a, b FROM t -- note", 2, 10, 101);
    assert_eq!(
        sql,
        "SELECT CASE WHEN q.w1 THEN q.c1 END, CASE WHEN q.w2 THEN q.c2 END, \
         CASE WHEN NOT q.w1 OR NOT q.w2 THEN ARRAY[\
         CASE WHEN NOT q.w1 THEN pg_catalog.left(CASE WHEN \
         (SELECT t.typcategory FROM pg_catalog.pg_type AS t WHERE t.oid = pg_catalog.pg_typeof(q.c1)) \
         IN ('A', 'C', 'P') \
         THEN pg_catalog.to_json(q.c1)::pg_catalog.text ELSE q.c1::pg_catalog.text END, 10) END, \
         CASE WHEN NOT q.w2 THEN pg_catalog.left(CASE WHEN \
         (SELECT t.typcategory FROM pg_catalog.pg_type AS t WHERE t.oid = pg_catalog.pg_typeof(q.c2)) \
         IN ('A', 'C', 'P') \
         THEN pg_catalog.to_json(q.c2)::pg_catalog.text ELSE q.c2::pg_catalog.text END, 10) END\
         ]::pg_catalog.text[] END\n\
         FROM (SELECT q0.c1, q0.c2, \
         pg_catalog.octet_length(q0.c1::pg_catalog.text) <= 10 AS w1, \
         pg_catalog.octet_length(q0.c2::pg_catalog.text) <= 10 AS w2 \
         FROM (\nSELECT a, b FROM t -- note\n) AS q0 (c1, c2) OFFSET 0) AS q\nLIMIT 101"
    );
}
