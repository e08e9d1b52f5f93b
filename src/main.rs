//! The `sqlwarden` binary: parse flags, set up logging, run one subcommand.
//!
//! Each arm calls `cli::<subcommand>::run`; nothing else happens here.

use clap::Parser;

use sqlwarden::cli::{self, Cli, Command, ExitStatus};

fn main() {
    let cli = Cli::parse();
    cli::logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // The gate's walks recurse once per level of a query's tree; the
        // gate bounds the depth (`guard::parse::MAX_NESTING`), and this
        // leaves room for it in debug builds too. Untouched stack pages
        // cost no memory.
        .thread_stack_size(32 << 20)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            cli::printer::error(&format!("Could not start the async runtime: {e}"), None);
            std::process::exit(ExitStatus::Error.code());
        }
    };
    // The command runs on a worker thread, whose stack is sized above.
    let status = match runtime.block_on(runtime.spawn(run(cli))) {
        Ok(status) => status,
        Err(e) => {
            cli::printer::error(&format!("sqlwarden stopped unexpectedly: {e}"), None);
            ExitStatus::Error
        }
    };
    // In-flight calls were drained by the command itself; do not wait for
    // a stdin reader blocked in its thread.
    runtime.shutdown_timeout(std::time::Duration::from_millis(50));
    std::process::exit(status.code());
}

async fn run(cli: Cli) -> ExitStatus {
    let dir = cli.config_dir.as_deref();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => cli::serve::run(dir).await,
        Command::Init(args) => cli::init::run(dir, args),
        Command::Check(args) => cli::check::run(dir, args).await,
        Command::Query(args) => cli::query::run(dir, args).await,
        Command::Call(args) => cli::call::run(dir, args).await,
        Command::Auth(args) => cli::auth::run(dir, args),
        Command::Audit(args) => cli::audit::run(dir, args).await,
        Command::Grants(args) => cli::grants::run(dir, args).await,
        Command::Demo(args) => cli::demo::run(dir, args).await,
        Command::Install(args) => cli::install::run_install(dir, args),
        Command::Uninstall(args) => cli::install::run_uninstall(dir, args),
        Command::Completions(args) => cli::completions::run(args),
        Command::Schema(args) => cli::schema::run(args),
    }
}
