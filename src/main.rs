//! The `sqlwarden` binary.

fn main() {}
