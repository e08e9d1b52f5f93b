//! Tests: secrets, for real: the kernel keyring (each test in its own
//! `keyctl session`, so nothing touches the user's session keyring), the
//! environment fallback (variables set only in a child process), and the
//! missing case. Connection names are unique per run because the keyutils
//! store also links keys into the per-user persistent keyring.
//!
//! Needs `keyctl` (Debian package `keyutils`).
#![allow(clippy::unwrap_used)]

use sqlwarden::config::EngineKind;
use sqlwarden::secrets::{
    self, env, MaxComputeKeys, Secret, SecretDoc, SecretSource, SecretsError,
};

use crate::support::{child, require};

/// Carries the connection name from the parent test to the child.
const NAME_VAR: &str = "SQLWARDEN_TEST_CONNECTION";

/// Every variable the lookups read, for a connection named `name`.
fn secret_vars(name: &str) -> Vec<String> {
    let mut vars: Vec<String> = [
        env::PGPASSWORD,
        env::ALIBABA_CLOUD_ACCESS_KEY_ID,
        env::ALIBABA_CLOUD_ACCESS_KEY_SECRET,
        env::ALIBABA_CLOUD_SECURITY_TOKEN,
    ]
    .map(String::from)
    .into();
    for suffix in [
        env::PASSWORD_SUFFIX,
        env::ACCESS_KEY_ID_SUFFIX,
        env::ACCESS_KEY_SECRET_SUFFIX,
        env::SECURITY_TOKEN_SUFFIX,
    ] {
        vars.push(env::connection_var(name, suffix));
    }
    vars
}

fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// A fresh kernel keyring session.
const SESSION: &[&str] = &["keyctl", "session", "-"];
/// A fresh session whose keyring is revoked before the test starts: every
/// keyring operation fails, as on a machine without a usable keyring.
const REVOKED_SESSION: &[&str] = &[
    "keyctl",
    "session",
    "-",
    "sh",
    "-c",
    "keyctl revoke @s && exec \"$0\" \"$@\"",
];

/// Run inner test `test` under `wrapper` with only `set` among the secret
/// variables.
fn run_wrapped(wrapper: &[&str], test: &str, name: &str, set: &[(&str, &str)]) {
    require::keyctl();
    let removed = secret_vars(name);
    let removed: Vec<&str> = removed.iter().map(String::as_str).collect();
    let mut vars = vec![(NAME_VAR, name)];
    vars.extend_from_slice(set);
    child::run_test(test, &vars, &removed, wrapper);
}

/// Run inner test `test` in a fresh kernel keyring session.
fn run_in_session(test: &str, name: &str, set: &[(&str, &str)]) {
    run_wrapped(SESSION, test, name, set);
}

fn name_in_child() -> Option<String> {
    child::is_child().then(|| std::env::var(NAME_VAR).unwrap())
}

#[test]
fn the_keyring_stores_reads_reports_and_deletes() {
    let name = unique_name("kr");
    run_in_session(
        "secrets::keyring_round_trip_child",
        &name,
        &[(env::PGPASSWORD, "from-the-environment")],
    );
}

