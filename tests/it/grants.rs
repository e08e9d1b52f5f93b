//! `sqlwarden grants --emit-sql` applied to the real PostgreSQL: the role it
//! creates reads exactly the allowed columns and nothing else, cannot write
//! or create, and applying the script twice (or after policy shrank) leaves
//! exactly what policy says.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use tokio_postgres::Client;

use crate::support::pg::{self, TestDb};

const SCHEMA_SQL: &str = r#"CREATE TABLE public.orders (id int PRIMARY KEY, amount numeric, card text);
CREATE TABLE public.customers (customer_id int PRIMARY KEY, name text, phone text);
CREATE TABLE public.secrets (k text);
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."we""ird" ("Mixed Col" int, hidden int);
INSERT INTO public.orders VALUES (1, 9.5, '4111');
INSERT INTO public.customers VALUES (1, 'Ann', '555');
INSERT INTO "Odd Schema"."we""ird" VALUES (7, 8);"#;

const POLICY: &str = "sources:\n  crm:\n    tables:\n      public.orders:\n        allowed_columns: [id, amount]\n      public.customers:\n        denied_columns: [phone]\n      Odd Schema.we\"ird:\n        allowed_columns: [Mixed Col]\n";

fn write_config(dir: &Path, db: &TestDb, policy: &str) {
    std::fs::write(
        dir.join("connections.yaml"),
        format!(
            "connections:\n  crm:\n    engine: postgres\n    host: {}\n    port: {}\n    dbname: {}\n    user: postgres\n    sslmode: disable\n",
            pg::host(),
            pg::port(),
            db.name
        ),
    )
    .unwrap();
    std::fs::write(dir.join("policy.yaml"), policy).unwrap();
}

