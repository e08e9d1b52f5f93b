use super::*;

fn parse(text: &str) -> Result<ServerFile, Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(SERVER_FILE), text).unwrap();
    match load(dir.path()) {
        Ok(file) => Ok(file.unwrap()),
        Err(errors) => Err(errors.iter().map(ToString::to_string).collect()),
    }
}

#[test]
fn a_missing_file_is_none_and_defaults_fill_every_limit() {
    let dir = tempfile::tempdir().unwrap();
    assert!(load(dir.path()).unwrap().is_none());
    let file = parse("auth: {}\n").unwrap();
    let limits = file.limits.resolve();
    assert_eq!(limits.max_body_bytes, 1 << 20);
    assert_eq!(limits.max_calls_per_identity, 16);
    assert_eq!(file.sessions, SessionMode::Stateful);
}

#[test]
fn unknown_keys_and_bad_values_are_located_errors() {
    let errors = parse("listen: 127.0.0.1:8080\nlimts: {}\nauth: {}\n").unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("server.yaml:2"), "{errors:?}");
    assert!(errors[0].contains("limts"), "{errors:?}");
    let errors = parse(
        "listen: nowhere\nallowed_origins: [evil]\nlimits: {max_sessions: 0, idle_timeout_seconds: 5}\n",
    )
    .unwrap_err();
    let text = errors.join("\n");
    for expected in [
        "`listen: nowhere`",
        "`evil`",
        "max_sessions",
        "idle_timeout_seconds",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
}
