//! `catalog/joins.yaml`: the joins a data team has approved.

use serde::{Deserialize, Serialize};

/// The whole `catalog/joins.yaml` file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinsFile {
    /// Approved (and not yet approved) joins.
    #[serde(default)]
    pub joins: Vec<JoinDef>,
}

/// One join between two tables of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinDef {
    /// Stable identifier, shown to the agent.
    pub id: String,
    /// Connection name.
    pub source: String,
    /// Table key as in policy.
    pub(crate) left_table: String,
    /// Table key as in policy.
    pub(crate) right_table: String,
    /// Column pairs that must be equated; all of them.
    pub(crate) on: Vec<JoinColumns>,
    /// `1:1`, `N:1`, `1:N` or `N:N`; informational.
    #[serde(default)]
    pub(crate) cardinality: Option<String>,
    /// Only approved joins let queries through.
    #[serde(default)]
    pub(crate) approved: bool,
    /// Why the join exists, for the agent.
    #[serde(default)]
    pub(crate) business_purpose: Option<String>,
    /// A query that uses the join, for the agent.
    #[serde(default)]
    pub(crate) example_sql: Option<String>,
}

/// One equated column pair of a join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct JoinColumns {
    /// Column of `left_table`.
    pub(crate) left_field: String,
    /// Column of `right_table`.
    pub(crate) right_field: String,
}
