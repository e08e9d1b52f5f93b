use super::*;

#[test]
fn postgres_folds_unquoted_only() {
    let f = Flavor::Postgres;
    assert_eq!(f.fold(&Ident::new("Orders")), "orders");
    assert_eq!(f.fold(&Ident::with_quote('"', "Orders")), "Orders");
    assert_eq!(
        Flavor::MaxCompute.fold(&Ident::with_quote('`', "Orders")),
        "orders"
    );
}

#[test]
fn idents_quote_when_needed() {
    assert_eq!(Flavor::Postgres.ident("orders").to_string(), "orders");
    assert_eq!(Flavor::Postgres.ident("Orders").to_string(), "\"Orders\"");
    assert_eq!(Flavor::Postgres.ident("select").to_string(), "\"select\"");
    assert_eq!(Flavor::MaxCompute.ident("a b").to_string(), "`a b`");
}

#[test]
fn system_namespaces() {
    assert!(Flavor::Postgres.is_system_namespace("pg_catalog"));
    assert!(Flavor::Postgres.is_system_namespace("PG_TOAST"));
    assert!(Flavor::Postgres.is_system_namespace("information_schema"));
    assert!(!Flavor::Postgres.is_system_namespace("public"));
    assert!(Flavor::Postgres.is_system_relation_name("pg_class"));
    assert!(Flavor::MaxCompute.is_system_namespace("Information_Schema"));
}
