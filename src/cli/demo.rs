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

use crate::config;
use crate::config::schema;
use clap::Args;

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
pub struct DemoCommand {
    /// Drop and recreate the demo database, and overwrite the config files.
    #[arg(long)]
    pub force: bool,
    /// Stop and delete the private demo cluster, and the demo config that
    /// points at it.
    #[arg(long, conflicts_with_all = ["force", "pg_url", "pg_host", "pg_port", "pg_user"])]
    pub remove: bool,
    /// The PostgreSQL server to load the demo into, as a libpq URL or
    /// `key=value` string (`postgresql://me@db.local:5433`). Without it
    /// and the flags below, the demo tries the libpq environment
    /// (`PGSERVICE`, `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`), then the
    /// local server as you and as `postgres`, then makes a private cluster.
    #[arg(long, value_name = "URL")]
    pub pg_url: Option<String>,
    /// PostgreSQL host (or socket directory) of the server to use.
    #[arg(long)]
    pub pg_host: Option<String>,
    /// PostgreSQL port of the server to use.
    #[arg(long)]
    pub pg_port: Option<u16>,
    /// PostgreSQL login that may create databases and roles, used only to
    /// load the demo (queries run as the demo's own read-only login). Its
    /// password, if the server asks for one, is read from `PGPASSWORD`.
    #[arg(long)]
    pub pg_user: Option<String>,
    /// Name of the database to create.
    #[arg(long, env = DEMO_DB_ENV, default_value = "sqlwarden_demo")]
    pub dbname: String,
}

/// Where the demo goes: the server and admin login that load it, and the
/// database.
#[derive(Debug, Clone)]
pub struct DemoArgs {
    /// Drop and recreate the demo database, and overwrite the config files.
    pub force: bool,
    /// PostgreSQL host, address or socket directory.
    pub pg_host: String,
    /// PostgreSQL port.
    pub pg_port: u16,
    /// The login that loads the demo.
    pub pg_user: String,
    /// Name of the database to create.
    pub dbname: String,
}

