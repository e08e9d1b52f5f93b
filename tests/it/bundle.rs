//! The Claude Desktop bundle, for real: `install/bundle.sh` builds a
//! `.mcpb` from the test binary with the official packer, `mcpb validate`
//! accepts its manifest, `mcpb unpack` opens it, the official
//! `getMcpConfigForManifest` (the code Claude Desktop loads bundles with,
//! `tests/clients/bundle_config.mjs`) turns a filled-in form into the launch
//! command, and the official Python SDK (`tests/clients/bundle_client.py`)
//! drives the server that command starts, against a PostgreSQL cluster of
//! its own that asks for passwords, so the form's sensitive password is
//! really what lets the query in.
//!
//! The config directory is the demo's, with the `demo` connection written
//! at a wrong port and database: the rows prove the form's values reached
//! the connection (`SQLWARDEN_CONN_DEMO_*`, `src/config/env_fields.rs`).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::{json, Value};
use sqlwarden::cli::demo::{config_files, write_files, DemoArgs, WAREHOUSE_SQL};
use tempfile::TempDir;

use crate::support::clients;
use crate::support::pg_cluster::{Auth, PgCluster};

/// The connection the bundle's form fills in.
const CONNECTION: &str = "demo";
/// The demo's read-only login.
const LOGIN: &str = "sqlwarden_demo_ro";
const DBNAME: &str = "bundle_demo";

/// The bundle, built, validated and unpacked once per test process (packing
/// compresses the whole binary, which takes a while).
struct Unpacked {
    /// The unpacked bundle (what Claude Desktop keeps per extension).
    dir: PathBuf,
    /// What `install/bundle.sh` printed.
    build_log: String,
}

fn output_text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn bundle() -> &'static Unpacked {
    static BUNDLE: OnceLock<Unpacked> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        // Under the target directory, replaced on each run, rather than a
        // temporary directory a static would never remove.
        let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bundle");
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        let mcpb_file = work.join("sqlwarden.mcpb");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("install/bundle.sh");
        let mcpb = clients::mcpb();
        let build = Command::new(&script)
            .arg("--binary")
            .arg(env!("CARGO_BIN_EXE_sqlwarden"))
            .args(["--connection", CONNECTION])
            .arg("--out")
            .arg(&mcpb_file)
            .arg("--mcpb")
            .arg(&mcpb)
            .output()
            .unwrap();
        let build_log = output_text(&build);
        assert!(build.status.success(), "bundle.sh failed:\n{build_log}");
        assert!(mcpb_file.exists(), "{build_log}");

        let dir = work.join("unpacked");
        let unpack = Command::new(&mcpb)
            .arg("unpack")
            .arg(&mcpb_file)
            .arg(&dir)
            .output()
            .unwrap();
        assert!(unpack.status.success(), "{}", output_text(&unpack));
        // The manifest as shipped, checked again by the official validator.
        let validate = Command::new(&mcpb)
            .arg("validate")
            .arg(dir.join("manifest.json"))
            .output()
            .unwrap();
        let validated = output_text(&validate);
        assert!(validate.status.success(), "{validated}");
        assert!(
            validated.contains("Manifest schema validation passes!"),
            "{validated}"
        );
        Unpacked { dir, build_log }
    })
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(bundle().dir.join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// What Claude Desktop would launch for this filled-in form.
fn resolve(form: &Value) -> Value {
    let script = clients::node_script("bundle_config.mjs");
    let output = Command::new("node")
        .arg(&script)
        .arg(&bundle().dir)
        .arg(form.to_string())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", output_text(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A PostgreSQL cluster that asks every login for a password, with the
/// demo warehouse in database [`DBNAME`] and the demo login's password
/// set to `password`.
async fn password_server(password: &str) -> PgCluster {
    let server = PgCluster::start(Auth::Password("bundle-admin-password"));
    server
        .client("postgres")
        .await
        .batch_execute(&format!("CREATE DATABASE {DBNAME}"))
        .await
        .unwrap();
    let db = server.client(DBNAME).await;
    db.batch_execute(WAREHOUSE_SQL).await.unwrap();
    // Not a bound parameter: ALTER ROLE takes none. The test's own value.
    db.batch_execute(&format!("ALTER ROLE {LOGIN} PASSWORD '{password}'"))
        .await
        .unwrap();
    server
}

/// The demo config set with connection `demo` written where no server is,
/// so only the form's values can make it work.
fn config_dir() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let args = DemoArgs::unreachable("written_in_the_file");
    write_files(dir.path(), &config_files(&args)).unwrap();
    dir
}

fn form(config_dir: &Path, port: Value, password: &str) -> Value {
    json!({
        "config_dir": config_dir,
        "host": "127.0.0.1",
        "port": port,
        "database": DBNAME,
        "user": LOGIN,
        "password": password,
    })
}

/// Run the Python SDK client on `launch` in `mode`; `home` is the
/// server's home directory (the client passes `HOME` on, as the SDK does),
/// so the audit log lands in `home`'s data directory as it would for a
/// Claude Desktop user. Returns the report and everything printed.
fn drive(launch: &Value, mode: &str, home: &Path) -> (Value, String) {
    let launch_file = home.join("launch.json");
    std::fs::write(&launch_file, launch.to_string()).unwrap();
    let output = Command::new(clients::python())
        .arg(clients::scripts().join("bundle_client.py"))
        .arg(&launch_file)
        .arg(mode)
        .env("HOME", home)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "the Python SDK client failed:\n{stdout}\n{stderr}"
    );
    let report = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no report ({e}):\n{stdout}"));
    (report, format!("{stdout}\n{stderr}"))
}

