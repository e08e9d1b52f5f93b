//! The database-side limits policy sets for a source. Engines enforce them
//! (session settings, login checks); they are policy's decision, so they
//! live here and `engine` re-exports them.

/// What an engine must enforce on the database side for one source: the layers that must hold even when the gate lets a query
/// through that it should not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Safeguards {
    /// Serve SQL on a login that could write or step around policy
    /// (PostgreSQL: superuser, BYPASSRLS, CREATEROLE, server files, write
    /// grants).
    pub allow_privileged_login: bool,
    /// Memory one sort or hash may use (PostgreSQL `work_mem`), in bytes.
    pub work_mem_bytes: u64,
    /// Temporary file space one query may use (PostgreSQL
    /// `temp_file_limit`), in bytes, where the login may set it.
    pub temp_file_limit_bytes: u64,
}

impl Default for Safeguards {
    /// The built-in values: privileged logins refused.
    fn default() -> Self {
        use crate::config::builtin;
        Self {
            allow_privileged_login: builtin::ALLOW_PRIVILEGED_LOGIN,
            work_mem_bytes: builtin::WORK_MEM_BYTES,
            temp_file_limit_bytes: builtin::TEMP_FILE_LIMIT_BYTES,
        }
    }
}
