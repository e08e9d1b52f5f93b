//! Tests: stdio.
