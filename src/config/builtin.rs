//! Built-in limits and switches: the values in force where no layer of
//! config (the source's, the file's, the managed file's) sets one.
//!
//! They live with the config because validation and the managed merge
//! compare against them (a `default_limit` above the built-in `max_limit`
//! is an error, a managed-only limit is capped by the built-in); the policy
//! applies them when it resolves a source's effective rules.

/// Rows returned when the caller asks for no limit.
pub(crate) const DEFAULT_LIMIT: u64 = 100;
/// Most rows any query returns.
pub(crate) const MAX_LIMIT: u64 = 1000;
/// Seconds before a query is cancelled.
pub(crate) const QUERY_TIMEOUT_SECONDS: u64 = 30;
/// Bytes one cell may hold before it is cut.
pub(crate) const MAX_CELL_BYTES: u64 = 4096;
/// Bytes one result may hold before rows are cut.
pub(crate) const MAX_RESULT_BYTES: u64 = 1024 * 1024;
/// Most distinct tables in one query.
pub(crate) const MAX_JOIN_TABLES: u32 = 3;
/// Whether `*` is refused on every table.
pub(crate) const BAN_SELECT_STAR: bool = false;
/// Whether joins must be approved in `catalog/joins.yaml`.
pub(crate) const DENY_UNAPPROVED_JOIN: bool = true;
/// Most results the result cache holds.
pub(crate) const CACHE_MAX_ENTRIES: u64 = 256;
/// Most bytes of row data the result cache holds.
pub(crate) const CACHE_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// PostgreSQL `work_mem` of every query (the server's own default).
pub(crate) const WORK_MEM_BYTES: u64 = 4 * 1024 * 1024;
/// PostgreSQL `temp_file_limit` of every query, where the login may set it.
pub(crate) const TEMP_FILE_LIMIT_BYTES: u64 = 1024 * 1024 * 1024;
/// Whether a privileged PostgreSQL login is served.
pub(crate) const ALLOW_PRIVILEGED_LOGIN: bool = false;
