//! Helpers shared by the integration tests: real PostgreSQL databases per
//! test, and (for MaxCompute) the protocol emulator.
#![allow(dead_code)]

pub mod child;
pub mod maxcompute;
pub mod pg;
pub mod pg_cluster;
