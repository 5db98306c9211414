//! The test PKI every backend, `ticketdiff serve`, the tests, benches, examples and fuzz targets
//! share: a P-256 CA, a server certificate for `localhost` and 127.0.0.1, and a client
//! certificate (for client authentication), in DER and PEM. [`pki`] is the one made once per
//! process; [`Pki::generate`] makes another, for a test that needs a second CA.
//!
//! The server and client certificates above are P-256, and what every backend presents. Server
//! and client certificates with the other key types ([`KeyKind`]: P-384, RSA 2048, Ed25519)
//! are made on first use by [`Pki::server_identity`] and [`Pki::client_identity`], so that a
//! process that needs none (every fuzz worker) does not pay for an RSA key. Their keys come
//! from OpenSSL, not rcgen: ring cannot generate RSA keys, and OpenSSL 3.0 rejects the PKCS#8 v2
//! Ed25519 keys ring writes (OpenSSL writes v1, which ring reads too).

use crate::native::{ConfigError, KeyKind, ServerConfig};
use openssl::pkey::{PKey, Private};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls_pki_types::PrivatePkcs8KeyDer;
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
    /// The CA's parameters and PKCS#8 key, to sign the identities made later.
    ca_params: CertificateParams,
    ca_key_pkcs8: Vec<u8>,
    /// P-384, RSA and Ed25519 server identities, made on first use (in `KeyKind::ALL` order).
    more_servers: [OnceLock<Identity>; 4],
    more_clients: [OnceLock<Identity>; 4],
}

/// Which end an identity is for: its names and extended key usage.
#[derive(Clone, Copy)]
enum Role {
    Server,
    Client,
}

impl Role {
    fn names(self) -> (Vec<String>, &'static str, ExtendedKeyUsagePurpose) {
        match self {
            // rcgen makes a name that parses as an address an IP address SAN.
            Role::Server => (
                vec!["localhost".into(), "127.0.0.1".into()],
                "localhost",
                ExtendedKeyUsagePurpose::ServerAuth,
            ),
            Role::Client => (
                Vec::new(),
                "ticketdiff test client",
                ExtendedKeyUsagePurpose::ClientAuth,
            ),
        }
    }
}

/// A fresh OpenSSL key of `kind`.
fn openssl_key(kind: KeyKind) -> Result<PKey<Private>, openssl::error::ErrorStack> {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    let ec = |nid| EcGroup::from_curve_name(nid).and_then(|g| EcKey::generate(&g));
    match kind {
        KeyKind::EcdsaP256 => PKey::from_ec_key(ec(Nid::X9_62_PRIME256V1)?),
        KeyKind::EcdsaP384 => PKey::from_ec_key(ec(Nid::SECP384R1)?),
        KeyKind::Rsa => PKey::from_rsa(openssl::rsa::Rsa::generate(2048)?),
        KeyKind::Ed25519 => PKey::generate_ed25519(),
    }
}

fn kind_index(kind: KeyKind) -> usize {
    KeyKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is in ALL")
}

/// A leaf certificate for `key` signed by `issuer`, for `role`.
fn leaf(key: &KeyPair, issuer: &Issuer<'_, KeyPair>, role: Role) -> Result<Identity, rcgen::Error> {
    let (names, cn, usage) = role.names();
    let mut params = CertificateParams::new(names)?;
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = params.signed_by(key, issuer)?;
    Ok(Identity {
        cert_der: cert.der().to_vec(),
        cert_pem: cert.pem(),
        key_pkcs8: key.serialize_der(),
        key_pem: key.serialize_pem(),
    })
}

/// The test CA's parameters: the same in every process, so that a CA's key and certificate
/// handed to another process sign there as here.
fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ticketdiff test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(ca_params)
}

/// What a worker process is given of ticketdiff's PKI: enough to serve what ticketdiff's
/// client trusts, and to sign the other identities there.
#[derive(Clone, Debug)]
pub struct PkiParts {
    pub ca_cert_der: Vec<u8>,
    pub ca_cert_pem: String,
    pub ca_key_pkcs8: Vec<u8>,
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
/// fails when the process already has one.
pub fn install(pki: Pki) -> Result<(), AlreadyMade> {
    PKI.set(pki).map_err(|_| AlreadyMade)
}

/// The process made or was given its PKI before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyMade;

impl Pki {
    /// A fresh CA (named as every other: only its key tells it apart) and its two leaves.
    pub fn generate() -> Result<Pki, rcgen::Error> {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let ca_params = ca_params()?;
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params.clone(), ca_key);

