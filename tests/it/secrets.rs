//! Tests: secrets.
