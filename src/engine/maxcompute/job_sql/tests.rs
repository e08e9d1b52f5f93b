use std::time::Duration;

use super::*;

fn table(project: &str, schema: Option<&str>, name: &str) -> TableRef {
    TableRef {
        project: project.into(),
        schema: schema.map(Into::into),
        name: name.into(),
    }
}

#[test]
fn max_pt_names_the_table_inside_a_literal() {
    let two = JobSql::max_pt(&table("dw", None, "ods_orders_df")).unwrap();
    assert_eq!(two.text(), "SELECT MAX_PT('dw.ods_orders_df') AS max_pt");
    assert!(!two.names_a_schema());
    let three = JobSql::max_pt(&table("dw", Some("sales"), "t_1")).unwrap();
    assert_eq!(three.text(), "SELECT MAX_PT('dw.sales.t_1') AS max_pt");
    assert!(three.names_a_schema());
}

#[test]
fn max_pt_refuses_a_name_that_could_leave_the_literal() {
    for (project, schema, name) in [
        ("dw", None, "t') AS x; DROP TABLE t; --"),
        ("dw", None, "t\\"),
        ("d'w", None, "t"),
        ("dw", Some("s s"), "t"),
        ("dw", Some(""), "t"),
        ("dw", None, ""),
        ("dw", None, "тable"),
    ] {
        let refused = JobSql::max_pt(&table(project, schema, name)).unwrap_err();
        assert_eq!(refused.code, crate::error::ErrorCode::InternalError);
    }
}

#[test]
fn a_checked_query_runs_as_rendered() {
    let query = CheckedQuery::for_engine_tests(
        "SELECT a FROM dw.t LIMIT 11",
        10,
        100,
        1000,
        Duration::from_secs(1),
    );
    let job = JobSql::checked(&query);
    assert_eq!(job.text(), query.sql());
    assert!(!job.names_a_schema());
}