#[test]
#[ignore = "run by the_keyring_stores_reads_reports_and_deletes in a keyctl session"]
fn keyring_round_trip_child() {
    let Some(name) = name_in_child() else { return };
    assert_eq!(
        secrets::status(&name, EngineKind::Postgres),
        SecretSource::Environment(env::PGPASSWORD.into())
    );
    secrets::store(
        &name,
        SecretDoc::Postgres {
            password: Secret::new("s3cret pw"),
        },
    )
    .unwrap();

    // The value really is in the kernel keyring, under sqlwarden's service.
    let found = std::process::Command::new("keyctl")
        .args(["search", "@s", "user", &format!("keyring:{name}@sqlwarden")])
        .output()
        .unwrap();
    assert!(found.status.success(), "{found:?}");

    // The keyring wins over the environment.
    let password = secrets::postgres_password(&name).unwrap().unwrap();
    assert_eq!(password.expose(), "s3cret pw");
    assert_eq!(
        secrets::status(&name, EngineKind::Postgres),
        SecretSource::Keyring
    );
    let wrong = secrets::maxcompute_keys(&name).unwrap_err();
    assert!(matches!(wrong, SecretsError::WrongKind { .. }), "{wrong:?}");
    assert!(wrong
        .hint()
        .contains(&format!("`sqlwarden auth set {name}`")));

    let mc_name = format!("{name}-mc");
    let keys = MaxComputeKeys {
        access_key_id: "LTAIexample".into(),
        access_key_secret: Secret::new("mc-secret"),
        security_token: Some(Secret::new("sts")),
    };
    secrets::store(&mc_name, SecretDoc::MaxCompute(keys.clone())).unwrap();
    assert_eq!(secrets::maxcompute_keys(&mc_name).unwrap(), Some(keys));
    assert_eq!(
        secrets::status(&mc_name, EngineKind::MaxCompute),
        SecretSource::Keyring
    );

    // Storing again replaces the value.
    secrets::store(
        &name,
        SecretDoc::Postgres {
            password: Secret::new("second"),
        },
    )
    .unwrap();
    assert_eq!(
        secrets::postgres_password(&name).unwrap().unwrap().expose(),
        "second"
    );

    assert!(secrets::delete(&name).unwrap());
    assert!(secrets::delete(&mc_name).unwrap());
    // keyutils caches lookups briefly in the process that deleted a key.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while secrets::status(&name, EngineKind::Postgres) == SecretSource::Keyring {
        assert!(
            std::time::Instant::now() < deadline,
            "deleted key still found"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        secrets::postgres_password(&name).unwrap().unwrap().expose(),
        "from-the-environment"
    );
    assert!(!secrets::delete(&name).unwrap());
}

#[test]
fn a_malformed_keyring_entry_is_an_error_with_the_fix() {
    let name = unique_name("bad");
    run_in_session("secrets::malformed_entry_child", &name, &[]);
}

#[test]
#[ignore = "run by a_malformed_keyring_entry_is_an_error_with_the_fix in a keyctl session"]
fn malformed_entry_child() {
    let Some(name) = name_in_child() else { return };
    let added = std::process::Command::new("keyctl")
        .args([
            "add",
            "user",
            &format!("keyring:{name}@sqlwarden"),
            "not json",
            "@s",
        ])
        .output()
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    let err = secrets::postgres_password(&name).unwrap_err();
    assert!(matches!(err, SecretsError::Malformed { .. }), "{err:?}");
    assert!(!err.to_string().contains("not json"));
    assert!(err.hint().contains("sqlwarden auth set"));
    assert!(secrets::delete(&name).unwrap());
}

#[test]
fn the_environment_is_the_fallback() {
    let name = unique_name("env");
    let own_password = env::connection_var(&name, env::PASSWORD_SUFFIX);
    let own_id = env::connection_var(&name, env::ACCESS_KEY_ID_SUFFIX);
    let own_secret = env::connection_var(&name, env::ACCESS_KEY_SECRET_SUFFIX);
    run_in_session(
        "secrets::environment_child",
        &name,
        &[
            (own_password.as_str(), "own-pw"),
            (env::PGPASSWORD, "shared-pw"),
            (own_id.as_str(), "own-id"),
            (own_secret.as_str(), "own-secret"),
            (env::ALIBABA_CLOUD_ACCESS_KEY_ID, "shared-id"),
            (env::ALIBABA_CLOUD_ACCESS_KEY_SECRET, "shared-secret"),
            (env::ALIBABA_CLOUD_SECURITY_TOKEN, "shared-token"),
        ],
    );
}

#[test]
#[ignore = "run by the_environment_is_the_fallback in a child process"]
fn environment_child() {
    let Some(name) = name_in_child() else { return };
    let own_password = env::connection_var(&name, env::PASSWORD_SUFFIX);
    assert_eq!(
        secrets::postgres_password(&name).unwrap().unwrap().expose(),
        "own-pw"
    );
    assert_eq!(
        secrets::status(&name, EngineKind::Postgres),
        SecretSource::Environment(own_password)
    );
    let other = format!("{name}-other");
    assert_eq!(
        secrets::postgres_password(&other)
            .unwrap()
            .unwrap()
            .expose(),
        "shared-pw"
    );

    let own = secrets::maxcompute_keys(&name).unwrap().unwrap();
    assert_eq!(own.access_key_id, "own-id");
    assert_eq!(own.access_key_secret.expose(), "own-secret");
    assert_eq!(own.security_token, None);
    let shared = secrets::maxcompute_keys(&other).unwrap().unwrap();
    assert_eq!(shared.access_key_id, "shared-id");
    assert_eq!(shared.security_token.unwrap().expose(), "shared-token");
    assert_eq!(
        secrets::status(&other, EngineKind::MaxCompute),
        SecretSource::Environment(env::ALIBABA_CLOUD_ACCESS_KEY_ID.into())
    );
}

