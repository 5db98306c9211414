//! rustls mapped onto OpenSSL's ticket API the way a faithful compatibility layer would map it.
//!
//! The `SSL` object holds the OpenSSL-style count; the rustls connection is created when the
//! server first acts (when OpenSSL would read the ClientHello), from a config whose
//! `send_tls13_tickets` is that count. rustls has no on-demand tickets and no post-handshake
//! authentication, so those calls fail. Nothing here bends rustls toward OpenSSL: where the
//! two differ, the difference is a finding.
//!
//! What the layer does itself is what belongs to OpenSSL's `SSL` object rather than to the
//! TLS library under it, as a compatibility layer must: the handshake runs inside reads and
//! writes, `SSL_shutdown` during the handshake fails and changes nothing, `SSL_write` after
//! `SSL_shutdown` fails, and a full rustls receive buffer is backpressure (the bytes wait on the
//! wire), not an error.

use super::{BackendId, Outcome, Server, ServerConn};
use crate::pki::pki;
use crate::program::DEFAULT_NUM_TICKETS;
use crate::wire::Endpoint;
use rustls::server::ProducesTickets;
use rustls::{HandshakeKind, ServerConfig, ServerConnection};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts the tickets rustls produces: it calls the ticketer once per ticket it sends, and
/// sends no ticket the ticketer declined.
#[derive(Debug)]
struct CountingTicketer {
    inner: Arc<dyn ProducesTickets>,
    produced: Arc<AtomicU64>,
}

impl ProducesTickets for CountingTicketer {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }
    fn lifetime(&self) -> u32 {
        self.inner.lifetime()
    }
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let ticket = self.inner.encrypt(plain);
        if ticket.is_some() {
            self.produced.fetch_add(1, Ordering::Relaxed);
        }
        ticket
    }
    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        self.inner.decrypt(cipher)
    }
}

/// The configs made so far for one program: one per count a connection started with. They share
/// one ticketer, so tickets from one connection resume on the next.
struct Configs {
    base: Arc<ServerConfig>,
    ticketer: Arc<dyn ProducesTickets>,
    produced: Arc<AtomicU64>,
    by_count: HashMap<u64, Arc<ServerConfig>>,
}

impl Configs {
    /// Fresh for a program: a new ticket key, as a fresh OpenSSL context would have.
    fn reset(&mut self) {
        self.produced = Arc::new(AtomicU64::new(0));
        self.ticketer = Arc::new(CountingTicketer {
            inner: rustls::crypto::ring::Ticketer::new().expect("ticketer"),
            produced: self.produced.clone(),
        });
        self.by_count.clear();
    }

    /// The config for connections that start with `num_tickets`.
    fn get(&mut self, num_tickets: u64) -> Arc<ServerConfig> {
        let (base, ticketer) = (&self.base, &self.ticketer);
        self.by_count
            .entry(num_tickets)
            .or_insert_with(|| {
                let mut config = (**base).clone();
                config.send_tls13_tickets = usize::try_from(num_tickets).unwrap_or(usize::MAX);
                // OpenSSL issues stateless tickets by default; so does the compatibility layer.
                config.ticketer = ticketer.clone();
                Arc::new(config)
            })
            .clone()
    }
}

/// The rustls "context": the count new connections copy, and the program's configs.
pub struct RustlsServer {
    num_tickets: u64,
    configs: Rc<RefCell<Configs>>,
}

