use super::*;

#[test]
fn predicate_columns_skip_placeholders_and_literals() {
    assert_eq!(
        predicate_identifiers(
            Flavor::Postgres,
            "region_code IN (${user.region_codes}) AND o.\"Owner\" = 'x' OR lower(Status) = ${user.s}"
        ),
        ["region_code", "Owner", "status"]
    );
    assert!(predicate_identifiers(Flavor::Postgres, "((").is_empty());
    assert_eq!(without_placeholders("a = ${x"), "a = ${x");
}
