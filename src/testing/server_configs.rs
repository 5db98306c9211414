//! The servers the benches and examples compare, as they compare them: the native server and
//! rustls (ring), both with the test certificate and stateless tickets; where the two are
//! compared with each other, both held to TLS_AES_128_GCM_SHA256 and X25519.

use crate::native::suites::TLS_AES_128_GCM_SHA256;
use crate::native::{NamedGroup, ServerConfig};
use crate::pki::pki;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The native server with the test certificate, held to TLS_AES_128_GCM_SHA256 and X25519.
pub fn pinned_native_config(ticket_key: [u8; 32]) -> ServerConfig {
    let mut config = pki()
        .native_server_config(ticket_key)
        .expect("native server config");
    config.suites = vec![&TLS_AES_128_GCM_SHA256];
    config.groups = vec![NamedGroup::X25519];
    config
}

/// ring held to TLS_AES_128_GCM_SHA256 and X25519.
pub fn pinned_rustls_provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: vec![rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256],
        kx_groups: vec![rustls::crypto::ring::kx_group::X25519],
        ..rustls::crypto::ring::default_provider()
    }
}

/// A rustls server with the test certificate, no client authentication, and stateless tickets
/// (ring's `Ticketer`, as OpenSSL's default).
pub fn rustls_server_config(
    provider: CryptoProvider,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> rustls::ServerConfig {
    let p = pki();
    let mut config = rustls::ServerConfig::builder_with_provider(provider.into())
        .with_protocol_versions(versions)
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(p.server.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(p.server.key_pkcs8.clone())),
        )
        .expect("server certificate");
    config.ticketer = rustls::crypto::ring::Ticketer::new().expect("ticketer");
    config
}
