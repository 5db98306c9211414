//! The oracle: an OpenSSL 3 server, the library the other backends are compared with.

use super::{BackendId, EarlyRead, Outcome, Server, ServerConn};
use crate::openssl_ffi as ffi;
use crate::pki::pki;
use crate::program::CtxConfig;
use crate::trace::EarlyStatus;
use crate::wire::Endpoint;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{Ssl, SslContext, SslMethod, SslStream, SslVerifyMode};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// The test PKI parsed into OpenSSL objects, once per process: parsing a key costs OpenSSL 3.0
/// about 0.4 ms, more than a program's whole handshake.
pub struct ParsedPki {
    pub ca: X509,
    pub server_cert: X509,
    pub server_key: PKey<Private>,
    pub client_cert: X509,
    pub client_key: PKey<Private>,
}

/// The process's parsed PKI.
pub fn parsed_pki() -> &'static ParsedPki {
    static PARSED: OnceLock<ParsedPki> = OnceLock::new();
    PARSED.get_or_init(|| {
        let p = pki();
        let cert = |der: &[u8]| X509::from_der(der).expect("test certificate parses");
        let key = |der: &[u8]| PKey::private_key_from_pkcs8(der).expect("test key parses");
        ParsedPki {
            ca: cert(&p.ca_cert_der),
            server_cert: cert(&p.server.cert_der),
            server_key: key(&p.server.key_pkcs8),
            client_cert: cert(&p.client.cert_der),
            client_key: key(&p.client.key_pkcs8),
        }
    })
}

/// A store trusting the test CA.
pub fn ca_store() -> openssl::x509::store::X509Store {
    let mut store = X509StoreBuilder::new().expect("X509 store");
    store
        .add_cert(parsed_pki().ca.clone())
        .expect("adding the test CA");
    store.build()
}

/// The session id context of the server: with `SSL_VERIFY_PEER` set, OpenSSL refuses to resume
/// a session without one.
const SESSION_ID_CONTEXT: &[u8] = b"ticketdiff";

/// OpenSSL's server `SSL_CTX`, built once and reset between programs.
pub struct OpensslServer {
    ctx: SslContext,
    /// Calls of the context's new-session callback since the last reset.
    notified: Arc<AtomicU64>,
    /// Whether a program changed a setting that `reset` cannot put back by itself: the
    /// context is then built anew, so that no program sees another's settings.
    configured: bool,
}

impl Default for OpensslServer {
    fn default() -> Self {
        Self::new()
    }
}

impl OpensslServer {
    pub fn new() -> OpensslServer {
        let notified = Arc::new(AtomicU64::new(0));
        OpensslServer {
            ctx: server_context(notified.clone()),
            notified,
            configured: false,
        }
    }
}

/// A server context with default settings, counting its new-session callback in `notified`.
fn server_context(notified: Arc<AtomicU64>) -> SslContext {
    let p = parsed_pki();
    let mut b = SslContext::builder(SslMethod::tls_server()).expect("SSL_CTX_new");
    b.set_certificate(&p.server_cert)
        .expect("server certificate");
    b.set_private_key(&p.server_key).expect("server key");
    // Post-handshake authentication needs the server to verify peers, but only when
    // `SSL_verify_client_post_handshake` asks: no CertificateRequest in the handshake.
    b.set_verify(SslVerifyMode::PEER | SslVerifyMode::POST_HANDSHAKE);
    b.set_cert_store(ca_store());
    b.set_session_id_context(SESSION_ID_CONTEXT)
        .expect("session id context");
    // Pinned so that every OpenSSL version picks the same group as the other backends.
    b.set_groups_list("X25519:P-256").expect("groups");
    // The man page's way to learn that a ticket was sent: count the calls, keep nothing.
    b.set_new_session_callback(move |_, _session| {
        notified.fetch_add(1, Ordering::Relaxed);
    });
    b.build()
}

impl Server for OpensslServer {
    fn id(&self) -> BackendId {
        BackendId::Openssl
    }

