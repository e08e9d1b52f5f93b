//! sqlwarden's integration tests, compiled as one binary (one link, shared
//! helpers in `tests/support`). Each module covers one part; all of them use
//! real components: the local PostgreSQL, the built binary over stdio, and
//! the in-repo MaxCompute emulator.

// Test support is written once for several test crates; each uses part of it.
#![allow(unreachable_pub)]
// Helpers outside `#[test]` functions panic on a broken fixture and print
// what they measured, like the tests themselves.
#![allow(clippy::expect_used, clippy::print_stderr)]

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod audit_durability;
mod bundle;
mod cli;
mod clients;
mod config;
mod conformance;
mod deep_sql;
mod demo_servers;
mod doctor;
mod estimate_row_policy;
mod faults;
mod fuzz_corpus;
mod gate_corpus;
mod gate_quoting;
mod gate_relations;
mod grants;
mod http;
mod install;
mod layout;
mod limits;
mod mc_emulator;
mod mc_engine;
mod mc_maxqa;
mod memory_bound;
mod pg_auth_downgrade;
mod pg_engine;
mod pyodps;
mod row_barrier;
mod row_policies;
mod schema;
mod secrets;
mod semantic;
mod stdio;
mod stdio_abuse;
mod stdio_maxcompute;
mod stdio_protocol;
mod stdio_semantic;
mod stdio_streamed;
mod terminal_escape;
mod test_server;
mod token;
mod tpcds;
mod tpch;
mod version;

#[tokio::test]
async fn postgres_is_reachable() {
    let client = support::pg::connect("postgres").await;
    let row = client
        .query_one("SELECT 1::int4", &[])
        .await
        .expect("select 1");
    assert_eq!(row.get::<_, i32>(0), 1);
}
