//! Arbitrary bytes through the instance-tunnel record decoder, whole and
//! in chunks; the invariants are in `sqlwarden::fuzzing::tunnel`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sqlwarden::fuzzing::tunnel::check(data));
