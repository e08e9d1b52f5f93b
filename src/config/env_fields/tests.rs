use std::ffi::OsString;
use std::path::Path;

use super::{apply, field_var, ConnField, EnvField};
use crate::config::parse;
use crate::config::{Connection, ConnectionsFile, PostgresConnection, SslMode};

const FILE: &str = "\
connections:
  warehouse:
    engine: postgres
    host: 127.0.0.1
    dbname: placeholder
    user: placeholder
  pinned:
    engine: postgres
    host: 127.0.0.1
    dbname: crm
    user: agent
    sslmode: disable
  conn_x:
    engine: postgres
    host: 127.0.0.1
    dbname: crm
    user: agent
  dw:
    engine: maxcompute
    endpoint: https://service.cn-hangzhou.maxcompute.aliyun.com/api
    project: p
";

fn run(vars: &[(&str, &str)]) -> (ConnectionsFile, Result<Vec<EnvField>, Vec<String>>) {
    let file = Path::new("connections.yaml");
    let mut connections = parse::connections(file, FILE).unwrap();
    let vars = vars
        .iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
    let result = apply(file, FILE, &mut connections, vars)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect());
    (connections, result)
}

fn pg<'a>(connections: &'a ConnectionsFile, name: &str) -> &'a PostgresConnection {
    match &connections.connections[name] {
        Connection::Postgres(pg) => pg,
        Connection::Maxcompute(_) => panic!("{name} is not postgres"),
    }
}

fn one_error(vars: &[(&str, &str)]) -> String {
    let (_, result) = run(vars);
    let errors = result.expect_err("refused");
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors[0].clone()
}

#[test]
fn every_field_is_replaced_and_reported_by_variable_name() {
    let (connections, result) = run(&[
        ("SQLWARDEN_CONN_WAREHOUSE_USER", "analyst"),
        ("SQLWARDEN_CONN_WAREHOUSE_HOST", "127.0.0.2"),
        ("SQLWARDEN_CONN_WAREHOUSE_PORT", "6543"),
        ("SQLWARDEN_CONN_WAREHOUSE_DBNAME", "sales"),
    ]);
    let applied = result.unwrap();
    let warehouse = pg(&connections, "warehouse");
    assert_eq!(
        (
            warehouse.host.as_str(),
            warehouse.port,
            warehouse.dbname.as_str(),
            warehouse.user.as_str()
        ),
        ("127.0.0.2", 6543, "sales", "analyst")
    );
    let vars: Vec<&str> = applied.iter().map(|a| a.variable.as_str()).collect();
    assert_eq!(
        vars,
        [
            "SQLWARDEN_CONN_WAREHOUSE_DBNAME",
            "SQLWARDEN_CONN_WAREHOUSE_HOST",
            "SQLWARDEN_CONN_WAREHOUSE_PORT",
            "SQLWARDEN_CONN_WAREHOUSE_USER"
        ]
    );
    assert!(applied.iter().all(|a| a.connection == "warehouse"));
    // The other connections are untouched.
    assert_eq!(pg(&connections, "pinned").dbname, "crm");
}

#[test]
fn the_variable_names_follow_the_secret_variables_rule() {
    assert_eq!(
        field_var("crm-eu", ConnField::Host),
        "SQLWARDEN_CONN_CRM_EU_HOST"
    );
    assert_eq!(
        field_var("dw.1", ConnField::Dbname),
        "SQLWARDEN_CONN_DW_1_DBNAME"
    );
}

#[test]
fn a_new_remote_host_gets_verify_full_unless_the_file_chose_an_sslmode() {
    let (connections, result) = run(&[
        ("SQLWARDEN_CONN_WAREHOUSE_HOST", "db.example.com"),
        ("SQLWARDEN_CONN_PINNED_HOST", "db.example.com"),
    ]);
    result.unwrap();
    // Loopback defaulted to `prefer`; the remote host must not inherit it.
    assert_eq!(pg(&connections, "warehouse").sslmode, SslMode::VerifyFull);
    // What the user wrote stays.
    assert_eq!(pg(&connections, "pinned").sslmode, SslMode::Disable);
}

#[test]
fn empty_variables_count_as_unset() {
    let (connections, result) = run(&[
        ("SQLWARDEN_CONN_WAREHOUSE_HOST", ""),
        ("SQLWARDEN_CONN_WAREHOUSE_PORT", ""),
    ]);
    assert_eq!(result.unwrap(), []);
    assert_eq!(pg(&connections, "warehouse").host, "127.0.0.1");
    assert_eq!(pg(&connections, "warehouse").port, 5432);
}

