//! Tests: config loading on real files: the example set in `config/`, every
//! error located (file, line, column), the cross-checks, and the managed
//! policy layer.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use sqlwarden::config::{self, Config, ConfigError};

use crate::support::child;

const CONNECTIONS: &str = "\
connections:
  crm:
    engine: postgres
    host: 127.0.0.1
    dbname: crm
    user: agent
  dw:
    engine: maxcompute
    endpoint: http://127.0.0.1:1/api
    project: proj
";

const POLICY: &str = "\
identity:
  user_id: alice
  roles: [manager]
  attributes: {region: [EAST]}
sources:
  crm:
    tables:
      public.orders:
        allowed_columns: [id, customer_id, region]
        row_policies:
          - role: manager
            predicate: \"region IN (${user.region})\"
      public.customers:
        denied_columns: [phone]
  dw:
    tables:
      proj.sales:
        allowed_columns: [amount, pt]
        default_partition: {field: pt, strategy: max_pt}
";

const JOINS: &str = "\
joins:
  - id: orders_customers
    source: crm
    left_table: public.orders
    right_table: public.customers
    on: [{left_field: customer_id, right_field: id}]
    approved: true
";

/// A config directory with the given files (`None` leaves one out).
fn dir_with(
    connections: Option<&str>,
    policy: Option<&str>,
    joins: Option<&str>,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(text) = connections {
        std::fs::write(dir.path().join("connections.yaml"), text).unwrap();
    }
    if let Some(text) = policy {
        std::fs::write(dir.path().join("policy.yaml"), text).unwrap();
    }
    if let Some(text) = joins {
        std::fs::create_dir_all(dir.path().join("catalog")).unwrap();
        std::fs::write(dir.path().join("catalog/joins.yaml"), text).unwrap();
    }
    dir
}

/// A managed-policy path that does not exist.
fn no_managed(dir: &Path) -> PathBuf {
    dir.join("no-managed-policy.yaml")
}

fn load(dir: &Path) -> Result<Config, Vec<ConfigError>> {
    config::load_with_managed(dir, &no_managed(dir))
}

/// `file-name:line:column: message` for each error, for assertions.
fn rendered(errors: &[ConfigError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            format!(
                "{}:{}:{}: {}",
                e.file.file_name().unwrap().to_string_lossy(),
                e.line.map_or("-".into(), |l| l.to_string()),
                e.column.map_or("-".into(), |c| c.to_string()),
                e.message
            )
        })
        .collect()
}

/// Load and expect exactly the errors whose rendered form starts with each
/// of `expected`, in order.
fn expect_errors(dir: &Path, expected: &[&str]) {
    let errors = rendered(&load(dir).expect_err("config should be refused"));
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (got, want) in errors.iter().zip(expected) {
        assert!(
            got.starts_with(want),
            "expected `{want}`, got `{got}`\nall: {errors:#?}"
        );
    }
}

#[test]
fn the_example_config_set_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let config = load(&dir).unwrap_or_else(|e| panic!("{:#?}", rendered(&e)));
    assert_eq!(config.connections.connections.len(), 2);
    assert_eq!(config.policy.sources["crm"].tables.len(), 2);
    assert_eq!(config.joins.joins.len(), 1);
    assert_eq!(config.policy_sha256.len(), 64);
    assert!(config.managed_policy.is_none());
}

#[test]
fn a_good_directory_loads_and_joins_are_optional() {
    let dir = dir_with(Some(CONNECTIONS), Some(POLICY), Some(JOINS));
    let config = load(dir.path()).unwrap_or_else(|e| panic!("{:#?}", rendered(&e)));
    assert_eq!(config.joins.joins.len(), 1);
    assert_eq!(config.dir, dir.path());
    let dir = dir_with(Some(CONNECTIONS), Some(POLICY), None);
    assert!(load(dir.path()).unwrap().joins.joins.is_empty());
}

#[test]
fn missing_required_files_name_the_file_and_the_fix() {
    let dir = dir_with(None, None, None);
    let errors = load(dir.path()).unwrap_err();
    let text = rendered(&errors);
    assert_eq!(text.len(), 2, "{text:#?}");
    assert!(
        text[0].starts_with("connections.yaml:-:-: file not found"),
        "{text:#?}"
    );
    assert!(
        text[1].starts_with("policy.yaml:-:-: file not found"),
        "{text:#?}"
    );
    assert!(errors
        .iter()
        .all(|e| e.message.contains("`sqlwarden init`")));
    assert!(errors[0]
        .to_string()
        .contains("connections.yaml: file not found"));
}

