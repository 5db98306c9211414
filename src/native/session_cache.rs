//! The server's session cache: the sessions behind stateful tickets (the ticket is the session
//! id), shared by every connection of a context, as OpenSSL's internal cache is. Which tickets
//! go in, and when one is taken out, is decided in [`super::tickets`].

use super::ticket::TicketState;
use std::collections::{HashMap, VecDeque};

/// A session id: what a stateful ticket carries (OpenSSL's `SSL_MAX_SSL_SESSION_ID_LENGTH`).
pub type SessionId = [u8; 32];

/// OpenSSL's default cache size (`SSL_SESSION_CACHE_MAX_SIZE_DEFAULT`): adding a session to a
/// full cache drops the oldest.
pub const MAX_SESSIONS: usize = 20 * 1024;

/// Sessions by id, oldest first.
#[derive(Default)]
pub struct SessionCache {
    sessions: HashMap<SessionId, TicketState>,
    order: VecDeque<SessionId>,
}

impl SessionCache {
    /// Adds a session (`SSL_CTX_add_session`), dropping the oldest ones while the cache is full.
    pub fn add(&mut self, id: SessionId, state: TicketState) {
        if self.sessions.insert(id, state).is_some() {
            self.order.retain(|x| *x != id);
        }
        self.order.push_back(id);
        while self.order.len() > MAX_SESSIONS {
            if let Some(old) = self.order.pop_front() {
                self.sessions.remove(&old);
            }
        }
    }

    /// The session with this id, left in the cache.
    pub fn get(&self, id: &[u8]) -> Option<TicketState> {
        self.sessions.get(id).cloned()
    }

    /// Takes a session out (`SSL_CTX_remove_session`); `false` if it was not there.
    pub fn remove(&mut self, id: &[u8]) -> bool {
        let Some(key) = self.sessions.get_key_value(id).map(|(k, _)| *k) else {
            return false;
        };
        self.sessions.remove(&key);
        self.order.retain(|x| *x != key);
        true
    }

    /// Forgets every session (`SSL_CTX_flush_sessions` with everything expired).
    pub fn clear(&mut self) {
        self.sessions.clear();
        self.order.clear();
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}
