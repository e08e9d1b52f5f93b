//! Tests: pg_engine.
