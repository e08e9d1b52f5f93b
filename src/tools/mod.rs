//! The MCP tools: argument types, the one call pipeline, the envelope and
//! the untrusted-data fence.
