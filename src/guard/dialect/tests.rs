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

/// `folded` borrows only where folding changes nothing, so it always
/// says what the engine's folding says: ASCII and non-ASCII letters,
/// titlecase (`ǅ`, not uppercase, yet lowered by MaxCompute's folding),
/// sigma, and quoted names.
#[test]
fn folded_names_are_the_engines_folding_whether_borrowed_or_not() {
    let names = [
        "orders",
        "Orders",
        "ORDERS",
        "o_orderkey",
        "PHÔNE",
        "phône",
        "ǅemal",
        "ǆemal",
        "ΣΑΣ",
        "straße",
        "İd",
        "a1_$",
        "",
    ];
    for value in names {
        for quote_style in [None, Some('"'), Some('`')] {
            let ident = Ident {
                value: value.to_string(),
                quote_style,
                span: sqlparser::tokenizer::Span::empty(),
            };
            let postgres = match quote_style {
                Some(_) => value.to_string(),
                None => value.to_ascii_lowercase(),
            };
            let maxcompute = value.to_lowercase();
            for (flavor, expected) in [
                (Flavor::Postgres, postgres),
                (Flavor::MaxCompute, maxcompute),
            ] {
                let why = format!("{flavor:?} {value} {quote_style:?}");
                assert_eq!(flavor.folded(&ident), expected, "{why}");
                assert_eq!(flavor.fold(&ident), expected, "{why}");
            }
        }
    }
}
