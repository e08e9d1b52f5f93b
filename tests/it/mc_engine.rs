//! Tests: mc_engine.
