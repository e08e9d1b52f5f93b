//! Helpers shared by the integration tests: real PostgreSQL databases per
//! test, the demo setup and the gate fixture on them, and (for MaxCompute) the protocol
//! emulator.
#![allow(dead_code)]

pub mod child;
pub mod clients;
pub mod demo;
pub mod gate;
pub mod maxcompute;
pub mod output;
pub mod pg;
pub mod pg_cluster;
pub mod require;
