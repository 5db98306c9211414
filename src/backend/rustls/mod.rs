//! rustls mapped onto OpenSSL's ticket API the way a faithful compatibility layer would map it.
//!
//! The `SSL` object holds the OpenSSL-style settings; the rustls connection is created when the
//! server first acts with the ClientHello's record on the wire (when OpenSSL reads the
//! ClientHello, and the latest a layer can choose a rustls config), from a config made of them
//! (`send_tls13_tickets` is the count). rustls has no on-demand tickets and no post-handshake
//! authentication, so those calls fail. Nothing here bends rustls toward OpenSSL: where the
//! two differ, the difference is a finding.
//!
//! What the layer does itself is what belongs to OpenSSL's `SSL` object rather than to the
//! TLS library under it, as a compatibility layer must: the handshake runs inside reads and
//! writes, a record at a time as OpenSSL's state machine reads, `SSL_shutdown` during the
//! handshake fails and changes nothing, `SSL_write` after `SSL_shutdown` fails, and a full
//! rustls receive buffer is backpressure (the bytes wait on the wire), not an error.
//!
//! The new-session callback: the layer calls it where rustls hands a session out (see
//! [`sessions`]): for each session its session storage keeps, and for each TLS 1.3 ticket its
//! ticketer seals, never when the context's cache mode is off. A TLS 1.2 ticket is not a
//! cached session (OpenSSL gives it no session id and does not call the callback for it).

mod config;
mod conn;
mod early;
mod sessions;

use super::{BackendId, Server, ServerConn};
use crate::program::{CtxConfig, Op, SuiteList};
use crate::wire::Endpoint;
use config::{Configs, Settings};
use conn::RustlsConn;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Why programs with `ctx_set_ticket_cb` are skipped.
pub const NO_TICKET_CALLBACKS: &str = "rustls 0.23 has no ticket callbacks: its `ProducesTickets` \
     only seals and opens tickets, with no way to use, renew, ignore or abort a decrypted ticket \
     (SSL_CTX_set_session_ticket_cb)";

/// Why programs with `key_update` (not requested) are skipped.
pub const NO_UNREQUESTED_KEY_UPDATE: &str = "rustls 0.23 sends a KeyUpdate only through \
     `refresh_traffic_keys`, which always requests the peer's update: it cannot send \
     update_not_requested (SSL_KEY_UPDATE_NOT_REQUESTED)";

/// The rustls "context": the settings new connections copy, the program's configs, and the
/// new-session callback's count.
pub struct RustlsServer {
    settings: Settings,
    configs: Rc<RefCell<Configs>>,
    notified: Rc<Cell<u64>>,
    /// The TLS 1.3 suites, which connections read live (see [`RustlsConn`]).
    suites: Rc<Cell<Option<SuiteList>>>,
}

impl Default for RustlsServer {
    fn default() -> Self {
        Self::new()
    }
}

impl RustlsServer {
    pub fn new() -> RustlsServer {
        RustlsServer {
            settings: Settings::default(),
            configs: Rc::new(RefCell::new(Configs::new())),
            notified: Rc::new(Cell::new(0)),
            suites: Rc::new(Cell::new(None)),
        }
    }
}

impl Server for RustlsServer {
    fn id(&self) -> BackendId {
        BackendId::Rustls
    }

    fn version(&self) -> &'static str {
        concat!("rustls ", env!("TICKETDIFF_RUSTLS_VERSION"))
    }

    fn unsupported(&self, op: &Op) -> Option<&'static str> {
        match op {
            Op::Configure(CtxConfig::TicketCb(..)) => Some(NO_TICKET_CALLBACKS),
            Op::KeyUpdate { requested: false } => Some(NO_UNREQUESTED_KEY_UPDATE),
            _ => None,
        }
    }

    fn reset(&mut self) {
        self.settings = Settings::default();
        self.configs.borrow_mut().reset();
        self.notified.set(0);
        self.suites.set(None);
    }

    fn ctx_set_num_tickets(&mut self, n: u64) -> i64 {
        self.settings.num_tickets = n;
        1
    }

    fn ctx_get_num_tickets(&self) -> u64 {
        self.settings.num_tickets
    }

    fn configure(&mut self, setting: CtxConfig) -> i64 {
        match setting {
            CtxConfig::SessionCacheMode(mode) => {
                self.configs.borrow().set_cache_mode(mode);
                1
            }
            CtxConfig::Ciphersuites(list) => {
                self.suites.set(Some(list));
                1
            }
            other => self.settings.apply(other),
        }
    }

    fn notified(&self) -> u64 {
        self.notified.get()
    }

    fn accept(&mut self, transport: Endpoint) -> Box<dyn ServerConn> {
        Box::new(RustlsConn::new(
            self.settings,
            self.configs.clone(),
            self.notified.clone(),
            self.suites.clone(),
            transport,
        ))
    }
}