#[cfg(any(test, feature = "testing"))]
impl DemoArgs {
    /// The demo on database `dbname` at 127.0.0.1 port 1, where no server
    /// listens: for tests that need the demo config but never its data.
    pub fn unreachable(dbname: &str) -> Self {
        Self {
            force: false,
            pg_host: "127.0.0.1".into(),
            pg_port: 1,
            pg_user: "postgres".into(),
            dbname: dbname.into(),
        }
    }
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
pub async fn run(config_dir: Option<&Path>, command: DemoCommand) -> ExitStatus {
    if !valid_identifier(&command.dbname) {
        printer::error(
            &format!("`{}` is not a plain database name", command.dbname),
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
    if command.remove {
        return remove::run(&dir);
    }
    if !command.force {
        if let Some(existing) = file_names().map(|p| dir.join(p)).find(|p| p.exists()) {
            printer::error(
                &format!("`{}` already exists", existing.display()),
                Some("Run `sqlwarden demo --force` to replace the demo database and the config files, `sqlwarden demo --remove` to delete them, or pass another `--config-dir`"),
            );
            return ExitStatus::Error;
        }
    }
    let (admin, private) = match choose_server(&command).await {
        Ok(chosen) => chosen,
        Err(DemoError(message, hint)) => {
            printer::error(&message, Some(&hint));
            return ExitStatus::Failure;
        }
    };
    let args = DemoArgs {
        force: command.force,
        pg_host: admin.host.clone(),
        pg_port: admin.port,
        pg_user: admin.user.clone(),
        dbname: command.dbname,
    };
    if let Err(message) = load_database(&admin, &args).await {
        printer::error(&message.0, Some(&message.1));
        return ExitStatus::Failure;
    }
    let mut files = config_files(&args);
    if private {
        for (path, contents) in &mut files {
            if path == Path::new("connections.yaml") {
                *contents = mark_private(contents, &args.pg_host);
            }
        }
    }
    if let Err(e) = write_files(&dir, &files) {
        printer::error(
            &format!("Could not write the demo config: {e}"),
            Some("Check that the config directory is writable, or pass another `--config-dir`"),
        );
        return ExitStatus::Failure;
    }
    print_next_steps(&dir, &args, private);
    ExitStatus::Success
}

/// The relative paths of the files the demo writes.
pub(crate) fn file_names() -> impl Iterator<Item = PathBuf> {
    let placeholder = DemoArgs {
        force: false,
        pg_host: String::new(),
        pg_port: 0,
        pg_user: String::new(),
        dbname: String::new(),
    };
    config_files(&placeholder).into_iter().map(|(path, _)| path)
}

/// The first words of the header of a connections file that points at the
/// private cluster (`demo --remove` deletes only such a config).
pub(crate) const PRIVATE_MARKER: &str = "# sqlwarden's private demo cluster:";

/// `connections.yaml` with a header saying the connection is the private
/// cluster in `socket_dir`, what starts it and what removes it.
fn mark_private(connections: &str, socket_dir: &str) -> String {
    let note = format!(
        "{PRIVATE_MARKER} `{socket_dir}`\n\
         # (Unix socket only, no TCP; the directory is yours alone). `sqlwarden\n\
         # serve`, `query`, `call` and `check` start it when it is down;\n\
         # `sqlwarden demo --remove` deletes it and this config.\n"
    );
    // The template's paragraph on passwords and pg_hba.conf is about other
    // servers; inside the private cluster every local login is trusted.
    let from = connections.find("# The login");
    let to = connections.find("\nconnections:");
    match (from, to) {
        (Some(from), Some(to)) if from < to => format!(
            "{}{note}# The login `{DEMO_LOGIN}` can SELECT the four demo tables and nothing else.\n{}",
            &connections[..from],
            &connections[to + 1..]
        ),
        _ => format!("{note}{connections}"),
    }
}

/// A message and a hint.
struct DemoError(String, String);

/// The server and admin login to load into, and whether it is the private
/// cluster.
async fn choose_server(command: &DemoCommand) -> Result<(target::Candidate, bool), DemoError> {
    let explicit = target::Explicit {
        url: command.pg_url.clone(),
        host: command.pg_host.clone(),
        port: command.pg_port,
        user: command.pg_user.clone(),
    };
    let named = explicit.url.is_some()
        || explicit.host.is_some()
        || explicit.port.is_some()
        || explicit.user.is_some();
    let os_user = crate::audit::os_user().unwrap_or_else(|| private::SUPERUSER.into());
    let candidates = target::candidates(&explicit, &os_user).map_err(|message| {
        DemoError(
            message,
            "Pass a URL such as `postgresql://me@localhost:5432/postgres`".into(),
        )
    })?;
    printer::status("Looking for a PostgreSQL server ...");
    let tried = match target::first_usable(&candidates).await {
        Ok(found) => {
            printer::status(&format!("Using {}", found.describe()));
            return Ok((found, false));
        }
        Err(tried) => tried,
    };
    let tried_text = tried.iter().map(|t| format!("\n  {t}")).collect::<String>();
    if named {
        return Err(DemoError(
            format!("Could not use the PostgreSQL server named on the command line:{tried_text}"),
            "Start it, or check `--pg-url`, `--pg-host`, `--pg-port` and `--pg-user` (password in `PGPASSWORD`); without them the demo finds a local server or makes a private one".into(),
        ));
    }
    match private::ensure() {
        Ok(cluster) => Ok((
            target::Candidate {
                host: cluster.socket_dir().display().to_string(),
                port: cluster.port(),
                user: private::SUPERUSER.into(),
                password: None,
                source: "sqlwarden's private demo cluster",
            },
            true,
        )),
        Err(crate::local_pg::ClusterError::NotInstalled(e)) => Err(DemoError(
            format!("No PostgreSQL server answered, and none is installed to make a private one:{tried_text}\n  {e}"),
            format!("{}; or point the demo at a server with `--pg-url`", e.hint()),
        )),
        Err(e) => Err(DemoError(
            format!("No PostgreSQL server answered, and the private demo cluster could not be made: {e}{tried_text}"),
            e.hint(),
        )),
    }
}

async fn load_database(admin: &target::Candidate, args: &DemoArgs) -> Result<(), DemoError> {
    let admin_client = connect(admin, "postgres").await?;
    let exists = admin_client
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
        admin_client
            .batch_execute(&sql)
            .await
            .map_err(|e| sql_error("create the demo database", &e))?;
    }
    let client = connect(admin, &args.dbname).await?;
    printer::status("Loading the sales warehouse ...");
    let started = std::time::Instant::now();
    client
        .batch_execute(WAREHOUSE_SQL)
        .await
        .map_err(|e| sql_error("load the demo data", &e))?;
    printer::status(&format!(
        "  loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

async fn connect(
    admin: &target::Candidate,
    dbname: &str,
) -> Result<tokio_postgres::Client, DemoError> {
    admin.connect(dbname).await.map_err(|e| {
        DemoError(
            format!(
                "Could not connect to PostgreSQL as {}: {}",
                admin.describe(),
                target::short(&e)
            ),
            "Start PostgreSQL, or point the demo at it with `--pg-url` (password in `PGPASSWORD`)"
                .into(),
        )
    })
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

/// What to try next. Every line under "Try it:" is a shell command that
/// works as printed (the refusals exit 1; a test runs them all).
fn print_next_steps(dir: &Path, args: &DemoArgs, private: bool) {
    let exe = std::env::current_exe().ok();
    let bin = invocation(exe.as_deref(), std::env::var_os("PATH").as_deref());
    let dir_flag = format!("--config-dir {}", shell_quote(&dir.display().to_string()));
    let desktop = serde_json::json!({"mcpServers": {"sqlwarden": {
        "command": exe.as_deref().map_or_else(|| "sqlwarden".into(), |e| e.display().to_string()),
        "args": ["--config-dir", dir.display().to_string(), "serve"],
    }}});
    let server = if private {
        format!(
            "The database lives in sqlwarden's private PostgreSQL cluster in `{host}`
(Unix socket only, no TCP, yours alone). `sqlwarden query`, `call`, `check` and
`serve` start it when it is down; `{bin} {flag} demo --remove` deletes it
and this config.",
            host = args.pg_host,
            flag = dir_flag,
        )
    } else {
        format!(
            "Queries run as the login `{login}`, which can read the demo tables and nothing
else. If the server asks it for a password, set one as an administrator
(`ALTER ROLE {login} PASSWORD '…'`) and store it with `{bin} {flag} auth set demo`.",
            login = DEMO_LOGIN,
            flag = dir_flag,
        )
    };
    printer::out(&format!(
        "Loaded the demo warehouse into `{db}` and wrote its config to `{dir}`.

Try it:
  {bin} {flag} check
  {bin} {flag} query \"SELECT region_code, count(order_id) AS orders, sum(amount) AS revenue FROM orders GROUP BY region_code\"
  {bin} {flag} call describe_table '{{\"table\": \"public.customers\"}}'
  {bin} {flag} query \"SELECT name, phone FROM customers\"      # refused: `phone` is denied
  {bin} {flag} query \"SELECT salary FROM employees\"           # refused: table not allowed
  {bin} {flag} call search_business_terms '{{\"keyword\": \"销售额\"}}'
  {bin} {flag} call run_metric_query '{{\"metric\": \"revenue\", \"dimensions\": [\"region\"], \"grain\": \"quarter\"}}'

The row policy shows only regions EAST and NORTH; edit `{dir}/policy.yaml` to change it.

{server}

Register it with Claude Code (it runs `claude mcp add` with this binary's absolute path):
  {bin} {flag} install claude-code
or by hand:
  claude mcp add sqlwarden -- {abs} {flag} serve

Register it with Claude Desktop (it edits claude_desktop_config.json):
  {bin} {flag} install claude-desktop
or add this to claude_desktop_config.json yourself:
  {desktop}",
        db = args.dbname,
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

mod private;
mod remove;
mod service;
mod target;

pub use private::start_if_down;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
