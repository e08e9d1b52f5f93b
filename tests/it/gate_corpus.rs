//! Tests: gate_corpus.