#[test]
fn unknown_keys_are_errors_at_their_position_in_every_file() {
    let connections = CONNECTIONS.replace("    user: agent\n", "    user: agent\n    pasword: x\n");
    let policy = POLICY.replace(
        "        denied_columns: [phone]\n",
        "        denied_column: [phone]\n",
    );
    let joins = JOINS.replace("    approved: true\n", "    aproved: true\n");
    let dir = dir_with(Some(&connections), Some(&policy), Some(&joins));
    expect_errors(
        dir.path(),
        &[
            "connections.yaml:7:5: unknown field `pasword`, expected one of host",
            "policy.yaml:14:9: unknown field `denied_column`",
            "joins.yaml:7:5: unknown field `aproved`",
        ],
    );
}

#[test]
fn a_bad_engine_and_a_missing_engine_are_located() {
    let connections = CONNECTIONS
        .replace("engine: postgres", "engine: mysql")
        .replace("    engine: maxcompute\n", "");
    let dir = dir_with(Some(&connections), Some(POLICY), None);
    expect_errors(
        dir.path(),
        &[
            "connections.yaml:3:13: unknown engine `mysql` for connection `crm`; expected one of `postgres`, `maxcompute`",
            "connections.yaml:8:5: connection `dw` has no `engine:`",
        ],
    );
}

#[test]
fn several_errors_in_one_file_are_all_reported() {
    let policy = format!(
        "{POLICY}defaults:\n  max_limit: many\nsecurity:\n  ban_select_star: maybe\nextra: 1\n"
    );
    let dir = dir_with(Some(CONNECTIONS), Some(&policy), None);
    expect_errors(
        dir.path(),
        &[
            "policy.yaml:21:14: invalid value: expected a whole number",
            "policy.yaml:23:20: invalid value: expected `true` or `false`",
            "policy.yaml:24:1: unknown field `extra`",
        ],
    );
}

#[test]
fn a_yaml_syntax_error_is_located() {
    let dir = dir_with(Some(CONNECTIONS), Some("sources:\n  crm: [\n"), None);
    let errors = rendered(&load(dir.path()).unwrap_err());
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].starts_with("policy.yaml:2:"), "{errors:#?}");
}

#[test]
fn policy_sources_must_be_connections() {
    let policy = POLICY.replace("  dw:\n", "  wd:\n");
    let dir = dir_with(Some(CONNECTIONS), Some(&policy), None);
    expect_errors(
        dir.path(),
        &["policy.yaml:15:3: source `wd` is not a connection in connections.yaml; did you mean `dw`?"],
    );
}

#[test]
fn table_keys_have_the_engines_shape() {
    let policy = POLICY
        .replace("public.customers:", "customers:")
        .replace("proj.sales:", "proj.a.b.sales:");
    let dir = dir_with(Some(CONNECTIONS), Some(&policy), None);
    expect_errors(
        dir.path(),
        &[
            "policy.yaml:13:7: table key `customers` of postgres source `crm` must be `schema.table`",
            "policy.yaml:17:7: table key `proj.a.b.sales` of maxcompute source `dw` must be `project.table` or `project.schema.table`",
        ],
    );
}

#[test]
fn column_rules_must_agree() {
    let policy = POLICY
        .replace(
            "allowed_columns: [id, customer_id, region]",
            "allowed_columns: [id, customer_id, region]\n        denied_columns: [note, region]",
        )
        .replace("allowed_columns: [amount, pt]", "allowed_columns: [amount]");
    let dir = dir_with(Some(CONNECTIONS), Some(&policy), None);
    expect_errors(
        dir.path(),
        &[
            "policy.yaml:10:32: column `region` is both in `allowed_columns` and in `denied_columns`",
            "policy.yaml:20:36: default partition field `pt` is not in `allowed_columns`",
        ],
    );
}

#[test]
fn tools_limits_and_placeholders_are_checked() {
    let policy = format!(
        "{}tools:\n  run_select: false\n  preview_tabel: false\ndefaults:\n  max_limit: 0\n  default_limit: 50\nsecurity:\n  max_join_tables: 0\n",
        POLICY.replace("${user.region}", "${user.team}")
    );
    let dir = dir_with(Some(CONNECTIONS), Some(&policy), None);
    expect_errors(
        dir.path(),
        &[
            "policy.yaml:22:3: unknown tool `preview_tabel` in `tools:`; did you mean `preview_table`?",
            "policy.yaml:21:3: unknown tool `run_select` in `tools:`; the tools are",
            "policy.yaml:24:14: `max_limit` must be greater than 0",
            "policy.yaml:27:20: `max_join_tables` must be at least 1",
            "policy.yaml:25:18: `default_limit` 50 is above `max_limit` 0",
            "policy.yaml:12:24: placeholder `${user.team}` names no attribute of identity `alice`",
        ],
    );
}