#[test]
fn a_bad_port_is_a_config_error_that_says_what_a_port_is() {
    for bad in ["abc", "0", "65536", "5432.5", "-1", " 5432"] {
        let error = one_error(&[("SQLWARDEN_CONN_WAREHOUSE_PORT", bad)]);
        assert!(
            error.starts_with("connections.yaml: environment variable `SQLWARDEN_CONN_WAREHOUSE_PORT`: it sets `port` of connection `warehouse`, but its value is not a TCP port; expected a whole number from 1 to 65535"),
            "{bad}: {error}"
        );
    }
    // The value is not echoed: a misplaced password must not end up in a log.
    let error = one_error(&[("SQLWARDEN_CONN_WAREHOUSE_PORT", "hunter2")]);
    assert!(!error.contains("hunter2"), "{error}");
}

#[test]
fn a_variable_for_a_connection_the_file_does_not_define_is_refused() {
    let error = one_error(&[("SQLWARDEN_CONN_WAREHOSUE_HOST", "db")]);
    assert!(error.contains("`SQLWARDEN_CONN_WAREHOSUE_HOST`"), "{error}");
    assert!(
        error.contains("defines no connection named `warehosue`"),
        "{error}"
    );
    assert!(
        error.contains("`warehouse` (SQLWARDEN_CONN_WAREHOUSE_HOST)"),
        "{error}"
    );
}

#[test]
fn a_maxcompute_connection_takes_no_fields() {
    let error = one_error(&[("SQLWARDEN_CONN_DW_HOST", "db")]);
    assert!(
        error.contains("connection `dw` is a MaxCompute connection"),
        "{error}"
    );
}

#[test]
fn a_misspelt_field_is_refused_but_a_secret_variable_is_left_to_the_secrets() {
    let error = one_error(&[("SQLWARDEN_CONN_WAREHOUSE_DATABASE", "sales")]);
    assert!(error.contains("names no connection field"), "{error}");
    assert!(error.contains("SQLWARDEN_CONN_<NAME>_DBNAME"), "{error}");
    // `SQLWARDEN_CONN_X_PASSWORD` is connection `conn_x`'s password.
    let (_, result) = run(&[("SQLWARDEN_CONN_X_PASSWORD", "secret")]);
    assert_eq!(result.unwrap(), []);
    // Only a secret's own suffixes: `conn_x` does not swallow other typos.
    let error = one_error(&[("SQLWARDEN_CONN_X_DATABASE", "sales")]);
    assert!(error.contains("names no connection field"), "{error}");
    // A password under the field prefix, for a connection without `conn`.
    let error = one_error(&[("SQLWARDEN_CONN_WAREHOUSE_PASSWORD", "secret")]);
    assert!(error.contains("`SQLWARDEN_<NAME>_PASSWORD`"), "{error}");
    assert!(!error.contains("secret`"), "{error}");
}

#[test]
fn other_sqlwarden_variables_are_not_read() {
    let (_, result) = run(&[
        ("SQLWARDEN_TEST_PG_HOST", "elsewhere"),
        ("SQLWARDEN_TEST_PG_PORT", "nonsense"),
        ("SQLWARDEN_WAREHOUSE_PASSWORD", "secret"),
        ("SQLWARDEN_CONFIG_DIR", "/tmp"),
    ]);
    assert_eq!(result.unwrap(), []);
}

#[test]
fn blanks_and_control_characters_are_refused() {
    let error = one_error(&[("SQLWARDEN_CONN_WAREHOUSE_USER", "analyst ")]);
    assert!(error.contains("starts or ends with blanks"), "{error}");
    let error = one_error(&[("SQLWARDEN_CONN_WAREHOUSE_DBNAME", "sa\nles")]);
    assert!(error.contains("control character"), "{error}");
}

#[test]
fn names_that_map_to_one_variable_are_ambiguous() {
    let text = "connections:\n  a-b:\n    engine: postgres\n    host: h\n    dbname: d\n    user: u\n  a_b:\n    engine: postgres\n    host: h\n    dbname: d\n    user: u\n";
    let file = Path::new("connections.yaml");
    let mut connections = parse::connections(file, text).unwrap();
    let errors = apply(
        file,
        text,
        &mut connections,
        [(
            OsString::from("SQLWARDEN_CONN_A_B_HOST"),
            OsString::from("x"),
        )],
    )
    .unwrap_err();
    assert!(errors[0].message.contains("ambiguous"), "{errors:?}");
}

#[cfg(unix)]
#[test]
fn a_value_that_is_not_utf8_is_refused() {
    use std::os::unix::ffi::OsStringExt;
    let file = Path::new("connections.yaml");
    let mut connections = parse::connections(file, FILE).unwrap();
    let errors = apply(
        file,
        FILE,
        &mut connections,
        [(
            OsString::from("SQLWARDEN_CONN_WAREHOUSE_HOST"),
            OsString::from_vec(vec![0xff, 0xfe]),
        )],
    )
    .unwrap_err();
    assert!(errors[0].message.contains("not UTF-8"), "{errors:?}");
}
