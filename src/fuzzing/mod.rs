//! Invariant checks shared by the cargo-fuzz targets (`fuzz/`) and the
//! corpus replay test (`tests/it/fuzz_corpus.rs`), so CI checks every
//! committed corpus file the same way the fuzzers did, without nightly.
//!
//! Not part of sqlwarden's API: hidden from the docs and free to change,
//! and compiled only with the `fuzzing` feature (the fuzz crate turns it on,
//! and the crate's dev-dependency on itself does for `cargo test`), so no
//! build of the binary holds these checks or their fixtures. Each check
//! panics when an invariant fails; a panic is how a fuzzer reports a
//! finding. Inputs that are merely refused or malformed are fine.

// A panic with a message is how a fuzzer reports a finding.
#![allow(clippy::expect_used, clippy::print_stderr)]

pub mod gate;
pub mod tunnel;