async fn emit(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .arg("--config-dir")
        .arg(dir)
        .arg("grants")
        .args(args)
        .env("SQLWARDEN_AUDIT_DIR", dir.join("audit"))
        .env_remove("PGPASSWORD")
        .env_remove("SQLWARDEN_CONFIG_DIR")
        .output()
        .await
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run `sql` as `role` (via SET ROLE) and return the SQLSTATE of the
/// failure, or `None` when it worked.
async fn as_role(client: &Client, role: &str, sql: &str) -> Option<String> {
    client
        .batch_execute(&format!("BEGIN; SET LOCAL ROLE \"{role}\""))
        .await
        .unwrap();
    let result = client.batch_execute(sql).await;
    client.batch_execute("ROLLBACK").await.unwrap();
    result.err().map(|e| {
        e.code()
            .map(|c| c.code().to_owned())
            .unwrap_or_else(|| e.to_string())
    })
}

const DENIED: Option<&str> = Some("42501");

#[tokio::test]
async fn the_emitted_role_reads_exactly_the_allowed_columns_and_cannot_write() {
    let db = TestDb::create("grants").await;
    let admin = db.client().await;
    admin.batch_execute(SCHEMA_SQL).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &db, POLICY);
    let role = format!("sqlwarden ro'{}", std::process::id());
    let login = format!("sqlwarden_agent_{}", std::process::id());
    pg::connect("postgres")
        .await
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS \"{login}\"; CREATE ROLE \"{login}\" LOGIN"
        ))
        .await
        .unwrap();

    let (code, sql, err) = emit(
        dir.path(),
        &["--emit-sql", "--role", &role, "--grant-to", &login],
    )
    .await;
    assert_eq!(code, Some(0), "{err}");
    assert!(
        sql.contains(r#"GRANT SELECT ("customer_id", "name") ON TABLE "public"."customers""#),
        "{sql}"
    );
    // Twice: the script is idempotent.
    admin
        .batch_execute(&sql)
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{sql}"));
    admin
        .batch_execute(&sql)
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{sql}"));

    let attributes = admin
        .query_one(
            "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, \
             pg_catalog.array_to_string(rolconfig, ',') FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[&role],
        )
        .await
        .unwrap();
    assert!(!attributes.get::<_, bool>(0));
    for i in 1..5 {
        assert!(!attributes.get::<_, bool>(i), "attribute {i}");
    }
    assert_eq!(
        attributes.get::<_, String>(5),
        "default_transaction_read_only=on"
    );
    let member: bool = admin
        .query_one(
            "SELECT pg_catalog.pg_has_role($1, $2, 'MEMBER')",
            &[&login, &role],
        )
        .await
        .unwrap()
        .get(0);
    assert!(member);
    // The login's temporary files are capped where it cannot raise them.
    let login_config: String = admin
        .query_one(
            "SELECT pg_catalog.array_to_string(rolconfig, ',') FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[&login],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(login_config, "temp_file_limit=1048576kB");

    for readable in [
        "SELECT id, amount FROM public.orders",
        "SELECT customer_id, name FROM public.customers",
        r#"SELECT "Mixed Col" FROM "Odd Schema"."we""ird""#,
    ] {
        assert_eq!(as_role(&admin, &role, readable).await, None, "{readable}");
    }
    for refused in [
        "SELECT card FROM public.orders",
        "SELECT * FROM public.orders",
        "SELECT phone FROM public.customers",
        "SELECT k FROM public.secrets",
        r#"SELECT hidden FROM "Odd Schema"."we""ird""#,
        "INSERT INTO public.orders (id) VALUES (2)",
        "UPDATE public.orders SET amount = 0",
        "DELETE FROM public.customers",
        "TRUNCATE public.orders",
        "CREATE TABLE public.mine (x int)",
        r#"CREATE TABLE "Odd Schema".mine (x int)"#,
        "CREATE SCHEMA mine",
    ] {
        assert_eq!(
            as_role(&admin, &role, refused).await.as_deref(),
            DENIED,
            "{refused}"
        );
    }

    // Policy shrinks: applying the new script takes the old grants away.
    write_config(
        dir.path(),
        &db,
        "sources:\n  crm:\n    tables:\n      public.orders:\n        allowed_columns: [id]\n",
    );
    let (code, sql, err) = emit(dir.path(), &["--emit-sql", "--role", &role]).await;
    assert_eq!(code, Some(0), "{err}");
    admin.batch_execute(&sql).await.unwrap();
    assert_eq!(
        as_role(&admin, &role, "SELECT id FROM public.orders").await,
        None
    );
    assert_eq!(
        as_role(&admin, &role, "SELECT amount FROM public.orders")
            .await
            .as_deref(),
        DENIED
    );
    assert_eq!(
        as_role(&admin, &role, "SELECT name FROM public.customers")
            .await
            .as_deref(),
        DENIED
    );

    admin
        .batch_execute(&format!(
            "DROP OWNED BY \"{role}\"; DROP OWNED BY \"{login}\""
        ))
        .await
        .unwrap();
    drop(admin);
    drop(db);
    pg::connect("postgres")
        .await
        .batch_execute(&format!("DROP ROLE \"{role}\"; DROP ROLE \"{login}\""))
        .await
        .unwrap();
}

#[tokio::test]
async fn grants_needs_emit_sql_a_postgres_source_and_existing_tables() {
    let db = TestDb::create("grants_refusals").await;
    db.client().await.batch_execute(SCHEMA_SQL).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &db, POLICY);

    let (code, _, err) = emit(dir.path(), &[]).await;
    assert_eq!(code, Some(2));
    assert!(
        err.contains("hint: Run `sqlwarden grants --emit-sql`"),
        "{err}"
    );

    let (code, _, err) = emit(dir.path(), &["--emit-sql", "--source", "nope"]).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("`crm`"), "{err}");

    write_config(
        dir.path(),
        &db,
        "sources:\n  crm:\n    tables:\n      public.gone:\n        denied_columns: [x]\n",
    );
    let (code, out, err) = emit(dir.path(), &["--emit-sql"]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.is_empty());
    assert!(
        err.contains("`public.gone`") && err.contains("hint:"),
        "{err}"
    );

    write_config(
        dir.path(),
        &db,
        "sources:\n  crm:\n    tables:\n      public.orders:\n        allowed_columns: [id, renamed]\n",
    );
    let (code, out, err) = emit(dir.path(), &["--emit-sql"]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.is_empty());
    assert!(err.contains("Column `renamed` of `public.orders`"), "{err}");

    std::fs::write(
        dir.path().join("connections.yaml"),
        "connections:\n  dw:\n    engine: maxcompute\n    endpoint: http://127.0.0.1:1/api\n    project: demo\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("policy.yaml"), "sources: {}\n").unwrap();
    let (code, out, err) = emit(dir.path(), &["--emit-sql", "--source", "dw"]).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(err.contains("only be emitted for PostgreSQL"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}
