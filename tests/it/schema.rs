//! The config files' JSON Schemas: the committed copies match the structs,
//! every example file references its schema and validates against it (with
//! the `jsonschema` crate, as an editor would), and a typo'd key or a
//! wrong type fails validation.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sqlwarden::cli::{demo, init};
use sqlwarden::config::schema::{self, SchemaFile, HEADER_PREFIX, SCHEMA_FILES};
use sqlwarden::server::http::SERVER_SCHEMA;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn validator(schema: &SchemaFile) -> jsonschema::Validator {
    let value: Value = serde_json::from_str(schema.published).unwrap();
    jsonschema::validator_for(&value).unwrap()
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

fn errors(schema: &str, text: &str) -> Vec<String> {
    let schema = SCHEMA_FILES.iter().find(|s| s.name == schema).unwrap();
    validator(schema)
        .iter_errors(&yaml(text))
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[test]
fn committed_schemas_match_the_structs() {
    for schema in SCHEMA_FILES.iter().chain([&SERVER_SCHEMA]) {
        let path = repo().join("config/schema").join(schema.file_name);
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed == schema.generate(),
            "{} is out of date: regenerate with `cargo run -- schema --out config/schema`",
            path.display()
        );
    }
}

#[test]
fn schemas_carry_doc_comments_and_refuse_unknown_keys() {
    for schema in SCHEMA_FILES.iter().chain([&SERVER_SCHEMA]) {
        let value: Value = serde_json::from_str(schema.published).unwrap();
        assert_eq!(value["additionalProperties"], false, "{}", schema.name);
        assert!(value["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let policy: Value =
        serde_json::from_str(schema::for_config_file("policy.yaml").unwrap().published).unwrap();
    let limits = &policy["$defs"]["Limits"];
    assert_eq!(limits["additionalProperties"], false);
    assert_eq!(
        limits["properties"]["max_limit"]["description"],
        "Most rows any query returns."
    );
}

/// Every example YAML in the repository: `config/` and `config/demo/`.
fn example_files() -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in [
        "config",
        "config/catalog",
        "config/demo",
        "config/demo/catalog",
    ] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_example_file_points_at_its_schema() {
    let files = example_files();
    assert_eq!(files.len(), 12);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap();
        let target = first
            .strip_prefix(HEADER_PREFIX)
            .unwrap_or_else(|| panic!("{}: no schema header", path.display()));
        let resolved = path.parent().unwrap().join(target);
        let published = std::fs::read_to_string(&resolved)
            .unwrap_or_else(|e| panic!("{}: {target}: {e}", path.display()));
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".yaml", "");
        assert!(
            resolved.ends_with(format!("{name}.schema.json")),
            "{}",
            path.display()
        );
        assert!(SCHEMA_FILES.iter().any(|s| s.published == published));
    }
}

#[test]
fn every_example_file_validates_against_its_schema() {
    let args = demo::DemoArgs {
        force: false,
        pg_host: "127.0.0.1".into(),
        pg_port: 6543,
        pg_user: "postgres".into(),
        dbname: "sqlwarden_demo".into(),
    };
    let demo_files = demo::config_files(&args);
    let examples = init::EXAMPLE_FILES
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .chain(
            demo_files
                .into_iter()
                .map(|(p, c)| (p.to_string_lossy().into_owned(), c)),
        );
    let mut checked = 0;
    for (relative, contents) in examples {
        let Some(schema) = schema::for_config_file(&relative) else {
            assert!(relative.starts_with("schema/"), "{relative} has no schema");
            continue;
        };
        let problems: Vec<String> = validator(schema)
            .iter_errors(&yaml(&contents))
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(problems.is_empty(), "{relative}: {problems:?}");
        checked += 1;
    }
    assert_eq!(checked, 12);
}

#[test]
fn a_typo_or_a_wrong_type_fails_validation() {
    let typo = errors("policy", "defaults:\n  default_limt: 10\n");
    assert!(typo.iter().any(|e| e.contains("default_limt")), "{typo:?}");
    let wrong_type = errors(
        "connections",
        "connections:\n  crm:\n    engine: postgres\n    host: db\n    port: \"five\"\n    dbname: crm\n    user: ro\n",
    );
    assert!(!wrong_type.is_empty());
    let unknown_engine = errors("connections", "connections:\n  x:\n    engine: mysql\n");
    assert!(!unknown_engine.is_empty());
    let bad_grain = errors(
        "metrics",
        "metrics:\n  - name: m\n    domain: d\n    description: x\n    base_table: public.t\n    expression: count(*)\n    time_dimension: {column: c, grains: [fortnight]}\n",
    );
    assert!(!bad_grain.is_empty());
    let join_typo = errors(
        "joins",
        "joins:\n  - id: j\n    source: s\n    left_table: a\n    right_table: b\n    on: [{left_field: x, rigth_field: y}]\n",
    );
    assert!(
        join_typo.iter().any(|e| e.contains("rigth_field")),
        "{join_typo:?}"
    );
    assert!(errors("terms", "terms:\n  - name: t\n    definition: d\n").is_empty());
    assert!(!errors("domains", "domains:\n  - {name: d, owners: x}\n").is_empty());
}

#[test]
fn init_writes_schemas_that_the_headers_resolve_to() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .arg("--config-dir")
        .arg(dir.path())
        .arg("init")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for schema in SCHEMA_FILES {
        let file = dir.path().join(schema.config_file);
        let text = std::fs::read_to_string(&file).unwrap();
        let target = text
            .lines()
            .next()
            .unwrap()
            .strip_prefix(HEADER_PREFIX)
            .unwrap();
        let written = std::fs::read_to_string(file.parent().unwrap().join(target)).unwrap();
        assert_eq!(written, schema.published);
    }
}

#[test]
fn the_schema_command_prints_one_schema_and_refuses_unknown_names() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["schema", "joins"]);
    assert_eq!(out.status.code(), Some(0));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["title"], "JoinsFile");
    let bad = run(&["schema", "nope"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("connections, policy"));
}
