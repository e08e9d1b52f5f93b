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
    pub left_table: String,
    /// Table key as in policy.
    pub right_table: String,
    /// Column pairs that must be equated; all of them.
    pub on: Vec<JoinColumns>,
    /// `1:1`, `N:1`, `1:N` or `N:N`; informational.
    #[serde(default)]
    pub cardinality: Option<String>,
    /// Only approved joins let queries through.
    #[serde(default)]
    pub approved: bool,
    /// Why the join exists, for the agent.
    #[serde(default)]
    pub business_purpose: Option<String>,
    /// A query that uses the join, for the agent.
    #[serde(default)]
    pub example_sql: Option<String>,
}

/// One equated column pair of a join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinColumns {
    /// Column of `left_table`.
    pub left_field: String,
    /// Column of `right_table`.
    pub right_field: String,
}
