use super::*;

#[test]
fn dangerous_functions_are_not_listed() {
    for name in [
        "pg_sleep",
        "pg_read_file",
        "pg_read_binary_file",
        "pg_ls_dir",
        "pg_stat_file",
        "lo_import",
        "lo_export",
        "lo_get",
        "dblink",
        "dblink_exec",
        "set_config",
        "current_setting",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "nextval",
        "setval",
        "pg_advisory_lock",
        "query_to_xml",
        "xpath",
        "txid_current",
        "version",
        "current_user",
        "pg_backend_pid",
    ] {
        assert!(!function_allowed(Flavor::Postgres, name), "{name}");
    }
}

#[test]
fn analytics_functions_are_listed() {
    for name in [
        "count",
        "percentile_cont",
        "row_number",
        "date_trunc",
        "coalesce",
        "unnest",
    ] {
        assert!(function_allowed(Flavor::Postgres, name), "{name}");
    }
    assert!(function_allowed(Flavor::MaxCompute, "datetrunc"));
    assert!(!function_allowed(Flavor::Postgres, "datetrunc"));
}

#[test]
fn casts_to_catalog_types_are_refused() {
    assert!(!cast_allowed(&DataType::Regclass));
    assert!(cast_allowed(&DataType::Text));
    assert!(!cast_allowed(&DataType::Custom(
        sqlparser::ast::ObjectName::from(vec![sqlparser::ast::Ident::new("regproc")]),
        vec![]
    )));
}

#[test]
fn custom_operators_are_refused() {
    assert!(!binary_operator_allowed(
        Flavor::Postgres,
        &BinaryOperator::PGCustomBinaryOperator(vec!["pg_catalog".into(), "+".into()])
    ));
    assert!(!binary_operator_allowed(
        Flavor::Postgres,
        &BinaryOperator::Custom("===".into())
    ));
    assert!(binary_operator_allowed(
        Flavor::Postgres,
        &BinaryOperator::Eq
    ));
    assert!(binary_operator_allowed(
        Flavor::Postgres,
        &BinaryOperator::HashArrow
    ));
    assert!(!binary_operator_allowed(
        Flavor::MaxCompute,
        &BinaryOperator::HashArrow
    ));
}
