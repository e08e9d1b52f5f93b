use super::*;

fn prelude(role: Option<&str>, timeout: Duration, temp: bool) -> String {
    let safeguards = Safeguards {
        allow_privileged_login: false,
        work_mem_bytes: 8 * 1024 * 1024 + 1,
        temp_file_limit_bytes: 1 << 30,
    };
    Prelude::new(role, timeout, &safeguards, temp).sql()
}

#[test]
fn role_is_quoted_and_timeouts_are_milliseconds() {
    let sql = prelude(
        Some(r#"ro"; DROP TABLE t; --"#),
        Duration::from_secs(2),
        false,
    );
    assert_eq!(
        sql,
        "SET LOCAL statement_timeout = 2000; SET LOCAL lock_timeout = 2000; \
             SET LOCAL idle_in_transaction_session_timeout = 2000; \
             SET LOCAL work_mem = 8193; \
             SET LOCAL search_path = pg_catalog; \
             SET LOCAL ROLE \"ro\"\"; DROP TABLE t; --\""
    );
}

#[test]
fn temp_file_limit_only_where_the_login_may_set_it() {
    let sql = prelude(None, Duration::from_secs(1), true);
    assert!(
        sql.ends_with("; SET LOCAL temp_file_limit = 1048576"),
        "{sql}"
    );
    assert!(!prelude(None, Duration::from_secs(1), false).contains("temp_file_limit"));
}

#[test]
fn caps_stay_within_what_postgres_accepts() {
    let tiny = Safeguards {
        allow_privileged_login: false,
        work_mem_bytes: 1,
        temp_file_limit_bytes: u64::MAX,
    };
    let sql = Prelude::new(None, Duration::from_secs(1), &tiny, true).sql();
    assert!(sql.contains("work_mem = 64;"), "{sql}");
    assert!(sql.contains("temp_file_limit = 2147483647"), "{sql}");
}

#[test]
fn zero_timeout_is_not_unlimited() {
    assert!(prelude(None, Duration::ZERO, false).contains("statement_timeout = 1;"));
}
