//! Server configuration, shared by connections.

use super::certs::CertifiedKey;
pub use super::certs::ConfigError;
use super::session_cache::SessionCache;
use super::suites::{CipherSuite, NamedGroup, ALL_SUITES};
use super::ticket::TicketKey;
use super::tickets::{TicketCallbacks, TicketKind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// A new-session callback (OpenSSL's `SSL_CTX_sess_set_new_cb`): called once per ticket the
/// server makes, see [`super::tickets::notifies`].
pub type NewSessionCallback = Arc<dyn Fn() + Send + Sync>;

/// Everything a [`super::ServerConnection`] needs that does not change per connection.
pub struct ServerConfig {
    /// The server's certificates, in order of preference where several fit a client
    /// (see [`super::certs::choose`]).
    pub certs: Vec<CertifiedKey>,
    pub(crate) ticket_key: TicketKey,
    /// The context's ticket count N (2 by default, like OpenSSL): copied by each new connection,
    /// so changing it later does not touch existing connections.
    num_tickets: AtomicU64,
    /// Ticket lifetime sent in NewSessionTicket, in seconds (7200 like OpenSSL).
    pub ticket_lifetime_s: u32,
    /// How far the client's ticket age may be from the server's view, in milliseconds.
    pub ticket_age_tolerance_ms: u64,
    /// Cipher suites in order of preference (see also [`ServerConfig::set_suites`]).
    pub suites: Vec<&'static CipherSuite>,
    /// Suites set after the configuration was shared (OpenSSL's `SSL_CTX_set_ciphersuites`,
    /// which reaches connections already made: they read the context's list when the
    /// ClientHello arrives); they replace `suites`.
    live_suites: RwLock<Option<Vec<&'static CipherSuite>>>,
    /// Whether the server's order of `suites` decides (OpenSSL's
    /// `SSL_OP_CIPHER_SERVER_PREFERENCE`); else the client's order among `suites` does, as
    /// OpenSSL does by default. On by default.
    pub server_preference: bool,
    /// Key-exchange groups in order of preference.
    pub groups: Vec<NamedGroup>,
    /// Trust anchors (DER CA certificates) for post-handshake client authentication.
    pub client_auth_roots: Vec<Vec<u8>>,
    /// Whether client authentication fails (`certificate_required`) when the client sends no
    /// certificate, in the handshake or after it (OpenSSL's `SSL_VERIFY_FAIL_IF_NO_PEER_CERT`).
    pub require_client_cert: bool,
    /// Whether every full handshake asks for a client certificate (a CertificateRequest in the
    /// server's flight: OpenSSL's `SSL_VERIFY_PEER` without `SSL_VERIFY_POST_HANDSHAKE`). Off by
    /// default: client authentication is then only post-handshake, on request.
    pub request_client_cert: bool,
    /// DER Names sent as `certificate_authorities` in every CertificateRequest (OpenSSL's
    /// `SSL_CTX_set_client_CA_list`); none by default.
    pub client_ca_names: Vec<Vec<u8>>,
    /// External PSKs the server accepts besides its tickets (`openssl s_server -psk HEX
    /// -psk_identity ID`); none by default. While any is held, the first SHA-256 suite the
    /// client offers is chosen, as OpenSSL does once a PSK callback is set.
    pub external_psks: Vec<ExternalPsk>,
    /// Whether a PSK (ticket or external) may be used without (EC)DHE when the client offers
    /// `psk_ke` (OpenSSL's `SSL_OP_ALLOW_NO_DHE_KEX`, `s_server -allow_no_dhe_kex`). Off by
    /// default: only `psk_dhe_ke` counts, and a client offering `psk_ke` alone gets a full
    /// handshake.
    pub allow_psk_ke: bool,
    /// Stateful tickets: the ticket is a session id, the session stays in the server's cache
    /// (OpenSSL's `SSL_OP_NO_TICKET` on TLS 1.3). Off by default.
    pub stateful_tickets: bool,
    /// The early data a ticket allows (OpenSSL's `max_early_data`, sent in each
    /// NewSessionTicket's early_data extension); 0 (the default): none.
    pub max_early_data: u32,
    /// Whether a session that allows early data resumes once only (OpenSSL's anti-replay,
    /// on unless `SSL_OP_NO_ANTI_REPLAY`); it also makes tickets stateful. On by default.
    pub anti_replay: bool,
    /// The sessions of stateful tickets.
    session_cache: Mutex<SessionCache>,
    /// Whether tickets made now go into the session cache and notify (OpenSSL's
    /// `SSL_SESS_CACHE_SERVER`, the default; read when each ticket is made).
    cache_server: AtomicBool,
    /// The ticket callbacks (OpenSSL's `SSL_CTX_set_session_ticket_cb`), read when used.
    ticket_callbacks: RwLock<Option<TicketCallbacks>>,
    /// The new-session callback, read when each ticket is made (OpenSSL reads it from the
    /// session context at that time, not at `SSL_new`).
    new_session_cb: RwLock<Option<NewSessionCallback>>,
}

/// A PSK agreed outside TLS, for SHA-256 suites (as `s_server -psk` makes its session with
/// TLS_AES_128_GCM_SHA256); its binder is an "ext binder" (RFC 8446 7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalPsk {
    pub identity: Vec<u8>,
    pub key: Vec<u8>,
}

