use super::*;

#[test]
fn each_column_is_bounded_and_cut_text_trails() {
    let sql = wrap(
        "SELECT a, b FROM t -- note",
        Cut::Typed(&[Type::TEXT, Type::INT4_ARRAY]),
        10,
        101,
    );
    assert_eq!(
        sql,
        "SELECT CASE WHEN q.w1 THEN q.c1 END, CASE WHEN q.w2 THEN q.c2 END, \
         CASE WHEN NOT q.w1 OR NOT q.w2 THEN ARRAY[\
         CASE WHEN NOT q.w1 THEN pg_catalog.left(q.c1::pg_catalog.text, 10) END, \
         CASE WHEN NOT q.w2 THEN pg_catalog.left(pg_catalog.to_json(q.c2)::pg_catalog.text, 10) END\
         ]::pg_catalog.text[] END\n\
         FROM (SELECT q0.c1, q0.c2, \
         pg_catalog.octet_length(q0.c1::pg_catalog.text) <= 10 AS w1, \
         pg_catalog.octet_length(q0.c2::pg_catalog.text) <= 10 AS w2 \
         FROM (\nSELECT a, b FROM t -- note\n) AS q0 (c1, c2) OFFSET 0) AS q\nLIMIT 101"
    );
}

#[test]
fn without_types_the_server_picks_the_text_by_built_in_type() {
    let sql = wrap("SELECT a FROM t", Cut::OnServer(1), 10, 11);
    assert!(
        sql.contains(
            "CASE WHEN pg_catalog.pg_typeof(q.c1)::pg_catalog.oid = \
             ANY ('{25,1043,1042,19,18,705,17,114,3802,142}'::pg_catalog.oid[]) \
             THEN q.c1::pg_catalog.text ELSE pg_catalog.to_json(q.c1)::pg_catalog.text END"
        ),
        "{sql}"
    );
    assert!(!sql.contains("pg_type "), "no catalog lookup: {sql}");
}
