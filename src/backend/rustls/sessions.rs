//! The two ways rustls hands a session out for a client to resume with, counted: its ticketer
//! seals a stateless ticket (`ProducesTickets::encrypt`), or its session storage keeps a session
//! under an id (`StoresServerSessions::put`). rustls calls both synchronously while it builds
//! the message that carries the ticket or id, and sends none of either that was declined, so
//! the counts are what went out. These are the only places a compatibility layer sees a new
//! session, so they are where it calls the application's new-session callback.

use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// How many entries the layer's session cache keeps: rustls's own default cache's size.
const CACHE_SIZE: usize = 256;

/// Sessions handed out since the program began.
#[derive(Debug, Default)]
pub(super) struct Handouts {
    sealed: AtomicU64,
    stored: AtomicU64,
}

/// [`Handouts`] at one moment, or the difference of two moments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Counts {
    /// Stateless tickets the ticketer sealed.
    pub sealed: u64,
    /// Sessions the storage kept (TLS 1.3 stateful tickets, TLS 1.2 session ids).
    pub stored: u64,
}

impl Handouts {
    pub fn now(&self) -> Counts {
        Counts {
            sealed: self.sealed.load(Ordering::Relaxed),
            stored: self.stored.load(Ordering::Relaxed),
        }
    }
}

impl Counts {
    pub fn since(self, earlier: Counts) -> Counts {
        Counts {
            sealed: self.sealed - earlier.sealed,
            stored: self.stored - earlier.stored,
        }
    }
}

/// The program's ticket key, counting what it seals. `enabled` is false for configs that want
/// stateful tickets: rustls then asks the session storage instead, for TLS 1.3 tickets and for
/// TLS 1.2 (no ticket, a session id), as OpenSSL does under `SSL_OP_NO_TICKET`.
#[derive(Debug)]
pub(super) struct Ticketer {
    inner: Arc<dyn ProducesTickets>,
    handouts: Arc<Handouts>,
    enabled: bool,
}

impl Ticketer {
    pub fn new(handouts: Arc<Handouts>) -> Ticketer {
        Ticketer {
            inner: rustls::crypto::ring::Ticketer::new().expect("ticketer"),
            handouts,
            enabled: true,
        }
    }

    /// The same key, switched off: stateful tickets.
    pub fn disabled(&self) -> Ticketer {
        Ticketer {
            inner: self.inner.clone(),
            handouts: self.handouts.clone(),
            enabled: false,
        }
    }
}

impl ProducesTickets for Ticketer {
    fn enabled(&self) -> bool {
        self.enabled && self.inner.enabled()
    }
    fn lifetime(&self) -> u32 {
        self.inner.lifetime()
    }
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let ticket = self.inner.encrypt(plain);
        if ticket.is_some() {
            self.handouts.sealed.fetch_add(1, Ordering::Relaxed);
        }
        ticket
    }
    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        self.inner.decrypt(cipher)
    }
}

/// The program's session cache (OpenSSL's `SSL_CTX` session cache), counting what it keeps.
/// With the cache mode off it keeps nothing new, but still finds what it kept before, as
/// OpenSSL's cache does with `SSL_SESS_CACHE_OFF` (its internal lookup stays on). The mode is
/// the context's at the moment of storing, not a copy taken at `SSL_new`: OpenSSL reads it
/// from the context every time.
#[derive(Debug)]
pub(super) struct Store {
    cache: Arc<ServerSessionMemoryCache>,
    handouts: Arc<Handouts>,
    keeps_new: Arc<AtomicBool>,
}

impl Store {
    pub fn new(handouts: Arc<Handouts>) -> Store {
        Store {
            cache: ServerSessionMemoryCache::new(CACHE_SIZE),
            handouts,
            keeps_new: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Sets the context's cache mode: `server` (true) or `off`.
    pub fn set_keeps_new(&self, on: bool) {
        self.keeps_new.store(on, Ordering::Relaxed);
    }

    pub fn keeps_new(&self) -> bool {
        self.keeps_new.load(Ordering::Relaxed)
    }
}

/// Every config of a program shares the one cache.
impl Clone for Store {
    fn clone(&self) -> Store {
        Store {
            cache: self.cache.clone(),
            handouts: self.handouts.clone(),
            keeps_new: self.keeps_new.clone(),
        }
    }
}

impl StoresServerSessions for Store {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let kept = self.keeps_new() && self.cache.put(key, value);
        if kept {
            self.handouts.stored.fetch_add(1, Ordering::Relaxed);
        }
        kept
    }
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.cache.get(key)
    }
    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.cache.take(key)
    }
    fn can_cache(&self) -> bool {
        self.keeps_new()
    }
}
