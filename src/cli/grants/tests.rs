use super::*;

#[test]
fn temp_file_limit_is_set_on_the_login_in_kilobytes() {
    let safeguards = Safeguards {
        temp_file_limit_bytes: 1025,
        ..Safeguards::default()
    };
    let sql = login_caps_sql(Some("agent\"x"), &safeguards);
    assert!(
        sql.ends_with("ALTER ROLE \"agent\"\"x\" SET temp_file_limit = '2kB';"),
        "{sql}"
    );
    let template = login_caps_sql(None, &safeguards);
    assert!(template.ends_with("-- ALTER ROLE <login> SET temp_file_limit = '2kB';"));
    assert!(template.lines().all(|l| l.starts_with("--")), "{template}");
}
