//! The project's own TLS 1.3 server ([`crate::native`]) through its OpenSSL-shaped API
//! ([`crate::native::api`]): a thin adapter from the harness traits, nothing more. Every rule
//! lives in the native server.
//!
//! Runs are deterministic: each program starts the connection seeds from 0 again, and the
//! server's clock is fixed (the OpenSSL client's ticket age, a few milliseconds of real time,
//! is well within the server's tolerance).

use super::{BackendId, EarlyRead, Outcome, Server, ServerConn};
use crate::native::api::{
    EarlyRead as NativeEarlyRead, SessionCacheMode, Ssl, SslContext, SslOptions,
};
use crate::native::conn::EarlyDataStatus;
use crate::native::tickets::{TicketCallbacks, TicketReturn, TicketStatus};
use crate::native::ServerConfig;
use crate::pki::pki;
use crate::program::{CacheMode, CtxConfig, Op, Options, TicketDec, TicketGen};
use crate::trace::EarlyStatus;
use crate::wire::Endpoint;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The server's clock for every connection: a fixed instant (2023-11-14T22:13:20Z).
const NOW_MS: u64 = 1_700_000_000_000;

/// Why programs with `connect tls12` are skipped on this backend.
pub const TLS12_SKIP_REASON: &str = "TLS 1.2 is out of the native server's scope";

/// The native server's `SSL_CTX`.
pub struct NativeServer {
    ctx: SslContext,
    /// Connections made in this program: each one's seed.
    connections: u64,
    /// Calls of the context's new-session callback since the last reset.
    notified: Arc<AtomicU64>,
}

impl Default for NativeServer {
    fn default() -> Self {
        Self::new()
    }
}

/// The native server's configuration as this backend runs it: the test certificate, client
/// certificates checked as the oracle checks them, OpenSSL 3's suite order.
pub fn server_config() -> ServerConfig {
    // The oracle verifies post-handshake certificates against the test CA, with
    // SSL_VERIFY_PEER but not FAIL_IF_NO_PEER_CERT.
    let mut config = pki()
        .native_server_config([0x5a; 32])
        .expect("native server config");
    config.require_client_cert = false;
    // OpenSSL's default: the client's order decides (no SSL_OP_CIPHER_SERVER_PREFERENCE).
    config.server_preference = false;
    // OpenSSL 3's default TLS 1.3 suite order.
    config.suites = vec![
        &crate::native::suites::TLS_AES_256_GCM_SHA384,
        &crate::native::suites::TLS_CHACHA20_POLY1305_SHA256,
        &crate::native::suites::TLS_AES_128_GCM_SHA256,
    ];
    config
}

impl NativeServer {
    pub fn new() -> NativeServer {
        let ctx = SslContext::new(Arc::new(server_config()));
        let notified = Arc::new(AtomicU64::new(0));
        let counter = notified.clone();
        ctx.set_new_session_callback(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        NativeServer {
            ctx,
            connections: 0,
            notified,
        }
    }
}

impl Server for NativeServer {
    fn id(&self) -> BackendId {
        BackendId::Native
    }

    fn version(&self) -> &'static str {
        concat!("ticketdiff native TLS 1.3 ", env!("CARGO_PKG_VERSION"))
    }

    fn unsupported(&self, op: &Op) -> Option<&'static str> {
        match op {
            Op::Connect(flags) if flags.tls12 => Some(TLS12_SKIP_REASON),
            _ => None,
        }
    }

    fn reset(&mut self) {
        // The configuration's own settings are OpenSSL's defaults: a context as new.
        self.ctx = SslContext::new(self.ctx.config().clone());
        self.ctx.reset_shared();
        self.connections = 0;
        self.notified.store(0, Ordering::Relaxed);
    }

    fn ctx_set_num_tickets(&mut self, n: u64) -> i64 {
        self.ctx.set_num_tickets(n).into()
    }

    fn ctx_get_num_tickets(&self) -> u64 {
        self.ctx.num_tickets()
    }

    fn configure(&mut self, setting: CtxConfig) -> i64 {
        match setting {
            CtxConfig::SetOptions(o) => {
                self.ctx.set_options(ssl_options(o));
            }
            CtxConfig::ClearOptions(o) => {
                self.ctx.clear_options(ssl_options(o));
            }
            CtxConfig::Ciphersuites(list) => {
                return self.ctx.set_ciphersuites(&list.to_string()).into()
            }
            // A valid program's value fits; a larger one is truncated, as C passes it to
            // OpenSSL's `uint32_t`.
            CtxConfig::MaxEarlyData(n) => return self.ctx.set_max_early_data(n as u32).into(),
            CtxConfig::SessionCacheMode(mode) => {
                self.ctx.set_session_cache_mode(match mode {
                    CacheMode::Off => SessionCacheMode::Off,
                    CacheMode::Server => SessionCacheMode::Server,
                });
            }
            CtxConfig::TicketCb(gen, dec) => {
                return self
                    .ctx
                    .set_session_ticket_cb(Some(ticket_callbacks(gen, dec)))
                    .into()
            }
        }
        1
    }

    fn notified(&self) -> u64 {
        self.notified.load(Ordering::Relaxed)
    }

    fn accept(&mut self, transport: Endpoint) -> Box<dyn ServerConn> {
        self.connections += 1;
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.connections.to_be_bytes());
        Box::new(NativeConn {
            ssl: self.ctx.new_ssl(transport, seed, NOW_MS),
        })
    }
}