        let server = leaf(
            &KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?,
            &issuer,
            Role::Server,
        )?;
        let client = leaf(
            &KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?,
            &issuer,
            Role::Client,
        )?;
        Ok(Pki {
            ca_cert_der: ca_cert.der().to_vec(),
            ca_cert_pem: ca_cert.pem(),
            server,
            client,
            ca_params,
            ca_key_pkcs8: issuer.key().serialize_der(),
            more_servers: Default::default(),
            more_clients: Default::default(),
        })
    }

    /// What another process needs to have this PKI.
    pub fn parts(&self) -> PkiParts {
        PkiParts {
            ca_cert_der: self.ca_cert_der.clone(),
            ca_cert_pem: self.ca_cert_pem.clone(),
            ca_key_pkcs8: self.ca_key_pkcs8.clone(),
            server: self.server.clone(),
            client: self.client.clone(),
        }
    }

    /// The PKI another process made, from its [`Pki::parts`].
    pub fn from_parts(parts: PkiParts) -> Result<Pki, rcgen::Error> {
        Ok(Pki {
            ca_cert_der: parts.ca_cert_der,
            ca_cert_pem: parts.ca_cert_pem,
            server: parts.server,
            client: parts.client,
            ca_params: ca_params()?,
            ca_key_pkcs8: parts.ca_key_pkcs8,
            more_servers: Default::default(),
            more_clients: Default::default(),
        })
    }

    /// The server identity with a key of `kind`, signed by this CA (the P-256 one is
    /// [`Pki::server`]).
    pub fn server_identity(&self, kind: KeyKind) -> &Identity {
        match kind {
            KeyKind::EcdsaP256 => &self.server,
            _ => self.more_servers[kind_index(kind)]
                .get_or_init(|| self.openssl_leaf(kind, Role::Server)),
        }
    }

    /// The client identity with a key of `kind` (the P-256 one is [`Pki::client`]).
    pub fn client_identity(&self, kind: KeyKind) -> &Identity {
        match kind {
            KeyKind::EcdsaP256 => &self.client,
            _ => self.more_clients[kind_index(kind)]
                .get_or_init(|| self.openssl_leaf(kind, Role::Client)),
        }
    }

    fn openssl_leaf(&self, kind: KeyKind, role: Role) -> Identity {
        let key = openssl_key(kind).expect("OpenSSL key generation");
        let pkcs8 = key.private_key_to_pkcs8().expect("PKCS#8 encoding");
        let pem = key.private_key_to_pem_pkcs8().expect("PEM encoding");
        let made = (|| {
            let public = KeyPair::try_from(&PrivatePkcs8KeyDer::from(pkcs8.as_slice()))?;
            let ca_key = KeyPair::try_from(self.ca_key_pkcs8.as_slice())?;
            let issuer = Issuer::new(self.ca_params.clone(), ca_key);
            let mut id = leaf(&public, &issuer, role)?;
            id.key_pkcs8 = pkcs8.clone();
            id.key_pem = String::from_utf8(pem.clone()).expect("PEM is ASCII");
            Ok::<_, rcgen::Error>(id)
        })();
        made.expect("signing a test certificate")
    }
    /// A native server configuration with this PKI's server certificate, checking client
    /// certificates against this CA, sealing tickets with `ticket_key`; everything else the
    /// native server's defaults.
    pub fn native_server_config(&self, ticket_key: [u8; 32]) -> Result<ServerConfig, ConfigError> {
        self.native_server_config_with(&[KeyKind::EcdsaP256], ticket_key)
    }

    /// [`Pki::native_server_config`] holding the server identities of `kinds`, in that order
    /// (the first is preferred where several fit a client).
    pub fn native_server_config_with(
        &self,
        kinds: &[KeyKind],
        ticket_key: [u8; 32],
    ) -> Result<ServerConfig, ConfigError> {
        let mut config = ServerConfig::without_certificates(ticket_key);
        for kind in kinds {
            let id = self.server_identity(*kind);
            config.add_certificate(vec![id.cert_der.clone()], &id.key_pkcs8)?;
        }
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
