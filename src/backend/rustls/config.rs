//! The `SSL_CTX` settings a connection copies at `SSL_new`, and the rustls `ServerConfig` each
//! combination of them becomes.

use super::sessions::{Handouts, Store, Ticketer};
use crate::pki::pki;
use crate::program::{CacheMode, CtxConfig, Options, Suite, SuiteList, DEFAULT_NUM_TICKETS};
use rustls::crypto::{ring, CryptoProvider};
use rustls::{ServerConfig, SupportedCipherSuite};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::HashMap;
use std::sync::Arc;

/// What `SSL_new` copies from the context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Settings {
    pub num_tickets: u64,
    pub options: Options,
    /// `None`: the default TLS 1.3 suites. Set from the context's when the rustls connection is
    /// made.
    pub suites: Option<SuiteList>,
    pub max_early_data: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            num_tickets: DEFAULT_NUM_TICKETS,
            options: Options::default(),
            suites: None,
            max_early_data: 0,
        }
    }
}

impl Settings {
    /// Applies a context op other than the cache mode and the suites (which OpenSSL reads from
    /// the context live); its `ret`, OpenSSL's. The ticket callbacks never reach
    /// here: the backend skips programs that set them.
    pub fn apply(&mut self, op: CtxConfig) -> i64 {
        match op {
            CtxConfig::SetOptions(o) => self.options = self.options.union(o),
            CtxConfig::ClearOptions(o) => self.options = self.options.minus(o),
            CtxConfig::MaxEarlyData(n) => match u32::try_from(n) {
                Ok(n) => self.max_early_data = n,
                Err(_) => return 0,
            },
            CtxConfig::Ciphersuites(_)
            | CtxConfig::SessionCacheMode(_)
            | CtxConfig::TicketCb(..) => return 0,
        }
        1
    }

    /// Whether TLS 1.3 tickets are stateful, by OpenSSL's rule: with `SSL_OP_NO_TICKET`, or
    /// when early data is on and anti-replay is not off (a stateful ticket can be used once).
    /// rustls itself only accepts early data with stateful tickets.
    pub fn stateful(&self) -> bool {
        self.options.no_ticket || (self.max_early_data > 0 && !self.options.no_anti_replay)
    }
}

fn rustls_suite(s: Suite) -> SupportedCipherSuite {
    match s {
        Suite::Aes128GcmSha256 => ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
        Suite::Aes256GcmSha384 => ring::cipher_suite::TLS13_AES_256_GCM_SHA384,
        Suite::Chacha20Poly1305Sha256 => ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    }
}

/// ring's provider with every backend's groups, in the same order, and the TLS 1.3 suites of
/// `suites` in its order (`SSL_CTX_set_ciphersuites` touches only TLS 1.3 suites: the TLS 1.2
/// ones stay).
fn provider(suites: Option<SuiteList>) -> CryptoProvider {
    let mut provider = ring::default_provider();
    provider.kx_groups = vec![ring::kx_group::X25519, ring::kx_group::SECP256R1];
    if let Some(list) = suites {
        let mut tls13: Vec<SupportedCipherSuite> = Vec::new();
        for s in list.iter().map(rustls_suite) {
            if !tls13.contains(&s) {
                tls13.push(s);
            }
        }
        let tls12 = provider
            .cipher_suites
            .iter()
            .filter(|s| s.tls13().is_none())
            .copied();
        provider.cipher_suites = tls13.into_iter().chain(tls12).collect();
    }
    provider
}

/// A config with the test certificate, TLS 1.3 and 1.2, and these suites; no tickets or
/// sessions yet.
fn base(suites: Option<SuiteList>) -> ServerConfig {
    let p = pki();
    let chain = vec![CertificateDer::from(p.server.cert_der.clone())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(p.server.key_pkcs8.clone()));
    ServerConfig::builder_with_provider(Arc::new(provider(suites)))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate")
}

/// The configs of one program, made as connections need them. All share the program's ticket
/// key and session cache, so a session from one connection resumes on the next.
pub(super) struct Configs {
    /// Bases by suite list, kept across programs: building one costs more than a handshake's
    /// share of a short program.
    bases: HashMap<Option<SuiteList>, Arc<ServerConfig>>,
    pub handouts: Arc<Handouts>,
    ticketer: Arc<Ticketer>,
    stateful_ticketer: Arc<Ticketer>,
    store: Store,
    by_settings: HashMap<Settings, Arc<ServerConfig>>,
}

impl Configs {
    pub fn new() -> Configs {
        let handouts = Arc::new(Handouts::default());
        let ticketer = Ticketer::new(handouts.clone());
        Configs {
            bases: HashMap::new(),
            stateful_ticketer: Arc::new(ticketer.disabled()),
            ticketer: Arc::new(ticketer),
            store: Store::new(handouts.clone()),
            handouts,
            by_settings: HashMap::new(),
        }
    }

    /// Fresh for a program: a new ticket key and an empty session cache, as a fresh OpenSSL
    /// context would have.
    pub fn reset(&mut self) {
        let bases = std::mem::take(&mut self.bases);
        *self = Configs::new();
        self.bases = bases;
    }

    /// `SSL_CTX_set_session_cache_mode`: it takes effect at once, on every connection.
    pub fn set_cache_mode(&self, mode: CacheMode) {
        self.store.set_keeps_new(mode == CacheMode::Server);
    }

    /// Whether the new-session callback is called now: OpenSSL calls it from its session
    /// cache, only when the context's cache mode includes `SSL_SESS_CACHE_SERVER`.
    pub fn notifies(&self) -> bool {
        self.store.keeps_new()
    }

    /// The config for a connection that starts with these settings.
    pub fn get(&mut self, settings: Settings) -> Arc<ServerConfig> {
        if let Some(config) = self.by_settings.get(&settings) {
            return config.clone();
        }
        let base = self
            .bases
            .entry(settings.suites)
            .or_insert_with(|| Arc::new(base(settings.suites)));
        let mut config = (**base).clone();
        config.send_tls13_tickets = usize::try_from(settings.num_tickets).unwrap_or(usize::MAX);
        config.ticketer = if settings.stateful() {
            self.stateful_ticketer.clone()
        } else {
            // OpenSSL issues stateless tickets by default; so does the compatibility layer.
            self.ticketer.clone()
        };
        config.session_storage = Arc::new(self.store.clone());
        config.max_early_data_size = settings.max_early_data;
        let config = Arc::new(config);
        self.by_settings.insert(settings, config.clone());
        config
    }
}
