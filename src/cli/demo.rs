//! `sqlwarden demo`: load a small sales warehouse into the local PostgreSQL
//! and write a matching config set, then say what to try.
//!
//! The data and its policy live in `config/demo/` and are compiled in, so
//! the demo needs no files and no input. The database is created fresh (or,
//! with `--force`, dropped and recreated); the config files are never
//! overwritten without `--force`. The demo loads the data as an ordinary
//! client with tokio-postgres (as `--pg-user`, which may create databases
//! and roles); it is not part of the query path. The connection it writes
//! logs in as [`DEMO_LOGIN`], a role that can read the demo tables and
//! nothing else.

use std::path::{Path, PathBuf};

use clap::Args;
use tokio_postgres::{Client, NoTls};

use crate::config;
use crate::config::schema;

use super::{printer, ExitStatus};

/// The warehouse: tables, deterministic rows, and the read-only role.
pub const WAREHOUSE_SQL: &str = include_str!("../../config/demo/warehouse.sql");
const CONNECTIONS_TEMPLATE: &str = include_str!("../../config/demo/connections.yaml");
const POLICY_YAML: &str = include_str!("../../config/demo/policy.yaml");
const JOINS_YAML: &str = include_str!("../../config/demo/catalog/joins.yaml");
const DOMAINS_YAML: &str = include_str!("../../config/demo/catalog/domains.yaml");
const TERMS_YAML: &str = include_str!("../../config/demo/catalog/terms.yaml");
const METRICS_YAML: &str = include_str!("../../config/demo/catalog/metrics.yaml");

/// The least-privilege login of the demo connection (created by
/// [`WAREHOUSE_SQL`]).
pub(crate) const DEMO_LOGIN: &str = "sqlwarden_demo_ro";

/// Environment variable naming the demo database (tests use their own).
pub(crate) const DEMO_DB_ENV: &str = "SQLWARDEN_DEMO_DB";

/// Arguments of `sqlwarden demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Drop and recreate the demo database, and overwrite the config files.
    #[arg(long)]
    pub force: bool,
    /// PostgreSQL host.
    #[arg(long, default_value = "127.0.0.1")]
    pub pg_host: String,
    /// PostgreSQL port.
    #[arg(long, default_value_t = 5432)]
    pub pg_port: u16,
    /// PostgreSQL login that may create databases and roles, used only to
    /// load the demo (queries run as the demo's own read-only login). Its
    /// password, if the server asks for one, is read from `PGPASSWORD`.
    #[arg(long, default_value = "postgres")]
    pub pg_user: String,
    /// Name of the database to create.
    #[arg(long, env = DEMO_DB_ENV, default_value = "sqlwarden_demo")]
    pub dbname: String,
}

/// The demo config set for `args`, with the JSON Schemas its headers
/// point at, as (relative path, contents).
pub fn config_files(args: &DemoArgs) -> Vec<(PathBuf, String)> {
    let connections = CONNECTIONS_TEMPLATE
        .replace("{{PG_HOST}}", &args.pg_host)
        .replace("{{PG_PORT}}", &args.pg_port.to_string())
        .replace("{{PG_DBNAME}}", &args.dbname);
    let yaml = vec![
        (PathBuf::from("connections.yaml"), connections),
        (PathBuf::from("policy.yaml"), POLICY_YAML.to_string()),
        (PathBuf::from("catalog/joins.yaml"), JOINS_YAML.to_string()),
        (
            PathBuf::from("catalog/domains.yaml"),
            DOMAINS_YAML.to_string(),
        ),
        (PathBuf::from("catalog/terms.yaml"), TERMS_YAML.to_string()),
        (
            PathBuf::from("catalog/metrics.yaml"),
            METRICS_YAML.to_string(),
        ),
    ];
    // The headers in `config/demo/` point at `config/schema/`; in the
    // user's directory the schemas sit beside the files, written here too.
    yaml.into_iter()
        .map(|(path, contents)| {
            let contents = schema::with_header(&path.to_string_lossy(), &contents);
            (path, contents)
        })
        .chain(
            schema::published_files()
                .map(|(path, contents)| (PathBuf::from(path), contents.to_string())),
        )
        .collect()
}