impl Default for RustlsServer {
    fn default() -> Self {
        Self::new()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    // The same groups as every other backend, in the same order.
    provider.kx_groups = vec![
        rustls::crypto::ring::kx_group::X25519,
        rustls::crypto::ring::kx_group::SECP256R1,
    ];
    Arc::new(provider)
}

impl RustlsServer {
    pub fn new() -> RustlsServer {
        let p = pki();
        let chain = vec![CertificateDer::from(p.server.cert_der.clone())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(p.server.key_pkcs8.clone()));
        let base = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server certificate");
        let produced = Arc::new(AtomicU64::new(0));
        let configs = Configs {
            base: Arc::new(base),
            ticketer: Arc::new(CountingTicketer {
                inner: rustls::crypto::ring::Ticketer::new().expect("ticketer"),
                produced: produced.clone(),
            }),
            produced,
            by_count: HashMap::new(),
        };
        RustlsServer {
            num_tickets: DEFAULT_NUM_TICKETS,
            configs: Rc::new(RefCell::new(configs)),
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

    fn unsupported(&self, op: &crate::program::Op) -> Option<&'static str> {
        op.is_v2().then_some(crate::backend::V2_NOT_YET)
    }

    fn reset(&mut self) {
        self.num_tickets = DEFAULT_NUM_TICKETS;
        self.configs.borrow_mut().reset();
    }

    fn ctx_set_num_tickets(&mut self, n: u64) -> i64 {
        self.num_tickets = n;
        1
    }

    fn ctx_get_num_tickets(&self) -> u64 {
        self.num_tickets
    }

    fn configure(&mut self, _setting: crate::program::CtxConfig) -> i64 {
        0
    }

    fn notified(&self) -> u64 {
        0
    }

    fn accept(&mut self, transport: Endpoint) -> Box<dyn ServerConn> {
        let produced = self.configs.borrow().produced.clone();
        Box::new(RustlsConn {
            num_tickets: self.num_tickets,
            conn: None,
            configs: self.configs.clone(),
            transport,
            produced_before: produced.load(Ordering::Relaxed),
            produced,
            failed: false,
            close_sent: false,
            peer_closed: false,
        })
    }
}

/// One `SSL` over rustls.
struct RustlsConn {
    num_tickets: u64,
    /// Created when the server first acts, from the count set by then.
    conn: Option<ServerConnection>,
    configs: Rc<RefCell<Configs>>,
    transport: Endpoint,
    produced: Arc<AtomicU64>,
    produced_before: u64,
    /// rustls errors are final; so are OpenSSL's.
    failed: bool,
    close_sent: bool,
    peer_closed: bool,
}

impl RustlsConn {
    /// Creates the rustls connection if need be, then moves every byte it can in both
    /// directions. `false` once the connection has failed.
    fn pump(&mut self) -> bool {
        if self.failed {
            return false;
        }
        if self.conn.is_none() {
            let config = self.configs.borrow_mut().get(self.num_tickets);
            match ServerConnection::new(config) {
                Ok(conn) => self.conn = Some(conn),
                Err(_) => {
                    self.failed = true;
                    return false;
                }
            }
        }
        let conn = self.conn.as_mut().expect("created above");
        loop {
            match conn.read_tls(&mut self.transport) {
                Ok(0) => break,
                Ok(_) => match conn.process_new_packets() {
                    Ok(state) => self.peer_closed |= state.peer_has_closed(),
                    Err(_) => {
                        // The alert rustls queued still goes out.
                        self.failed = true;
                        flush(conn, &mut self.transport);
                        return false;
                    }
                },
                // Nothing on the wire, or rustls's receive buffers are full until the
                // application reads: either way the rest waits on the wire.
                Err(_) => break,
            }
        }
        flush(conn, &mut self.transport);
        true
    }

    fn established(&self) -> bool {
        !self.failed && self.conn.as_ref().is_some_and(|c| !c.is_handshaking())
    }
}

/// Writes what rustls has for the wire, as far as the wire takes it.
fn flush(conn: &mut ServerConnection, transport: &mut Endpoint) {
    while conn.wants_write() {
        match conn.write_tls(transport) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

impl ServerConn for RustlsConn {
    fn set_num_tickets(&mut self, n: u64) -> i64 {
        self.num_tickets = n;
        1
    }

    fn get_num_tickets(&self) -> u64 {
        self.num_tickets
    }

    fn do_handshake(&mut self) -> Outcome {
        if !self.pump() {
            return Outcome::Failed;
        }
        if self.established() {
            Outcome::Done(0)
        } else {
            Outcome::WouldBlock
        }
    }

    fn new_session_ticket(&mut self) -> i64 {
        // rustls has no way to send a ticket on demand.
        0
    }

    fn write(&mut self, data: &[u8]) -> Outcome {
        if self.close_sent || !self.pump() {
            return Outcome::Failed;
        }
        if !self.established() {
            return Outcome::WouldBlock;
        }
        let conn = self.conn.as_mut().expect("established");
        let outcome = match conn.writer().write(data) {
            Ok(n) => Outcome::Done(n),
            Err(_) => Outcome::Failed,
        };
        flush(conn, &mut self.transport);
        outcome
    }

    fn read(&mut self, buf: &mut [u8]) -> Outcome {
        if !self.pump() {
            return Outcome::Failed;
        }
        let conn = self.conn.as_mut().expect("created by pump");
        match conn.reader().read(buf) {
            Ok(0) if !buf.is_empty() => Outcome::Closed,
            Ok(n) => Outcome::Done(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Outcome::WouldBlock,
            Err(_) => Outcome::Failed,
        }
    }

    fn verify_client_post_handshake(&mut self) -> i64 {
        // rustls has no post-handshake client authentication.
        0
    }

    fn read_early_data(&mut self, _buf: &mut [u8]) -> crate::backend::EarlyRead {
        crate::backend::EarlyRead::Error
    }

    fn key_update(&mut self, _requested: bool) -> i64 {
        0
    }

    fn early_data_status(&self) -> crate::trace::EarlyStatus {
        crate::trace::EarlyStatus::NotSent
    }

    fn shutdown(&mut self) -> i64 {
        // As `SSL_shutdown` does during a handshake: fail, and touch nothing.
        if !self.established() {
            return -1;
        }
        self.pump();
        let conn = self.conn.as_mut().expect("established");
        if !self.close_sent {
            conn.send_close_notify();
            self.close_sent = true;
            flush(conn, &mut self.transport);
        }
        let (sent, received) = self.shutdown_state();
        (sent && received).into()
    }

    fn shutdown_state(&self) -> (bool, bool) {
        (self.close_sent, self.peer_closed)
    }

    fn handshake_finished(&self) -> bool {
        self.established()
    }

    fn session_reused(&self) -> bool {
        self.conn
            .as_ref()
            .is_some_and(|c| c.handshake_kind() == Some(HandshakeKind::Resumed))
    }

    fn tickets_issued(&self) -> u64 {
        self.produced.load(Ordering::Relaxed) - self.produced_before
    }

    fn close(&mut self) {}
}
