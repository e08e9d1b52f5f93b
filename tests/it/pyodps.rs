//! Tests: pyodps.