    fn version(&self) -> &'static str {
        openssl::version::version()
    }

    fn reset(&mut self) {
        if std::mem::take(&mut self.configured) {
            self.ctx = server_context(self.notified.clone());
        } else {
            ffi::ctx_set_num_tickets(&mut self.ctx, crate::program::DEFAULT_NUM_TICKETS);
            ffi::ctx_flush_sessions(&self.ctx);
        }
        self.notified.store(0, Ordering::Relaxed);
    }

    fn ctx_set_num_tickets(&mut self, n: u64) -> i64 {
        ffi::ctx_set_num_tickets(&mut self.ctx, n).into()
    }

    fn ctx_get_num_tickets(&self) -> u64 {
        self.ctx.num_tickets() as u64
    }

    fn configure(&mut self, setting: CtxConfig) -> i64 {
        self.configured = true;
        let ctx = &mut self.ctx;
        match setting {
            CtxConfig::SetOptions(options) => ffi::ctx_set_options(ctx, options),
            CtxConfig::ClearOptions(options) => ffi::ctx_clear_options(ctx, options),
            CtxConfig::Ciphersuites(list) => {
                return ffi::ctx_set_ciphersuites(ctx, &list.to_string()).into()
            }
            CtxConfig::MaxEarlyData(n) => {
                // A valid program's value fits (the bound is `u32::MAX`); a larger one reaches
                // OpenSSL's `uint32_t` parameter as C would pass it: truncated.
                return ffi::ctx_set_max_early_data(ctx, n as u32).into();
            }
            CtxConfig::SessionCacheMode(mode) => ffi::ctx_set_session_cache_mode(ctx, mode),
            CtxConfig::TicketCb(gen, dec) => return ffi::ctx_set_ticket_cb(ctx, gen, dec).into(),
        }
        1
    }

    fn notified(&self) -> u64 {
        self.notified.load(Ordering::Relaxed)
    }

    fn accept(&mut self, transport: Endpoint) -> Box<dyn ServerConn> {
        let mut ssl = Ssl::new(&self.ctx).expect("SSL_new");
        ssl.set_accept_state();
        let counter = ffi::count_new_session_tickets(&mut ssl);
        let stream = SslStream::new(ssl, transport).expect("SSL_set_bio");
        Box::new(OpensslConn { stream, counter })
    }
}

struct OpensslConn {
    stream: SslStream<Endpoint>,
    counter: Arc<ffi::TicketCounter>,
}

impl ServerConn for OpensslConn {
    fn set_num_tickets(&mut self, n: u64) -> i64 {
        ffi::set_num_tickets(self.stream.ssl(), n).into()
    }

    fn get_num_tickets(&self) -> u64 {
        self.stream.ssl().num_tickets() as u64
    }

    fn do_handshake(&mut self) -> Outcome {
        ffi::do_handshake(self.stream.ssl())
    }

    fn new_session_ticket(&mut self) -> i64 {
        ffi::new_session_ticket(self.stream.ssl()).into()
    }

    fn write(&mut self, data: &[u8]) -> Outcome {
        ffi::write_ex(self.stream.ssl(), data)
    }

    fn read(&mut self, buf: &mut [u8]) -> Outcome {
        ffi::read_ex(self.stream.ssl(), buf)
    }

    fn verify_client_post_handshake(&mut self) -> i64 {
        ffi::verify_client_post_handshake(self.stream.ssl()).into()
    }

    fn read_early_data(&mut self, buf: &mut [u8]) -> EarlyRead {
        ffi::read_early_data(self.stream.ssl(), buf)
    }

    fn key_update(&mut self, requested: bool) -> i64 {
        ffi::key_update(self.stream.ssl(), requested).into()
    }

    fn early_data_status(&self) -> EarlyStatus {
        ffi::early_data_status(self.stream.ssl())
    }

    fn shutdown(&mut self) -> i64 {
        ffi::shutdown(self.stream.ssl()).into()
    }

    fn shutdown_state(&self) -> (bool, bool) {
        ffi::shutdown_state(self.stream.ssl())
    }

    fn handshake_finished(&self) -> bool {
        self.stream.ssl().is_init_finished()
    }

    fn session_reused(&self) -> bool {
        self.stream.ssl().session_reused()
    }

    fn tickets_issued(&self) -> u64 {
        self.counter.written()
    }

    fn close(&mut self) {
        ffi::mark_shut_down(self.stream.ssl());
    }
}