/// Run `sqlwarden demo`.
pub async fn run(config_dir: Option<&Path>, args: DemoArgs) -> ExitStatus {
    if !valid_identifier(&args.dbname) {
        printer::error(
            &format!("`{}` is not a plain database name", args.dbname),
            Some("Use lower-case letters, digits and `_`, for example `--dbname sqlwarden_demo`"),
        );
        return ExitStatus::Error;
    }
    let Some(dir) = config::resolve_dir(config_dir) else {
        printer::error(
            "No config directory could be determined",
            Some("Pass `--config-dir DIR` or set `SQLWARDEN_CONFIG_DIR`"),
        );
        return ExitStatus::Error;
    };
    let files = config_files(&args);
    if !args.force {
        if let Some(existing) = files.iter().map(|(p, _)| dir.join(p)).find(|p| p.exists()) {
            printer::error(
                &format!("`{}` already exists", existing.display()),
                Some("Run `sqlwarden demo --force` to replace the demo database and the config files, or pass another `--config-dir`"),
            );
            return ExitStatus::Error;
        }
    }
    if let Err(message) = load_database(&args).await {
        printer::error(&message.0, Some(&message.1));
        return ExitStatus::Failure;
    }
    if let Err(e) = write_files(&dir, &files) {
        printer::error(
            &format!("Could not write the demo config: {e}"),
            Some("Check that the config directory is writable, or pass another `--config-dir`"),
        );
        return ExitStatus::Failure;
    }
    print_next_steps(&dir, &args);
    ExitStatus::Success
}

/// A message and a hint.
struct DemoError(String, String);

async fn load_database(args: &DemoArgs) -> Result<(), DemoError> {
    let admin = connect(args, "postgres").await?;
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[&args.dbname],
        )
        .await
        .map_err(|e| sql_error("look up the demo database", &e))?
        .is_some();
    if exists && !args.force {
        return Err(DemoError(
            format!("Database `{}` already exists", args.dbname),
            "Run `sqlwarden demo --force` to drop and recreate it".into(),
        ));
    }
    printer::status(&format!("Creating database `{}` ...", args.dbname));
    // Two messages: in one, the statements would form an implicit
    // transaction, which DROP and CREATE DATABASE refuse.
    for sql in [
        format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", args.dbname),
        format!("CREATE DATABASE {}", args.dbname),
    ] {
        admin
            .batch_execute(&sql)
            .await
            .map_err(|e| sql_error("create the demo database", &e))?;
    }
    let client = connect(args, &args.dbname).await?;
    printer::status("Loading the sales warehouse ...");
    client
        .batch_execute(WAREHOUSE_SQL)
        .await
        .map_err(|e| sql_error("load the demo data", &e))?;
    Ok(())
}

async fn connect(args: &DemoArgs, dbname: &str) -> Result<Client, DemoError> {
    let mut pg = tokio_postgres::Config::new();
    pg.host(&args.pg_host)
        .port(args.pg_port)
        .user(&args.pg_user)
        .dbname(dbname)
        .application_name("sqlwarden-demo")
        .connect_timeout(std::time::Duration::from_secs(10));
    if let Ok(password) = std::env::var("PGPASSWORD") {
        pg.password(password);
    }
    let (client, connection) = pg.connect(NoTls).await.map_err(|e| {
        DemoError(
            format!(
                "Could not connect to PostgreSQL at {}:{} as `{}`: {e}",
                args.pg_host, args.pg_port, args.pg_user
            ),
            "Start PostgreSQL, or point the demo at it with `--pg-host`, `--pg-port` and `--pg-user` (password in `PGPASSWORD`)".into(),
        )
    })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "demo connection closed");
        }
    });
    Ok(client)
}

