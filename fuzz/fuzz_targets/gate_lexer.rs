//! Queries built from fragments with every awkward character (both quote
//! kinds, backslashes, `E'…'`, `U&"…"`, `X'…'`, `B'…'`, dollar quotes,
//! nested comments, `--`, Unicode) through the gate; the invariants,
//! including PostgreSQL's own reading of every accepted rendering, are in
//! `sqlwarden::fuzzing::gate`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sqlwarden::fuzzing::gate::GateHarness;

static HARNESS: OnceLock<GateHarness> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    HARNESS.get_or_init(GateHarness::new).check_fragments(data);
});