impl ServerConfig {
    /// `cert_chain`: DER certificates, leaf first; `key_pkcs8`: the leaf's key (any
    /// [`super::certs::KeyKind`]); `ticket_key`: the key that seals session tickets. More
    /// certificates: [`ServerConfig::add_certificate`].
    pub fn new(
        cert_chain: Vec<Vec<u8>>,
        key_pkcs8: &[u8],
        ticket_key: [u8; 32],
    ) -> Result<Self, ConfigError> {
        let mut config = ServerConfig::without_certificates(ticket_key);
        config.add_certificate(cert_chain, key_pkcs8)?;
        Ok(config)
    }

    /// A server with no certificate: only PSK handshakes can succeed (as `openssl s_server
    /// -nocert -psk ...`).
    pub fn without_certificates(ticket_key: [u8; 32]) -> Self {
        ServerConfig {
            certs: Vec::new(),
            ticket_key: TicketKey::new(ticket_key),
            num_tickets: AtomicU64::new(2),
            ticket_lifetime_s: 7200,
            ticket_age_tolerance_ms: 10_000,
            suites: ALL_SUITES.to_vec(),
            live_suites: RwLock::new(None),
            server_preference: true,
            groups: vec![NamedGroup::X25519, NamedGroup::Secp256r1],
            client_auth_roots: Vec::new(),
            require_client_cert: true,
            request_client_cert: false,
            client_ca_names: Vec::new(),
            external_psks: Vec::new(),
            allow_psk_ke: false,
            stateful_tickets: false,
            max_early_data: 0,
            anti_replay: true,
            session_cache: Mutex::new(SessionCache::default()),
            cache_server: AtomicBool::new(true),
            ticket_callbacks: RwLock::new(None),
            new_session_cb: RwLock::new(None),
        }
    }

    /// Adds a certificate (chain leaf first, the leaf's PKCS#8 key) after those already held.
    pub fn add_certificate(
        &mut self,
        cert_chain: Vec<Vec<u8>>,
        key_pkcs8: &[u8],
    ) -> Result<(), ConfigError> {
        self.certs.push(CertifiedKey::new(cert_chain, key_pkcs8)?);
        Ok(())
    }
}

impl ServerConfig {
    /// Sets the context's N (OpenSSL's `SSL_CTX_set_num_tickets`); new connections copy it.
    pub fn set_num_tickets(&self, n: u64) {
        self.num_tickets.store(n, Ordering::Relaxed);
    }

    /// The context's N (OpenSSL's `SSL_CTX_get_num_tickets`).
    pub fn num_tickets(&self) -> u64 {
        self.num_tickets.load(Ordering::Relaxed)
    }

    /// What a new connection copies from this configuration.
    pub fn settings(&self) -> ConnSettings {
        ConnSettings {
            num_tickets: self.num_tickets(),
            server_preference: self.server_preference,
            allow_psk_ke: self.allow_psk_ke,
            stateful_tickets: self.stateful_tickets,
            max_early_data: self.max_early_data,
            anti_replay: self.anti_replay,
        }
    }

    /// Replaces the suites (`None`: back to `suites`), for every connection from now on,
    /// including those already made.
    pub fn set_suites(&self, suites: Option<Vec<&'static CipherSuite>>) {
        *self.live_suites.write().unwrap_or_else(|e| e.into_inner()) = suites;
    }

    /// The suites in effect.
    pub fn current_suites(&self) -> Vec<&'static CipherSuite> {
        self.live_suites
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| self.suites.clone())
    }

    /// The session cache of stateful tickets.
    pub fn session_cache(&self) -> MutexGuard<'_, SessionCache> {
        self.session_cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets whether tickets made from now on go into the session cache and notify (OpenSSL's
    /// `SSL_CTX_set_session_cache_mode` with `SSL_SESS_CACHE_SERVER` or `SSL_SESS_CACHE_OFF`).
    pub fn set_cache_server(&self, on: bool) {
        self.cache_server.store(on, Ordering::Relaxed);
    }

    pub fn cache_server(&self) -> bool {
        self.cache_server.load(Ordering::Relaxed)
    }

    /// Sets (or removes) the ticket callbacks (OpenSSL's `SSL_CTX_set_session_ticket_cb`).
    pub fn set_ticket_callbacks(&self, cbs: Option<TicketCallbacks>) {
        *self
            .ticket_callbacks
            .write()
            .unwrap_or_else(|e| e.into_inner()) = cbs;
    }

    pub(crate) fn ticket_callbacks(&self) -> Option<TicketCallbacks> {
        self.ticket_callbacks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets (or removes) the new-session callback (OpenSSL's `SSL_CTX_sess_set_new_cb`).
    pub fn set_new_session_callback(&self, cb: Option<NewSessionCallback>) {
        *self
            .new_session_cb
            .write()
            .unwrap_or_else(|e| e.into_inner()) = cb;
    }

    /// Calls the new-session callback, if one is set.
    pub(crate) fn notify_new_session(&self) {
        let cb = self
            .new_session_cb
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(cb) = cb {
            cb();
        }
    }
}

/// What a connection copies from its context when it is made (OpenSSL's `SSL_new`): changing the
/// context later does not touch it.
#[derive(Clone, Debug)]
pub struct ConnSettings {
    /// N, the ticket count.
    pub num_tickets: u64,
    pub server_preference: bool,
    pub allow_psk_ke: bool,
    pub stateful_tickets: bool,
    pub max_early_data: u32,
    pub anti_replay: bool,
}

impl ConnSettings {
    /// How this connection's tickets are made.
    pub fn ticket_kind(&self) -> TicketKind {
        super::tickets::ticket_kind(self.stateful_tickets, self.max_early_data, self.anti_replay)
    }

    /// Whether a session resumed here leaves the cache.
    pub fn single_use(&self) -> bool {
        super::tickets::single_use(self.max_early_data, self.anti_replay)
    }
}
