use super::*;

#[test]
fn connection_template_is_filled() {
    let args = DemoArgs {
        force: false,
        pg_host: "db.local".into(),
        pg_port: 6543,
        pg_user: "me".into(),
        dbname: "demo_x".into(),
    };
    let files = config_files(&args);
    let connections = &files[0].1;
    assert!(connections.contains("host: \"db.local\""));
    assert!(connections.contains("port: 6543"));
    assert!(connections.contains("dbname: \"demo_x\""));
    // The admin login loads the data; queries run as the demo login.
    assert!(connections.contains(&format!("user: {DEMO_LOGIN}")));
    assert!(!connections.contains("\"me\""));
    assert!(!connections.contains("{{"));
}

#[test]
fn the_demo_catalog_is_valid_against_the_demo_policy() {
    let dir = tempfile::tempdir().unwrap();
    let args = DemoArgs {
        force: false,
        pg_host: "127.0.0.1".into(),
        pg_port: 5432,
        pg_user: "postgres".into(),
        dbname: "sqlwarden_demo".into(),
    };
    write_files(dir.path(), &config_files(&args)).unwrap();
    let config = config::load(dir.path()).unwrap();
    let policy = crate::policy::Policy::new(config);
    let catalog = crate::semantic::check_catalog(&policy).unwrap();
    assert_eq!(catalog.domains.domains.len(), 2);
    assert_eq!(catalog.metrics.metrics.len(), 5);
    let terms = &catalog.terms.terms;
    assert!(terms.len() >= 5);
    let cjk = |t: &str| t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    assert!(terms.iter().any(|t| cjk(&t.name)));
    assert!(terms.iter().any(|t| !cjk(&t.name)));
}

#[test]
fn database_names_are_plain_identifiers() {
    assert!(valid_identifier("sqlwarden_demo"));
    assert!(!valid_identifier("x; DROP DATABASE postgres"));
    assert!(!valid_identifier("Demo"));
    assert!(!valid_identifier(""));
}

/// The printed commands name this binary by its absolute path unless
/// `sqlwarden` on `PATH` is this very file.
#[test]
fn commands_use_the_absolute_path_unless_path_finds_this_binary() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("sqlwarden");
    std::fs::write(&exe, "").unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let other = elsewhere.path().join("sqlwarden");
    std::fs::write(&other, "").unwrap();
    let path_with = std::env::join_paths([elsewhere.path(), dir.path()]).unwrap();
    assert_eq!(
        invocation(Some(&exe), Some(&path_with)),
        exe.display().to_string(),
        "another sqlwarden comes first on PATH"
    );
    let path_this = std::env::join_paths([dir.path()]).unwrap();
    assert_eq!(invocation(Some(&exe), Some(&path_this)), "sqlwarden");
    assert_eq!(invocation(Some(&exe), None), exe.display().to_string());
}

#[test]
fn shell_words_are_quoted_when_needed() {
    assert_eq!(shell_quote("/usr/bin/sqlwarden"), "/usr/bin/sqlwarden");
    assert_eq!(shell_quote("/My Apps/sqlwarden"), "'/My Apps/sqlwarden'");
    assert_eq!(shell_quote("/it's/x"), "'/it'\\''s/x'");
    assert_eq!(shell_quote(""), "''");
}
