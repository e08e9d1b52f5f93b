//! Tests: tpch.
