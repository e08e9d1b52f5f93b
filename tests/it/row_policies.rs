//! Tests: row_policies.