/// A program's options as `SSL_OP_*` bits.
fn ssl_options(o: Options) -> SslOptions {
    let bit = |on: bool, b: SslOptions| if on { b } else { SslOptions::default() };
    bit(o.no_ticket, SslOptions::NO_TICKET)
        | bit(o.no_anti_replay, SslOptions::NO_ANTI_REPLAY)
        | bit(o.allow_no_dhe_kex, SslOptions::ALLOW_NO_DHE_KEX)
}

/// The program's ticket callbacks: the generate one returns `gen`; the decrypt one returns
/// `dec` for a ticket that decrypted and `IGNORE_RENEW` for any other.
fn ticket_callbacks(gen: TicketGen, dec: TicketDec) -> TicketCallbacks {
    let ret = match dec {
        TicketDec::Use => TicketReturn::Use,
        TicketDec::UseRenew => TicketReturn::UseRenew,
        TicketDec::Ignore => TicketReturn::Ignore,
        TicketDec::IgnoreRenew => TicketReturn::IgnoreRenew,
        TicketDec::Abort => TicketReturn::Abort,
    };
    TicketCallbacks {
        generate: Arc::new(move || gen == TicketGen::Ok),
        decrypt: Arc::new(move |status| match status {
            TicketStatus::SuccessRenew => ret,
            TicketStatus::NoDecrypt => TicketReturn::IgnoreRenew,
        }),
    }
}

struct NativeConn {
    ssl: Ssl<Endpoint>,
}

impl ServerConn for NativeConn {
    fn set_num_tickets(&mut self, n: u64) -> i64 {
        self.ssl.set_num_tickets(n).into()
    }

    fn get_num_tickets(&self) -> u64 {
        self.ssl.num_tickets()
    }

    fn do_handshake(&mut self) -> Outcome {
        self.ssl.do_handshake()
    }

    fn new_session_ticket(&mut self) -> i64 {
        self.ssl.new_session_ticket().into()
    }

    fn write(&mut self, data: &[u8]) -> Outcome {
        self.ssl.write(data)
    }

    fn read(&mut self, buf: &mut [u8]) -> Outcome {
        self.ssl.read(buf)
    }

    fn verify_client_post_handshake(&mut self) -> i64 {
        self.ssl.verify_client_post_handshake().into()
    }

    fn read_early_data(&mut self, buf: &mut [u8]) -> EarlyRead {
        match self.ssl.read_early_data(buf) {
            NativeEarlyRead::Success(n) => EarlyRead::Read(n),
            NativeEarlyRead::Finish => EarlyRead::Finish,
            NativeEarlyRead::Error => EarlyRead::Error,
        }
    }

    fn key_update(&mut self, requested: bool) -> i64 {
        self.ssl.key_update(requested).into()
    }

    fn early_data_status(&self) -> EarlyStatus {
        match self.ssl.early_data_status() {
            EarlyDataStatus::NotSent => EarlyStatus::NotSent,
            EarlyDataStatus::Rejected => EarlyStatus::Rejected,
            EarlyDataStatus::Accepted => EarlyStatus::Accepted,
        }
    }

    fn shutdown(&mut self) -> i64 {
        self.ssl.shutdown().into()
    }

    fn shutdown_state(&self) -> (bool, bool) {
        self.ssl.get_shutdown()
    }

    fn handshake_finished(&self) -> bool {
        self.ssl.is_init_finished()
    }

    fn session_reused(&self) -> bool {
        self.ssl.session_reused()
    }

    fn tickets_issued(&self) -> u64 {
        self.ssl.tickets_written()
    }

    fn close(&mut self) {
        self.ssl.mark_shut_down();
    }
}
