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
        pg_port: 6543,
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

#[test]
fn a_service_section_is_read_and_others_are_not() {
    let text = "# comment\n[other]\nhost=elsewhere\n\n[demo]\nhost = db.local\nport=6544\nuser= me\n[last]\nuser=x\n";
    let demo = service::section(text, "demo").unwrap();
    assert_eq!(demo.get("host").map(String::as_str), Some("db.local"));
    assert_eq!(demo.get("port").map(String::as_str), Some("6544"));
    assert_eq!(demo.get("user").map(String::as_str), Some("me"));
    assert_eq!(demo.len(), 3);
    assert!(service::section(text, "missing").is_none());
    assert!(service::section("[empty]\n", "empty").unwrap().is_empty());
}

#[test]
fn a_url_names_every_host_and_its_port() {
    let explicit = target::Explicit {
        url: Some("postgresql://alice:pw@db1:6000,db2:6001/postgres".into()),
        ..target::Explicit::default()
    };
    let found = target::candidates(&explicit, "me").unwrap();
    let named: Vec<_> = found
        .iter()
        .map(|c| {
            (
                c.host.as_str(),
                c.port,
                c.user.as_str(),
                c.password.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("db1", 6000, "alice", Some("pw")),
            ("db2", 6001, "alice", Some("pw"))
        ]
    );
    // A flag beside the URL wins over it.
    let explicit = target::Explicit {
        url: Some("host=/run/pg port=6000 user=alice".into()),
        port: Some(7000),
        ..target::Explicit::default()
    };
    let found = target::candidates(&explicit, "me").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].host.as_str(), found[0].port), ("/run/pg", 7000));

    let bad = target::Explicit {
        url: Some("postgresql://[::1".into()),
        ..target::Explicit::default()
    };
    assert!(target::candidates(&bad, "me")
        .unwrap_err()
        .contains("--pg-url"));
}

#[test]
fn the_private_marker_replaces_the_password_advice_and_the_config_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let args = DemoArgs {
        force: false,
        pg_host: "/home/me/.local/share/sqlwarden/demo-pg".into(),
        pg_port: 5432,
        pg_user: "postgres".into(),
        dbname: "sqlwarden_demo".into(),
    };
    let mut files = config_files(&args);
    let connections = &mut files[0].1;
    *connections = mark_private(connections, &args.pg_host);
    assert!(connections.contains(PRIVATE_MARKER));
    assert!(connections.contains("demo --remove"));
    assert!(!connections.contains("pg_hba.conf"));
    write_files(dir.path(), &files).unwrap();
    let config = config::load(dir.path()).unwrap();
    let crate::config::Connection::Postgres(pg) = &config.connections.connections["demo"] else {
        panic!("not postgres");
    };
    assert_eq!(pg.host, args.pg_host);
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