#[test]
fn allowed_operators_must_be_schema_and_symbol() {
    let policy = format!(
        "{POLICY}security:\n  allowed_operators: [\"<->\", Public.<->, \"public.a--b\", public.x, public.<->, \"public.<-/*\"]\n"
    );
    let dir = dir_with(Some(CONNECTIONS), Some(&policy), None);
    let errors = rendered(&load(dir.path()).expect_err("config should be refused"));
    for bad in [
        "<->",
        "Public.<->",
        "public.a--b",
        "public.x",
        "public.<-/*",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(&format!(
                "`{bad}` is not an operator name: write `schema.op`"
            ))),
            "{bad}: {errors:#?}"
        );
    }
    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert!(
        errors.iter().all(|e| e.starts_with("policy.yaml:")),
        "{errors:#?}"
    );
}

#[test]
fn a_default_limit_above_the_max_is_refused_per_source() {
    let policy = POLICY.replace(
        "  crm:\n    tables:",
        "  crm:\n    defaults: {default_limit: 5000}\n    tables:",
    );
    let dir = dir_with(Some(CONNECTIONS), Some(&policy), None);
    expect_errors(
        dir.path(),
        &["policy.yaml:7:31: `default_limit` 5000 is above `max_limit` 1000 (built-in)"],
    );
}

#[test]
fn joins_must_reference_allowed_tables_and_columns() {
    let joins = format!(
        "{JOINS}  - id: bad_source\n    source: nowhere\n    left_table: a.b\n    right_table: a.c\n    on: [{{left_field: x, right_field: y}}]\n  - id: bad_table\n    source: crm\n    left_table: public.orders\n    right_table: public.secrets\n    on: [{{left_field: region, right_field: id}}]\n  - id: bad_columns\n    source: crm\n    left_table: public.orders\n    right_table: public.customers\n    on: [{{left_field: amount, right_field: phone}}]\n"
    );
    let dir = dir_with(Some(CONNECTIONS), Some(POLICY), Some(&joins));
    expect_errors(
        dir.path(),
        &[
            "joins.yaml:9:13: join `bad_source`: source `nowhere` is not a connection",
            "joins.yaml:16:18: join `bad_table`: table `public.secrets` is not allowed for source `crm`",
            "joins.yaml:22:23: join `bad_columns`: column `amount` of `public.orders` is not allowed",
            "joins.yaml:22:44: join `bad_columns`: column `phone` of `public.customers` is not allowed",
        ],
    );
}

const MANAGED: &str = "\
defaults:
  max_limit: 50
security:
  ban_select_star: true
tools:
  run_select_sql: false
sources:
  crm:
    tables:
      public.orders:
        allowed_columns: [id, region]
";

#[test]
fn the_managed_policy_tightens_and_changes_the_hash() {
    let dir = dir_with(Some(CONNECTIONS), Some(POLICY), Some(JOINS));
    let plain = load(dir.path()).unwrap();
    let managed_path = dir.path().join("managed.yaml");
    std::fs::write(&managed_path, MANAGED).unwrap();
    let merged = config::load_with_managed(dir.path(), &managed_path)
        .unwrap_or_else(|e| panic!("{:#?}", rendered(&e)));
    assert_eq!(
        merged.managed_policy.as_deref(),
        Some(managed_path.as_path())
    );
    assert_eq!(merged.policy.defaults.max_limit, Some(50));
    assert_eq!(merged.policy.security.ban_select_star, Some(true));
    assert_eq!(merged.policy.tools.get("run_select_sql"), Some(&false));
    let crm = &merged.policy.sources["crm"].tables;
    assert_eq!(crm.keys().collect::<Vec<_>>(), vec!["public.orders"]);
    assert_eq!(
        crm["public.orders"].allowed_columns.as_deref(),
        Some(&["id".to_string(), "region".to_string()][..])
    );
    assert!(merged.policy.sources["dw"]
        .tables
        .contains_key("proj.sales"));
    assert_ne!(plain.policy_sha256, merged.policy_sha256);

    std::fs::write(&managed_path, MANAGED.replace("50", "40")).unwrap();
    let again = config::load_with_managed(dir.path(), &managed_path).unwrap();
    assert_ne!(again.policy_sha256, merged.policy_sha256);
}

#[test]
fn errors_in_the_managed_policy_name_it() {
    let dir = dir_with(Some(CONNECTIONS), Some(POLICY), None);
    let managed_path = dir.path().join("managed.yaml");
    std::fs::write(&managed_path, "defaults:\n  max_limt: 5\n").unwrap();
    let errors = config::load_with_managed(dir.path(), &managed_path).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].file, managed_path);
    assert_eq!((errors[0].line, errors[0].column), (Some(2), Some(3)));
}

