//! The test PKI every backend, `ticketdiff serve`, the tests, benches, examples and fuzz targets
//! share: a P-256 CA, a server certificate for `localhost` and 127.0.0.1, and a client
//! certificate (for post-handshake authentication), in DER and PEM. [`pki`] is the one made once
//! per process; [`Pki::generate`] makes another, for a test that needs a second CA.
//!
//! P-256 throughout: OpenSSL 3.0 rejects the PKCS#8 v2 Ed25519 keys rcgen writes.

use crate::native::{ConfigError, ServerConfig};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use std::sync::OnceLock;

/// A certificate signed by the test CA, with its private key.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The leaf certificate.
    pub cert_der: Vec<u8>,
    pub cert_pem: String,
    /// The leaf's PKCS#8 private key.
    pub key_pkcs8: Vec<u8>,
    pub key_pem: String,
}

/// The whole test PKI.
#[derive(Clone, Debug)]
pub struct Pki {
    pub ca_cert_der: Vec<u8>,
    pub ca_cert_pem: String,
    /// For `localhost` and 127.0.0.1.
    pub server: Identity,
    pub client: Identity,
}

static PKI: OnceLock<Pki> = OnceLock::new();

/// The process's PKI, made on first use.
pub fn pki() -> &'static Pki {
    PKI.get_or_init(|| Pki::generate().expect("generating the test PKI"))
}

/// Makes `pki` the process's PKI, before anything used one: a worker process serves with the
/// certificates of the ticketdiff that started it, which its client trusts. `Err` gives it
/// back when the process already has one.
pub fn install(pki: Pki) -> Result<(), Pki> {
    PKI.set(pki)
}

impl Pki {
    /// A fresh CA (named as every other: only its key tells it apart) and its two leaves.
    pub fn generate() -> Result<Pki, rcgen::Error> {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ticketdiff test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf = |names: Vec<String>, cn: &str, usage: ExtendedKeyUsagePurpose| {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
            // rcgen makes a name that parses as an address an IP address SAN.
            let mut params = CertificateParams::new(names)?;
            params.distinguished_name.push(DnType::CommonName, cn);
            params.extended_key_usages = vec![usage];
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            let cert = params.signed_by(&key, &issuer)?;
            Ok::<_, rcgen::Error>(Identity {
                cert_der: cert.der().to_vec(),
                cert_pem: cert.pem(),
                key_pkcs8: key.serialize_der(),
                key_pem: key.serialize_pem(),
            })
        };
        let server = leaf(
            vec!["localhost".into(), "127.0.0.1".into()],
            "localhost",
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        let client = leaf(
            Vec::new(),
            "ticketdiff test client",
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        Ok(Pki {
            ca_cert_der: ca_cert.der().to_vec(),
            ca_cert_pem: ca_cert.pem(),
            server,
            client,
        })
    }

    /// A native server configuration with this PKI's server certificate, checking client
    /// certificates against this CA, sealing tickets with `ticket_key`; everything else the
    /// native server's defaults.
    pub fn native_server_config(&self, ticket_key: [u8; 32]) -> Result<ServerConfig, ConfigError> {
        let mut config = ServerConfig::new(
            vec![self.server.cert_der.clone()],
            &self.server.key_pkcs8,
            ticket_key,
        )?;
        config.client_auth_roots = vec![self.ca_cert_der.clone()];
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_certificate_names_localhost_and_loopback_and_chains_to_the_ca() {
        use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
        let p = pki();
        let ca = CertificateDer::from(p.ca_cert_der.clone());
        let anchor = webpki::anchor_from_trusted_cert(&ca).unwrap();
        let leaf = CertificateDer::from(p.server.cert_der.clone());
        let cert = webpki::EndEntityCert::try_from(&leaf).unwrap();
        let now = UnixTime::now();
        cert.verify_for_usage(
            &[webpki::ring::ECDSA_P256_SHA256],
            &[anchor],
            &[],
            now,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .unwrap();
        for name in ["localhost", "127.0.0.1"] {
            let name = ServerName::try_from(name).unwrap();
            cert.verify_is_valid_for_subject_name(&name).unwrap();
        }
        let other = ServerName::try_from("example.com").unwrap();
        assert!(cert.verify_is_valid_for_subject_name(&other).is_err());
        assert!(p.server.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(p.client.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }
}
