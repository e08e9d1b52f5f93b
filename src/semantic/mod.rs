//! The semantic layer: the data team's domains, business terms and metrics,
//! and structured reads, turned into SQL that goes through the gate.
//!
//! The catalog files (`catalog/domains.yaml`, `terms.yaml`, `metrics.yaml`)
//! are parsed by [`crate::config::load`] and checked against policy by
//! [`check_catalog`], which session start and `sqlwarden check` run, so a
//! metric over a denied column is reported before any call. Otherwise this
//! module only reads the checked [`SemanticCatalog`] and builds ASTs; it
//! does no I/O and never decides what may run: the gate does.
//!
//! # How the tools call it
//!
//! Check once per process, next to the [`Policy`]:
//! `let catalog = check_catalog(&policy)?;` and one
//! [`CursorKey::random`] for `query_table` cursors. Deserialize each tool's
//! raw arguments into its struct from [`args`] (a serde error is
//! `INVALID_ARGUMENT`), then:
//!
//! - `list_domains` → [`list_domains`]; `list_metrics` → [`list_metrics`];
//!   `get_metric_definition` → [`get_metric_definition`]; `get_dimensions`
//!   → [`get_dimensions`]; `search_business_terms` →
//!   [`search_business_terms`]. Plain data, no database.
//! - `validate_metric_query` → [`validate_metric_query`] (a list of
//!   problems; empty means it compiles), then, when empty, the gate steps
//!   below to report gate refusals too.
//! - `generate_metric_sql` / `run_metric_query` → [`generate_metric_sql`],
//!   then the gate exactly as for `run_select_sql`:
//!   `let gate = Gate::new(&policy.source(q.source())?)`,
//!   `let prepared = q.prepare(&gate)?`, gather [`TableFacts`] for
//!   `prepared.tables()` (the same cache `run_select_sql` uses),
//!   `let checked = q.check(&gate, prepared, &facts)?`. Show
//!   `checked.sql()`; `run_metric_query` runs `checked` on the engine.
//! - `query_table` → [`compile_query_table`] with the source's rules and the
//!   cursor key, the same prepare / facts / check steps, run, then
//!   [`TableQuery::next_cursor`] with the result's truncation flag gives
//!   the `next_cursor` to return.
//!
//! [`TableFacts`]: crate::guard::TableFacts
//! [`Policy`]: crate::policy::Policy

pub mod args;
mod browse;
mod catalog;
mod check;
mod cursor;
pub(crate) mod filter;
mod gated;
mod metric;
mod refusal;
mod search;
mod sql;
mod table_query;

pub(crate) use crate::config::semantic_catalog::SemanticCatalog;
pub use browse::{get_dimensions, get_metric_definition, list_domains, list_metrics};
pub use catalog::check_catalog;
pub use cursor::CursorKey;
pub use gated::GatedQuery;
pub use metric::{generate_metric_sql, validate_metric_query, MetricQuery};
pub use search::search_business_terms;
pub use table_query::{compile_query_table, TableQuery};
