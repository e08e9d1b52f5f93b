//! sqlwarden: a read-only, policy-governed SQL surface for AI agents.
//!
//! Data flows one way: [`tools`] take the agent's arguments, ask [`policy`]
//! and [`guard`] what may run, hand the resulting [`guard::CheckedQuery`] to
//! an [`engine`], wrap the answer in an envelope and write it to [`audit`].
//! [`engine`] knows nothing of MCP, [`guard`] and [`policy`] do no I/O, and
//! only the gate can make SQL that an engine will run.
//!
//! The binary (`src/main.rs`) is a thin CLI over [`cli`]; the MCP wiring lives
//! in [`server`].

pub mod audit;
pub(crate) mod auth;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod guard;
pub mod local_pg;
pub mod policy;
pub mod secrets;
pub mod semantic;
pub mod server;
pub mod tools;