fn sql_error(what: &str, e: &tokio_postgres::Error) -> DemoError {
    let detail = e
        .as_db_error()
        .map_or_else(|| e.to_string(), |db| db.message().to_string());
    DemoError(
        format!("Could not {what}: {detail}"),
        "The login needs the CREATEDB and CREATEROLE privileges; pass another one with `--pg-user`"
            .into(),
    )
}

/// Write `files` (relative path, contents) under `dir`, creating the
/// directories they need.
pub fn write_files(dir: &Path, files: &[(PathBuf, String)]) -> std::io::Result<()> {
    for (relative, contents) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::write(&path, contents)?;
    }
    Ok(())
}

fn valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn print_next_steps(dir: &Path, args: &DemoArgs) {
    let exe = std::env::current_exe().ok();
    let bin = invocation(exe.as_deref(), std::env::var_os("PATH").as_deref());
    let dir_flag = format!("--config-dir {}", shell_quote(&dir.display().to_string()));
    let desktop = serde_json::json!({"mcpServers": {"sqlwarden": {
        "command": exe.as_deref().map_or_else(|| "sqlwarden".into(), |e| e.display().to_string()),
        "args": ["--config-dir", dir.display().to_string(), "serve"],
    }}});
    printer::out(&format!(
        "Loaded the demo warehouse into `{db}` and wrote its config to `{dir}`.

Try it:
  {bin} {flag} check
  {bin} {flag} query \"SELECT region_code, count(order_id) AS orders, sum(amount) AS revenue FROM orders GROUP BY region_code\"
  {bin} {flag} call describe_table '{{\"table\": \"public.customers\"}}'
  {bin} {flag} query \"SELECT name, phone FROM customers\"      (refused: `phone` is denied)
  {bin} {flag} query \"SELECT salary FROM employees\"           (refused: table not allowed)
  {bin} {flag} call search_business_terms '{{\"keyword\": \"销售额\"}}'
  {bin} {flag} call run_metric_query '{{\"metric\": \"revenue\", \"dimensions\": [\"region\"], \"grain\": \"quarter\"}}'

The row policy shows only regions EAST and NORTH; edit `{dir}/policy.yaml` to change it.

Queries run as the login `{login}`, which can read the demo tables and nothing
else. If the server asks it for a password, set one as an administrator
(`ALTER ROLE {login} PASSWORD '…'`) and store it with `{bin} {flag} auth set demo`.

Register it with Claude Code (it runs `claude mcp add` with this binary's absolute path):
  {bin} {flag} install claude-code
or by hand:
  claude mcp add sqlwarden -- {abs} {flag} serve

Register it with Claude Desktop (it edits claude_desktop_config.json):
  {bin} {flag} install claude-desktop
or add this to claude_desktop_config.json yourself:
  {desktop}",
        db = args.dbname,
        login = DEMO_LOGIN,
        dir = dir.display(),
        flag = dir_flag,
        abs = exe
            .as_deref()
            .map_or_else(|| "sqlwarden".into(), |e| shell_quote(&e.display().to_string())),
    ));
}

/// How to run this binary from a shell: `sqlwarden` when that name on
/// `path` is this very file, else its absolute path (quoted), so that every
/// printed command works when the binary is not on `PATH`.
fn invocation(exe: Option<&Path>, path: Option<&std::ffi::OsStr>) -> String {
    let Some(exe) = exe else {
        return "sqlwarden".into();
    };
    let this = fs_err::canonicalize(exe).ok();
    let on_path = path
        .map(|p| std::env::split_paths(p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("sqlwarden"))
        .find(|candidate| candidate.is_file());
    match (on_path.and_then(|p| fs_err::canonicalize(p).ok()), this) {
        (Some(found), Some(this)) if found == this => "sqlwarden".into(),
        _ => shell_quote(&exe.display().to_string()),
    }
}

/// `text` as one POSIX shell word.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
