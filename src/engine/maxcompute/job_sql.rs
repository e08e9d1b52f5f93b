//! The only SQL text a MaxCompute job can carry, as a type.
//!
//! A job's `<Query>` is built from a [`JobSql`] ([`super::instance::job_xml`]
//! takes nothing else), and a `JobSql` can be made in two ways only: from a
//! [`CheckedQuery`], whose text is the gate's rendering, or by
//! [`JobSql::max_pt`], the one metadata query the engine writes itself,
//! which refuses any table name that is not plain MaxCompute name
//! characters. So the agent's text can reach MaxCompute only through the
//! gate, exactly as on PostgreSQL, where [`crate::engine::Engine::run`]
//! takes a `CheckedQuery`.

use std::borrow::Cow;

use crate::error::ToolError;
use crate::guard::CheckedQuery;

use super::metadata::TableRef;

/// SQL a MaxCompute job may run, and whether it names `project.schema.table`
/// (such a job needs the schema-namespace settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobSql<'q> {
    text: Cow<'q, str>,
    names_a_schema: bool,
}

impl<'q> JobSql<'q> {
    /// The gate's rendering of `query`.
    pub(crate) fn checked(query: &'q CheckedQuery) -> Self {
        Self {
            text: Cow::Borrowed(query.sql()),
            names_a_schema: query
                .tables_used()
                .iter()
                .any(|t| t.split('.').count() == 3),
        }
    }

    /// The text of the job.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Whether the job reads a table keyed `project.schema.table`.
    pub(crate) fn names_a_schema(&self) -> bool {
        self.names_a_schema
    }
}

impl JobSql<'static> {
    /// `SELECT MAX_PT('project.table') AS max_pt`: the newest partition of
    /// `table` that holds data. The name sits inside a string literal, so it
    /// must hold nothing but letters, digits, `_` and the dots between its
    /// parts; anything else is refused here rather than trusted to the
    /// caller's parsing.
    pub(crate) fn max_pt(table: &TableRef) -> Result<Self, ToolError> {
        let name = table.qualified();
        if !name.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }) {
            return Err(ToolError::internal(format!(
                "refused to write MAX_PT for the table name {name:?}"
            )));
        }
        Ok(Self {
            text: Cow::Owned(format!("SELECT MAX_PT('{name}') AS max_pt")),
            names_a_schema: table.schema.is_some(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
