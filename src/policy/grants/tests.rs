use super::*;

fn plan() -> GrantPlan {
    GrantPlan {
        role: "ro\"le".into(),
        grant_to: Some("agent".into()),
        header: "sqlwarden grants for `crm`\nsecond line".into(),
        tables: vec![
            TableGrant {
                schema: "public".into(),
                table: "orders".into(),
                columns: vec!["id".into(), "Amount".into()],
            },
            TableGrant {
                schema: "odd schema".into(),
                table: "t".into(),
                columns: vec!["x".into()],
            },
            TableGrant {
                schema: "public".into(),
                table: "empty".into(),
                columns: vec![],
            },
        ],
    }
}

#[test]
fn the_script_grants_exactly_the_columns_with_every_name_quoted() {
    let sql = plan().to_sql();
    let expected = r#"-- sqlwarden grants for `crm`
-- second line
BEGIN;
DO $sqlwarden$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'ro"le') THEN
    EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', 'ro"le');
  END IF;
END
$sqlwarden$;
ALTER ROLE "ro""le" NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE "ro""le" SET default_transaction_read_only = on;
REVOKE ALL ON ALL TABLES IN SCHEMA "public" FROM "ro""le";
REVOKE CREATE ON SCHEMA "public" FROM "ro""le";
GRANT USAGE ON SCHEMA "public" TO "ro""le";
REVOKE ALL ON ALL TABLES IN SCHEMA "odd schema" FROM "ro""le";
REVOKE CREATE ON SCHEMA "odd schema" FROM "ro""le";
GRANT USAGE ON SCHEMA "odd schema" TO "ro""le";
GRANT SELECT ("id", "Amount") ON TABLE "public"."orders" TO "ro""le";
GRANT SELECT ("x") ON TABLE "odd schema"."t" TO "ro""le";
GRANT "ro""le" TO "agent";
COMMIT;
"#;
    assert_eq!(sql, expected);
}

#[test]
fn literals_and_dollar_tags_cannot_be_escaped() {
    assert_eq!(quote_literal("a'b"), "'a''b'");
    let mut p = plan();
    p.role = "x'$sqlwarden$; DROP TABLE t; --".into();
    let sql = p.to_sql();
    assert!(sql.contains("DO $sqlwarden1$"), "{sql}");
    assert!(
        sql.contains("rolname = 'x''$sqlwarden$; DROP TABLE t; --'"),
        "{sql}"
    );
}

#[test]
fn readable_columns_follow_allowed_then_denied() {
    let s = |v: &[&str]| v.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    let eq = |a: &str, b: &str| a == b;
    let db = s(&["id", "name", "phone"]);
    assert_eq!(
        readable_columns(None, &s(&["phone"]), &db, eq),
        s(&["id", "name"])
    );
    assert_eq!(
        readable_columns(Some(&s(&["name", "phone"])), &s(&["phone"]), &db, eq),
        s(&["name"])
    );
    assert_eq!(readable_columns(None, &[], &db, eq), db);
}
