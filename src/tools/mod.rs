//! The MCP tools: the registry, the one call pipeline, the shared gate and
//! run step, the envelope and the untrusted-data fence.
//!
//! [`Session::call`] is the only way a tool runs, for MCP clients and for
//! `sqlwarden call` / `sqlwarden query` alike. Its layers, outside in: audit
//! (sees every outcome), envelope and timing, argument parsing, policy and
//! gate, engine. Imports point one way, so there is no cycle:
//!
//! - `registry` lists every tool (name, title, description, example,
//!   annotations, handler); `pipeline` looks tools up there and audits
//!   every call; neither is imported by a tool file.
//! - `catalog`, `table`, `query` and `semantic` hold the handlers, one
//!   [`Handler`](call::Handler) per tool: only what is specific to each.
//! - `run` is the step every query tool shares (gate, budgets, cache,
//!   engine); `call` is what a handler gets ([`CallContext`] included) and
//!   the source and table lookups every handler starts with.
//! - `args`, `envelope`, `record`, `fence`, `session` and the session's
//!   ledgers (`budget`, `cache`, `rate`, `clock`) are below all of them.
//!
//! This module knows nothing of rmcp: `crate::server` turns the registry's
//! `TOOLS` and [`ToolOutput`] into MCP types.

mod args;
mod budget;
mod cache;
mod call;
mod catalog;
mod clock;
mod engines;
mod envelope;
mod fence;
mod input;
mod output;
mod pipeline;
mod prompts;
mod query;
mod rate;
mod record;
mod registry;
mod resources;
mod run;
mod semantic;
mod session;
mod table;

pub use cache::ResultCache;
pub use call::{CallContext, CallOrigin};
pub use clock::Clock;
pub use engines::ConfiguredEngines;
pub use envelope::ToolOutput;
pub(crate) use prompts::{Completes, PromptError, PROMPTS};
pub use record::AuditSink;
#[cfg(test)]
pub(crate) use registry::TOOLS;
#[cfg(test)]
pub(crate) mod tests;
pub(crate) use registry::{enabled_tools, ToolSpec};
pub(crate) use resources::{ResourceError, CATALOG_URI, TABLE_TEMPLATE};
pub use session::{EngineFactory, Session};
