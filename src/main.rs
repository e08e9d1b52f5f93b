//! The `sqlwarden` binary: parse flags, run one subcommand.

fn main() {}
