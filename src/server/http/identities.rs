//! One tools [`Session`] per authenticated identity.
//!
//! Row policies, column rules, limits, rate limits and the row and scan
//! budgets all live in a session, so giving each identity its own makes
//! every one of them per identity: alice's calls never spend bob's budget,
//! and opening a new MCP session does not reset alice's. An identity is
//! its whole value (user id, roles, attributes): a token that says other
//! roles is another identity. Sessions live as long as the process, up to
//! `limits.max_identities`.
//!
//! Engines (connection pools) are shared: they hold no identity, and one
//! pool per source serves everyone. So is the result cache, whose key
//! holds the identity.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::{Connection, Identity};
use crate::engine::{Safeguards, SharedEngine};
use crate::error::ToolError;
use crate::policy::Policy;
use crate::tools::{AuditSink, EngineFactory, ResultCache, Session};

/// The sessions of every identity seen so far.
pub(crate) struct Identities {
    base: Policy,
    engines: Arc<SharedEngines>,
    audit: Arc<dyn AuditSink>,
    cache: Option<Arc<ResultCache>>,
    calls_per_identity: usize,
    max_identities: usize,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
}

/// An identity that cannot get a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooManyIdentities(pub(crate) usize);

impl Identities {
    /// Sessions over `base` (whose identity each caller's replaces),
    /// making engines with `factory` and auditing to `audit`.
    pub(crate) fn new(
        base: Policy,
        factory: Arc<dyn EngineFactory>,
        audit: Arc<dyn AuditSink>,
        calls_per_identity: usize,
        max_identities: usize,
    ) -> Self {
        let cache = base
            .result_cache()
            .map(|bounds| Arc::new(ResultCache::new(bounds)));
        Self {
            base,
            engines: Arc::new(SharedEngines {
                inner: factory,
                made: Mutex::default(),
            }),
            audit,
            cache,
            calls_per_identity,
            max_identities,
            sessions: Mutex::default(),
        }
    }

    /// The key an identity is known by: its whole value.
    pub(crate) fn key(identity: &Identity) -> String {
        serde_json::to_string(identity).unwrap_or_else(|_| format!("{identity:?}"))
    }

    /// The session of `identity`, made on its first request.
    pub(crate) fn session(&self, identity: &Identity) -> Result<Arc<Session>, TooManyIdentities> {
        let key = Self::key(identity);
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(session) = sessions.get(&key) {
            return Ok(session.clone());
        }
        if sessions.len() >= self.max_identities {
            return Err(TooManyIdentities(self.max_identities));
        }
        let policy = self.base.for_identity(identity.clone());
        let mut session = Session::new(policy, self.engines.clone(), self.audit.clone())
            .with_call_limit(self.calls_per_identity);
        if let Some(cache) = &self.cache {
            session = session.with_result_cache(cache.clone());
        }
        let session = Arc::new(session);
        sessions.insert(key, session.clone());
        Ok(session)
    }
}

/// Makes each source's engine once for every identity's session.
struct SharedEngines {
    inner: Arc<dyn EngineFactory>,
    made: Mutex<HashMap<String, SharedEngine>>,
}

impl EngineFactory for SharedEngines {
    fn create(
        &self,
        name: &str,
        connection: &Connection,
        safeguards: Safeguards,
    ) -> Result<SharedEngine, ToolError> {
        // Held while the engine is made (no network: engines connect on
        // first use), so two identities' first calls make one engine.
        let mut made = self
            .made
            .lock()
            .map_err(|_| ToolError::internal("shared engine registry lock poisoned"))?;
        if let Some(engine) = made.get(name) {
            return Ok(engine.clone());
        }
        let engine = self.inner.create(name, connection, safeguards)?;
        made.insert(name.to_string(), engine.clone());
        Ok(engine)
    }
}