#[test]
fn the_managed_policy_may_name_sources_this_user_lacks() {
    let dir = dir_with(Some(CONNECTIONS), Some(POLICY), None);
    let managed_path = dir.path().join("managed.yaml");
    std::fs::write(
        &managed_path,
        "sources:\n  finance:\n    tables:\n      x.y: {}\n",
    )
    .unwrap();
    let merged = config::load_with_managed(dir.path(), &managed_path).unwrap();
    assert!(merged.policy.sources["finance"].tables.is_empty());
}

#[test]
fn the_policy_hash_follows_the_bytes() {
    let dir = dir_with(Some(CONNECTIONS), Some(POLICY), None);
    let first = load(dir.path()).unwrap().policy_sha256;
    assert_eq!(first, load(dir.path()).unwrap().policy_sha256);
    std::fs::write(
        dir.path().join("policy.yaml"),
        format!("{POLICY}# comment\n"),
    )
    .unwrap();
    let edited = load(dir.path()).unwrap().policy_sha256;
    assert_ne!(first, edited);
    std::fs::create_dir_all(dir.path().join("catalog")).unwrap();
    std::fs::write(dir.path().join("catalog/joins.yaml"), JOINS).unwrap();
    assert_ne!(edited, load(dir.path()).unwrap().policy_sha256);
}

#[test]
fn environment_overrides_reach_load_and_resolve_dir() {
    let dir = dir_with(Some(CONNECTIONS), Some(POLICY), None);
    let managed_path = dir.path().join("managed.yaml");
    std::fs::write(&managed_path, MANAGED).unwrap();
    let dir_str = dir.path().to_str().unwrap();
    child::run_test(
        "config::environment_overrides_child",
        &[
            (config::CONFIG_DIR_ENV, dir_str),
            (
                config::managed::MANAGED_POLICY_ENV,
                managed_path.to_str().unwrap(),
            ),
        ],
        &[],
        &[],
    );
}

#[test]
#[ignore = "run by environment_overrides_reach_load_and_resolve_dir in a child process"]
fn environment_overrides_child() {
    if !child::is_child() {
        return;
    }
    let from_env = PathBuf::from(std::env::var_os(config::CONFIG_DIR_ENV).unwrap());
    assert_eq!(config::resolve_dir(None), Some(from_env.clone()));
    let explicit = Path::new("/somewhere/else");
    assert_eq!(
        config::resolve_dir(Some(explicit)),
        Some(explicit.to_path_buf())
    );
    let managed = config::managed::managed_policy_path();
    assert_eq!(
        managed,
        PathBuf::from(std::env::var_os(config::managed::MANAGED_POLICY_ENV).unwrap())
    );
    let config = config::load(&from_env).unwrap();
    assert_eq!(config.managed_policy, Some(managed));
    assert_eq!(config.policy.defaults.max_limit, Some(50));
}

#[test]
fn without_overrides_the_user_config_dir_is_used() {
    child::run_test(
        "config::default_dir_child",
        &[("HOME", "/home/someone")],
        &[
            config::CONFIG_DIR_ENV,
            "XDG_CONFIG_HOME",
            config::managed::MANAGED_POLICY_ENV,
        ],
        &[],
    );
}

#[test]
#[ignore = "run by without_overrides_the_user_config_dir_is_used in a child process"]
fn default_dir_child() {
    if !child::is_child() {
        return;
    }
    let dir = config::resolve_dir(None).unwrap();
    if cfg!(target_os = "linux") {
        assert_eq!(dir, Path::new("/home/someone/.config/sqlwarden"));
        assert_eq!(
            config::managed::managed_policy_path(),
            Path::new("/etc/sqlwarden/policy.yaml")
        );
    }
}

#[test]
fn empty_values_and_duplicate_keys_are_errors() {
    let dir = dir_with(
        Some("connections:\n"),
        Some("sources:\n  crm:\n    tables:\n      public.a: {}\n      public.a: {allowed_columns: [x]}\n"),
        Some("joins:\n  - id: j\n    source: crm\n    left_table: a.b\n    right_table: a.c\n    on:\n"),
    );
    expect_errors(
        dir.path(),
        &[
            "connections.yaml:1:1: expected `key: value` entries here",
            "policy.yaml:5:7: duplicate mapping key `public.a` is not allowed here",
            "joins.yaml:6:7: expected a list here",
        ],
    );
}

#[test]
fn a_file_that_is_not_a_mapping_is_an_error() {
    let dir = dir_with(Some(CONNECTIONS), Some("- a\n"), None);
    expect_errors(
        dir.path(),
        &["policy.yaml:1:1: expected `key: value` entries here"],
    );
}
