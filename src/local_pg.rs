//! PostgreSQL clusters sqlwarden runs itself, from the server programs
//! installed on this machine: the demo's private cluster when no server
//! answers (`cli::demo`), and the throwaway cluster the tests bring
//! (`testing`).
//!
//! [`find`] locates `initdb` and `pg_ctl`; [`cluster`] runs them on one
//! data directory. Nothing here speaks the wire protocol: callers connect
//! with tokio-postgres as usual. PostgreSQL refuses to run as root, so as
//! root every program runs as the `postgres` system account.

pub mod cluster;
pub mod find;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;

pub use cluster::{Cluster, ClusterError, Init, Listen};
pub use find::{bin_dir, NotInstalled};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