/// The environment a launch command sets (the form's values).
fn launch_env(launch: &Value) -> impl Iterator<Item = (&String, &str)> {
    launch["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k, v.as_str().unwrap()))
}

/// Every audit record under `home`, as text.
fn audit_text(home: &Path) -> String {
    let mut text = String::new();
    let mut stack = vec![home.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                text.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    text
}

#[test]
fn the_bundle_script_builds_a_manifest_the_official_validator_accepts() {
    let unpacked = bundle();
    assert!(
        unpacked
            .build_log
            .contains("Manifest schema validation passes!"),
        "{}",
        unpacked.build_log
    );
    let manifest = manifest();
    assert_eq!(manifest["manifest_version"], "0.4");
    assert_eq!(manifest["server"]["type"], "binary");
    let exe = if cfg!(windows) {
        "sqlwarden.exe"
    } else {
        "sqlwarden"
    };
    assert_eq!(manifest["server"]["entry_point"], format!("server/{exe}"));
    assert_eq!(
        manifest["server"]["mcp_config"]["command"],
        format!("${{__dirname}}/server/{exe}")
    );
    // The binary inside runs and is the one under test.
    let version = Command::new(unpacked.dir.join("server").join(exe))
        .arg("--version")
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(version.starts_with("sqlwarden "), "{version}");
    assert_eq!(
        manifest["version"],
        version.split_whitespace().nth(1).unwrap()
    );
    let config = &manifest["user_config"];
    assert_eq!(config["password"]["sensitive"], true);
    assert_eq!(config["config_dir"]["type"], "directory");
    assert_eq!(config["port"]["type"], "number");
    for key in ["config_dir", "host", "port", "database", "user"] {
        assert_eq!(config[key]["required"], true, "{key}");
        assert_ne!(config[key]["sensitive"], true, "{key}");
    }
    // The password travels in the environment, never on the command line
    // (which other users of the machine can read).
    let args = manifest["server"]["mcp_config"]["args"].to_string();
    assert!(!args.contains("password"), "{args}");
    assert_eq!(
        manifest["server"]["mcp_config"]["env"]["SQLWARDEN_DEMO_PASSWORD"],
        "${user_config.password}"
    );
}

#[tokio::test]
async fn the_bundle_serves_rows_with_the_password_from_its_form() {
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let server = password_server(&password).await;
    let config = config_dir();
    let launch = resolve(&form(config.path(), json!(server.port()), &password));

    // What Claude Desktop launches: the bundled binary, the config dir
    // from the form, and the password only in the environment.
    let command = PathBuf::from(launch["command"].as_str().unwrap());
    assert!(command.starts_with(&bundle().dir), "{launch}");
    assert_eq!(
        launch["args"],
        json!(["--config-dir", config.path(), "serve"])
    );
    assert_eq!(launch["env"]["SQLWARDEN_DEMO_PASSWORD"], password.as_str());
    assert_eq!(
        launch["env"]["SQLWARDEN_CONN_DEMO_PORT"],
        server.port().to_string()
    );

    let home = tempfile::tempdir().unwrap();
    let (report, printed) = drive(&launch, "rows", home.path());
    assert_eq!(report["server"], "sqlwarden", "{report}");
    assert_eq!(report["sources"], json!(["demo"]), "{report}");
    assert_eq!(report["columns"], json!(["region_code", "n"]), "{report}");
    assert_eq!(
        report["rows"],
        json!([["EAST", 600], ["NORTH", 600]]),
        "{report}"
    );
    let audit = audit_text(home.path());
    assert!(audit.contains("\"run_select_sql\""), "no audit record");
    for (place, text) in [("stdout and stderr", &printed), ("the audit log", &audit)] {
        assert!(!text.contains(&password), "the password is in {place}");
    }

    // The doctor shows which fields came from the environment.
    let check = Command::new(&command)
        .args(["--config-dir"])
        .arg(config.path())
        .arg("check")
        .envs(launch_env(&launch))
        .output()
        .unwrap();
    let text = output_text(&check);
    assert!(
        text.contains("from the environment (over connections.yaml): `SQLWARDEN_CONN_DEMO_DBNAME`, `SQLWARDEN_CONN_DEMO_HOST`, `SQLWARDEN_CONN_DEMO_PORT`, `SQLWARDEN_CONN_DEMO_USER`"),
        "{text}"
    );
    assert!(
        text.contains("found in environment variable `SQLWARDEN_DEMO_PASSWORD`"),
        "{text}"
    );
    assert!(text.contains("reachable: yes"), "{text}");
    assert!(!text.contains(&password), "{text}");
}

#[tokio::test]
async fn a_wrong_password_fails_the_call_and_is_never_echoed() {
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let wrong = format!("wrong-{}", uuid::Uuid::new_v4().simple());
    let server = password_server(&password).await;
    let config = config_dir();
    let mut launch = resolve(&form(config.path(), json!(server.port()), &wrong));
    // Every log line anyone could switch on, searched too.
    launch["env"]["RUST_LOG"] = json!("trace");

    let home = tempfile::tempdir().unwrap();
    let (report, printed) = drive(&launch, "wrong-password", home.path());
    assert_eq!(report["is_error"], true, "{report}");
    assert_eq!(report["code"], "CREDENTIALS_MISSING", "{report}");
    let message = report["message"].as_str().unwrap();
    assert!(message.contains("refused"), "{message}");
    let audit = audit_text(home.path());
    assert!(
        audit.contains("\"CREDENTIALS_MISSING\""),
        "the refusal is audited"
    );
    for secret in [&wrong, &password] {
        for (place, text) in [("stdout and stderr", &printed), ("the audit log", &audit)] {
            assert!(!text.contains(secret.as_str()), "a password is in {place}");
        }
    }
}

#[test]
fn a_port_that_is_no_port_stops_the_server_with_a_config_error() {
    let config = config_dir();
    for port in [json!(70000), json!(5432.5), json!("db.example.com")] {
        let launch = resolve(&form(config.path(), port.clone(), "pw"));
        let output = Command::new(launch["command"].as_str().unwrap())
            .args(
                launch["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap()),
            )
            .envs(launch_env(&launch))
            .env("SQLWARDEN_AUDIT_DIR", config.path().join("audit"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{port}");
        assert!(output.stdout.is_empty(), "nothing but JSON-RPC on stdout");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("environment variable `SQLWARDEN_CONN_DEMO_PORT`: it sets `port` of connection `demo`, but its value is not a TCP port; expected a whole number from 1 to 65535"),
            "{port}: {stderr}"
        );
    }
}
