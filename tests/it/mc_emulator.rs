//! Tests: mc_emulator.
