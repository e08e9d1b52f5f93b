//! Invariant checks shared by the cargo-fuzz targets (`fuzz/`) and the
//! corpus replay test (`tests/it/fuzz_corpus.rs`), so CI checks every
//! committed corpus file the same way the fuzzers did, without nightly.
//!
//! Not part of sqlwarden's API: hidden from the docs and free to change.
//! Each check panics when an invariant fails; a panic is how a fuzzer
//! reports a finding. Inputs that are merely refused or malformed are fine.

pub mod gate;
pub mod tunnel;
