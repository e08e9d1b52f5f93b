//! The `sqlwarden` binary: everything it does is [`sqlwarden::cli::main`].

fn main() {
    std::process::exit(sqlwarden::cli::main());
}
