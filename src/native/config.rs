//! Server configuration, shared by connections.

use super::suites::{CipherSuite, NamedGroup, ALL_SUITES};
use super::ticket::TicketKey;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use std::sync::atomic::{AtomicU64, Ordering};

/// Configuration errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    EmptyCertChain,
    BadPrivateKey(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for ConfigError {}

/// Everything a [`super::ServerConnection`] needs that does not change per connection.
pub struct ServerConfig {
    pub(crate) cert_chain: Vec<Vec<u8>>,
    pub(crate) signing_key: EcdsaKeyPair,
    pub(crate) ticket_key: TicketKey,
    /// The context's ticket count N (2 by default, like OpenSSL): copied by each new connection,
    /// so changing it later does not touch existing connections.
    num_tickets: AtomicU64,
    /// Ticket lifetime sent in NewSessionTicket, in seconds (7200 like OpenSSL).
    pub ticket_lifetime_s: u32,
    /// How far the client's ticket age may be from the server's view, in milliseconds.
    pub ticket_age_tolerance_ms: u64,
    /// Cipher suites in order of preference.
    pub suites: Vec<&'static CipherSuite>,
    /// Key-exchange groups in order of preference.
    pub groups: Vec<NamedGroup>,
    /// Trust anchors (DER CA certificates) for post-handshake client authentication.
    pub client_auth_roots: Vec<Vec<u8>>,
    /// Whether post-handshake auth fails (`certificate_required`) when the client sends no certificate.
    pub require_client_cert: bool,
}

impl ServerConfig {
    /// `cert_chain`: DER certificates, leaf first; `key_pkcs8`: the leaf's P-256 key;
    /// `ticket_key`: the key that seals session tickets.
    pub fn new(
        cert_chain: Vec<Vec<u8>>,
        key_pkcs8: &[u8],
        ticket_key: [u8; 32],
    ) -> Result<Self, ConfigError> {
        if cert_chain.is_empty() {
            return Err(ConfigError::EmptyCertChain);
        }
        let signing_key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            key_pkcs8,
            &ring::rand::SystemRandom::new(),
        )
        .map_err(|e| ConfigError::BadPrivateKey(e.to_string()))?;
        Ok(ServerConfig {
            cert_chain,
            signing_key,
            ticket_key: TicketKey::new(ticket_key),
            num_tickets: AtomicU64::new(2),
            ticket_lifetime_s: 7200,
            ticket_age_tolerance_ms: 10_000,
            suites: ALL_SUITES.to_vec(),
            groups: vec![NamedGroup::X25519, NamedGroup::Secp256r1],
            client_auth_roots: Vec::new(),
            require_client_cert: true,
        })
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
}
