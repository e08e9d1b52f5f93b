//! `sqlwarden token create|list|revoke` as an operator runs them: the
//! token is printed once and stored nowhere, the store is private, `list`
//! shows no secret, `revoke` marks the token.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn sqlwarden(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .arg("--config-dir")
        .arg(dir)
        .args(args)
        .env_remove("SQLWARDEN_CONFIG_DIR")
        .output()
        .expect("run sqlwarden")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn create(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["token", "create"];
    all.extend_from_slice(args);
    let out = sqlwarden(dir, &all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let token = stdout(&out).trim().to_owned();
    // stdout is the token and nothing else, so `$(...)` captures it.
    assert_eq!(stdout(&out), format!("{token}\n"));
    assert!(token.starts_with("sqlw_"), "{token}");
    assert!(stderr(&out).contains("only time"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(&token));
    token
}

fn list_json(dir: &Path) -> Vec<Value> {
    let out = sqlwarden(dir, &["token", "list", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str::<Value>(&stdout(&out))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn create_prints_the_token_once_and_stores_only_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let token = create(
        dir.path(),
        &[
            "--user",
            "alice",
            "--roles",
            "analyst",
            "--attr",
            "region_codes=EAST,NORTH",
            "--expires",
            "30d",
        ],
    );
    let other = create(dir.path(), &["--user", "bob", "--roles", "ops,finance"]);
    assert_ne!(token, other);
    assert_eq!(token.len(), "sqlw_".len() + 43);

    let store = dir.path().join("tokens.json");
    let text = std::fs::read_to_string(&store).unwrap();
    for secret in [&token, &other] {
        assert!(!text.contains(secret.as_str()));
        assert!(!text.contains(&secret["sqlw_".len()..]));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&store).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    let doc: Value = serde_json::from_str(&text).unwrap();
    let alice = &doc["tokens"][0];
    assert_eq!(alice["user_id"], "alice");
    assert_eq!(alice["roles"], serde_json::json!(["analyst"]));
    assert_eq!(
        alice["attributes"]["region_codes"],
        serde_json::json!(["EAST", "NORTH"])
    );
    assert_eq!(alice["sha256"].as_str().unwrap().len(), 64);
    assert!(alice["expires"].is_string());
    assert_eq!(
        doc["tokens"][1]["roles"],
        serde_json::json!(["ops", "finance"])
    );
}

#[test]
fn list_shows_no_secret_and_revoke_marks_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let empty = sqlwarden(dir.path(), &["token", "list"]);
    assert_eq!(empty.status.code(), Some(0));
    assert!(stderr(&empty).contains("No tokens"), "{}", stderr(&empty));

    let token = create(dir.path(), &["--user", "alice", "--roles", "analyst"]);
    create(dir.path(), &["--user", "bob"]);
    let listed = list_json(dir.path());
    assert_eq!(listed.len(), 2);
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("tok_"));
    assert_eq!(listed[0]["status"], "active");
    let hash = {
        let text = std::fs::read_to_string(dir.path().join("tokens.json")).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        doc["tokens"][0]["sha256"].as_str().unwrap().to_owned()
    };

    let table = sqlwarden(dir.path(), &["token", "list"]);
    assert_eq!(table.status.code(), Some(0));
    for shown in [
        stdout(&table),
        stdout(&sqlwarden(dir.path(), &["token", "list", "--json"])),
    ] {
        assert!(!shown.contains(&token), "{shown}");
        assert!(!shown.contains(&hash), "{shown}");
    }
    assert!(stdout(&table).contains(&id));
    assert!(stdout(&table).contains("alice"));

    let revoke = sqlwarden(dir.path(), &["token", "revoke", &id]);
    assert_eq!(revoke.status.code(), Some(0), "{}", stderr(&revoke));
    assert!(stderr(&revoke).contains(&id));
    let listed = list_json(dir.path());
    assert_eq!(listed[0]["status"], "revoked");
    assert!(listed[0]["revoked"].is_string());
    assert_eq!(listed[1]["status"], "active");
    assert!(stdout(&sqlwarden(dir.path(), &["token", "list"])).contains("revoked"));

    let unknown = sqlwarden(dir.path(), &["token", "revoke", "tok_0000000000000000"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("hint: "), "{}", stderr(&unknown));
    assert!(stderr(&unknown).contains("token list"));
}

#[test]
fn bad_input_is_refused_with_a_hint_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["token", "create", "--user", "alice", "--attr", "region"][..],
        &["token", "create", "--user", "alice", "--attr", "bad name=1"],
        &[
            "token",
            "create",
            "--user",
            "alice",
            "--expires",
            "2001-01-01",
        ],
        &["token", "create", "--user", "", "--roles", "x"],
    ] {
        let out = sqlwarden(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("hint: "), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
    assert!(!dir.path().join("tokens.json").exists());

    // A broken store is reported, not overwritten.
    std::fs::write(dir.path().join("tokens.json"), "not json").unwrap();
    let out = sqlwarden(dir.path(), &["token", "create", "--user", "alice"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("tokens.json")).unwrap(),
        "not json"
    );
}

#[test]
fn file_names_another_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("team").join("tokens.json");
    let store_arg = store.to_str().unwrap();
    let out = sqlwarden(
        dir.path(),
        &["token", "--file", store_arg, "create", "--user", "alice"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(store.is_file());
    assert!(!dir.path().join("tokens.json").exists());
    let out = sqlwarden(
        dir.path(),
        &["token", "list", "--json", "--file", store_arg],
    );
    let listed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
}
