//! The PostgreSQL engine: read-only transactions over the extended protocol.
