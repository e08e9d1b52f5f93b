//! Which identity owns each MCP session, and the caps on how many sessions
//! there are.
//!
//! A session id is a bearer of state (the client's `initialize`, its event
//! streams), so it belongs to the identity that opened it: a request that
//! names it with another identity's token is refused before rmcp sees it.
//! Sessions end inside rmcp (`DELETE`, idle timeout, shutdown); entries
//! here are dropped once rmcp no longer has the session, checked whenever a
//! new one is about to open, which is also when the caps are counted.
//! A session being opened holds a reservation, so concurrent `initialize`
//! requests cannot overshoot a cap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

/// Owners of live sessions, and reservations for sessions being opened.
pub(crate) struct Bindings {
    manager: Arc<LocalSessionManager>,
    max_sessions: usize,
    max_per_identity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Session id → identity key.
    owners: HashMap<String, String>,
    /// Identity key → sessions being opened.
    pending: HashMap<String, usize>,
    /// Sessions bound so far, counting up; with `bound_at`, it tells a
    /// session bound after a look at rmcp's live set from one that ended.
    binds: u64,
    /// Session id → the value of `binds` when it was bound.
    bound_at: HashMap<String, u64>,
}

/// Whose a session id is, as the request's caller sees it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The caller's own session (or one this process does not know, which
    /// rmcp answers with 404).
    CallerOrUnknown,
    /// Another identity's session.
    Other,
}

/// Why a new session cannot open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionCap {
    /// The process holds `limits.max_sessions`.
    Global(usize),
    /// The identity holds `limits.max_sessions_per_identity`.
    PerIdentity(usize),
}

impl Bindings {
    /// Bindings over the sessions `manager` holds.
    pub(crate) fn new(
        manager: Arc<LocalSessionManager>,
        max_sessions: usize,
        max_per_identity: usize,
    ) -> Self {
        Self {
            manager,
            max_sessions,
            max_per_identity,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whose session `session_id` is, for the caller `identity`.
    pub(crate) fn owner(&self, session_id: &str, identity: &str) -> Owner {
        match self.state().owners.get(session_id) {
            Some(owner) if owner != identity => Owner::Other,
            _ => Owner::CallerOrUnknown,
        }
    }

    /// Reserve room for one more session of `identity`, within the caps.
    pub(crate) async fn reserve(
        self: &Arc<Self>,
        identity: &str,
    ) -> Result<Reservation, SessionCap> {
        // The live set, read before the lock below (rmcp's is async). A
        // session bound meanwhile is missing from it and must be kept.
        let seen = self.state().binds;
        let live: Vec<String> = self
            .manager
            .sessions
            .read()
            .await
            .keys()
            .map(|id| id.to_string())
            .collect();
        let mut guard = self.state();
        let state = &mut *guard;
        let bound_at = &mut state.bound_at;
        state.owners.retain(|id, _| {
            let keep = live.contains(id) || bound_at.get(id).is_some_and(|at| *at > seen);
            if !keep {
                bound_at.remove(id);
            }
            keep
        });
        let pending_total: usize = state.pending.values().sum();
        if state.owners.len() + pending_total >= self.max_sessions {
            return Err(SessionCap::Global(self.max_sessions));
        }
        let own = state.owners.values().filter(|o| *o == identity).count()
            + state.pending.get(identity).copied().unwrap_or(0);
        if own >= self.max_per_identity {
            return Err(SessionCap::PerIdentity(self.max_per_identity));
        }
        *state.pending.entry(identity.to_string()).or_default() += 1;
        Ok(Reservation {
            bindings: self.clone(),
            identity: identity.to_string(),
        })
    }
}

/// Room for one session being opened; binds it when the session id is
/// known, and gives the room back when dropped.
pub(crate) struct Reservation {
    bindings: Arc<Bindings>,
    identity: String,
}

impl Reservation {
    /// The session opened as `session_id`.
    pub(crate) fn bind(self, session_id: &str) {
        let mut state = self.bindings.state();
        state.binds += 1;
        let at = state.binds;
        state.bound_at.insert(session_id.to_string(), at);
        state
            .owners
            .insert(session_id.to_string(), self.identity.clone());
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut state = self.bindings.state();
        if let Some(count) = state.pending.get_mut(&self.identity) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.pending.remove(&self.identity);
            }
        }
    }
}
