//! The two gate steps every query the semantic layer compiles goes through,
//! written once for metric queries and structured reads alike.

use crate::error::ToolError;
use crate::guard::{CheckedQuery, Gate, PreparedQuery, TableFacts};

/// Compiled SQL on its way through the same gate as `run_select_sql`.
pub trait GatedQuery {
    /// The compiled SQL (before the gate) and the row limit the request
    /// asked for.
    fn gate_input(&self) -> (&str, Option<u64>);

    /// Step one of the gate: parse and resolve tables, so the caller knows
    /// which tables' facts to gather.
    fn prepare(&self, gate: &Gate<'_>) -> Result<PreparedQuery, ToolError> {
        gate.prepare(self.gate_input().0)
    }

    /// Step two of the gate: every rule, rewrites and the limit.
    fn check(
        &self,
        gate: &Gate<'_>,
        prepared: PreparedQuery,
        facts: &TableFacts,
    ) -> Result<CheckedQuery, ToolError> {
        gate.check(prepared, facts, self.gate_input().1)
    }
}
