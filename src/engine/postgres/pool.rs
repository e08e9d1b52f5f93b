//! A small pool of idle connections.
//!
//! Only connections that finished their last call cleanly come back; a
//! connection that saw any error, a timeout or a cancellation is dropped by
//! the caller and never returns here. The pool does not connect: the engine
//! asks it first and connects when it is empty. A connection found closed
//! at checkout is discarded; one that died without its client noticing
//! (a restarted server, a cut network path) is found out by the first
//! statement of the next call, and then the engine empties the pool, since
//! its other idle connections are as old and likely just as dead.

use std::sync::Mutex;

use tokio_postgres::Client;

/// Idle connections kept for reuse; more are closed when returned.
const MAX_IDLE: usize = 4;

/// Idle, healthy connections.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<Vec<Client>>,
}

impl Pool {
    /// An idle connection that is still open, if any.
    pub(crate) fn take(&self) -> Option<Client> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(client) = idle.pop() {
            if !client.is_closed() {
                return Some(client);
            }
        }
        None
    }

    /// Return a connection whose last call ended cleanly.
    pub(crate) fn put(&self, client: Client) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE && !client.is_closed() {
            idle.push(client);
        }
    }

    /// Drop every idle connection.
    pub(crate) fn clear(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// How many connections are idle (for tests).
    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}