#[test]
fn a_key_id_without_its_secret_is_an_error() {
    let name = unique_name("half");
    run_in_session(
        "secrets::incomplete_child",
        &name,
        &[(env::ALIBABA_CLOUD_ACCESS_KEY_ID, "id-only")],
    );
}

#[test]
#[ignore = "run by a_key_id_without_its_secret_is_an_error in a child process"]
fn incomplete_child() {
    let Some(name) = name_in_child() else { return };
    let err = secrets::maxcompute_keys(&name).unwrap_err();
    assert!(
        matches!(err, SecretsError::IncompleteEnvironment { .. }),
        "{err:?}"
    );
    assert!(
        err.hint().contains(env::ALIBABA_CLOUD_ACCESS_KEY_SECRET),
        "{}",
        err.hint()
    );
    assert_eq!(
        secrets::status(&name, EngineKind::MaxCompute),
        SecretSource::Missing
    );
}

#[test]
fn nothing_stored_is_missing() {
    let name = unique_name("none");
    run_in_session("secrets::missing_child", &name, &[]);
}

#[test]
#[ignore = "run by nothing_stored_is_missing in a child process"]
fn missing_child() {
    let Some(name) = name_in_child() else { return };
    assert!(secrets::postgres_password(&name).unwrap().is_none());
    assert!(secrets::maxcompute_keys(&name).unwrap().is_none());
    assert_eq!(
        secrets::status(&name, EngineKind::Postgres),
        SecretSource::Missing
    );
    assert_eq!(
        secrets::status(&name, EngineKind::MaxCompute),
        SecretSource::Missing
    );
    assert!(!secrets::delete(&name).unwrap());
    let empty = secrets::store(
        &name,
        SecretDoc::Postgres {
            password: Secret::new(""),
        },
    );
    assert!(
        matches!(empty, Err(SecretsError::EmptyValue { .. })),
        "{empty:?}"
    );
}

#[test]
fn an_unusable_keyring_reads_as_empty_and_refuses_writes_with_the_fallback() {
    let name = unique_name("revoked");
    run_wrapped(
        REVOKED_SESSION,
        "secrets::unusable_keyring_child",
        &name,
        &[(env::PGPASSWORD, "env-pw")],
    );
}

#[test]
#[ignore = "run by an_unusable_keyring_reads_as_empty_and_refuses_writes_with_the_fallback"]
fn unusable_keyring_child() {
    let Some(name) = name_in_child() else { return };
    assert_eq!(
        secrets::postgres_password(&name).unwrap().unwrap().expose(),
        "env-pw"
    );
    assert!(secrets::maxcompute_keys(&name).unwrap().is_none());
    assert_eq!(
        secrets::status(&name, EngineKind::Postgres),
        SecretSource::Environment(env::PGPASSWORD.into())
    );
    let err = secrets::store(
        &name,
        SecretDoc::Postgres {
            password: Secret::new("pw"),
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, SecretsError::KeyringUnavailable { .. }),
        "{err:?}"
    );
    let own = env::connection_var(&name, env::PASSWORD_SUFFIX);
    assert!(
        err.hint().contains(&format!("`{own}` (or `PGPASSWORD`)")),
        "{}",
        err.hint()
    );
    assert!(!err.to_string().contains("pw\""));
    let err = secrets::delete(&name).unwrap_err();
    assert!(
        matches!(err, SecretsError::KeyringUnavailable { .. }),
        "{err:?}"
    );
    assert!(
        err.hint().contains(env::ALIBABA_CLOUD_ACCESS_KEY_ID),
        "{}",
        err.hint()
    );
}

#[tokio::test]
async fn auth_status_without_a_name_lists_every_connection_without_values() {
    let fx = crate::stdio::Fixture::new("auth_status_all", "").await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .arg("--config-dir")
        .arg(fx.dir.path())
        .args(["auth", "status"])
        .env("SQLWARDEN_DEMO_PASSWORD", "s3cret-never-shown")
        .env_remove("SQLWARDEN_DOWN_PASSWORD")
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "`demo`: secret taken from environment variable `SQLWARDEN_DEMO_PASSWORD`",
            "`down`: no secret stored (`sqlwarden auth set down` stores one)",
        ]
    );
    assert!(!text.contains("s3cret"));
}
