//! The test PKI every backend shares: a P-256 CA, a server certificate for `localhost` and a
//! client certificate (for post-handshake authentication), made once per process.
//!
//! P-256 throughout: OpenSSL 3.0 rejects the PKCS#8 v2 Ed25519 keys rcgen writes.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use std::sync::OnceLock;

/// A certificate with its issuer chain and private key, in DER.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The leaf certificate.
    pub cert_der: Vec<u8>,
    /// The leaf's PKCS#8 private key.
    pub key_pkcs8: Vec<u8>,
}

/// The whole test PKI.
#[derive(Clone, Debug)]
pub struct Pki {
    pub ca_cert_der: Vec<u8>,
    pub ca_cert_pem: String,
    pub server: Identity,
    pub client: Identity,
}

/// The process's PKI, made on first use.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| make().expect("generating the test PKI"))
}

fn make() -> Result<Pki, rcgen::Error> {
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
        let mut params = CertificateParams::new(names)?;
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &issuer)?;
        Ok::<_, rcgen::Error>(Identity {
            cert_der: cert.der().to_vec(),
            key_pkcs8: key.serialize_der(),
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
