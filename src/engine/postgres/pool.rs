//! A small pool of idle connections.
//!
//! Only connections that finished their last call cleanly and were reset
//! (`DISCARD ALL`, see `session.rs`) come back; a connection that saw any
//! error, a timeout or a cancellation, or whose reset failed, is dropped by
//! the caller and never returns here. Each keeps the verdict on its login
//! (`login.rs`), so a login is vetted once per connection. The pool does not connect: the engine
//! asks it first and connects when it is empty. A connection found closed
//! at checkout is discarded; one that died without its client noticing
//! (a restarted server, a cut network path) is found out by the first
//! statement of the next call, and then the engine empties the pool, since
//! its other idle connections are as old and likely just as dead.

use std::sync::Mutex;

use tokio_postgres::{Client, Statement};

use super::connect::Tripwire;
use super::login::Login;

/// Idle connections kept for reuse; more are closed when returned.
///
/// As many as tool calls may run at once in one server (its
/// `MAX_CONCURRENT_CALLS`): a pool smaller than the concurrency it serves
/// opens and closes a connection on most calls under load (team mode with
/// 32 clients ran at about 530 calls/s with 4, about 1,750/s with 16).
/// Sequential use, as a stdio agent's, never holds more than one.
const MAX_IDLE: usize = 16;

/// A connection and what is known about its login.
pub(crate) struct Conn {
    /// The connection.
    pub(crate) client: Client,
    /// The login's vetting, once done.
    pub(crate) login: Option<Login>,
    /// Why the connection ended, when its stream guard ended it.
    pub(crate) tripwire: Tripwire,
    /// The statement the last call prepared, not yet closed: dropping it
    /// sends its `Close`, and dropped as the next call's flight is
    /// queued, that `Close` goes out in the flight's write instead of a
    /// write (and an answer to read) of its own. The server already
    /// forgot it (the reset's `DISCARD ALL`), and closing a statement the
    /// server does not know is not an error.
    pub(crate) closing: Option<Statement>,
}

/// Idle, healthy connections.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<Vec<Conn>>,
}

impl Pool {
    /// An idle connection that is still open, if any.
    pub(crate) fn take(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(conn) = idle.pop() {
            if !conn.client.is_closed() {
                return Some(conn);
            }
        }
        None
    }

    /// Return a connection whose last call ended cleanly and was reset.
    pub(crate) fn put(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE && !conn.client.is_closed() {
            idle.push(conn);
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
