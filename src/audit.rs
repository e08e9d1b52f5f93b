//! The append-only JSONL audit log: one record per tool call, daily files,
//! a hash chain that `sqlwarden audit verify` checks.
