//! Arbitrary text through the SQL gate of three fixed sources (PostgreSQL
//! and MaxCompute dialects); the invariants are in
//! `sqlwarden::fuzzing::gate`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sqlwarden::fuzzing::gate::GateHarness;

static HARNESS: OnceLock<GateHarness> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    // The gate takes text: the agent's arguments arrive as JSON strings.
    if let Ok(sql) = std::str::from_utf8(data) {
        HARNESS.get_or_init(GateHarness::new).check(sql);
    }
});
