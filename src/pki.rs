//! The test PKI every backend, `ticketdiff serve`, the tests, benches, examples and fuzz targets
//! share: an Ed25519 CA, a server certificate for `localhost` and 127.0.0.1, and a client
//! certificate (for client authentication), in DER and PEM. [`pki`] is the one made once per
//! process; [`Pki::generate`] makes another, for a test that needs a second CA.
//!
//! The server and client certificates above are Ed25519 ([`PRIMARY`]), and what every backend
//! presents, because the same program must give the same trace every time: how many tickets
//! fit on a full wire depends on every byte before them, and an Ed25519 signature is always 64
//! bytes where an ECDSA one's DER length varies from signature to signature (so did the number
//! of tickets that fit, by one, in about one run in twenty). For the same reason each
//! certificate has a fixed serial number (rcgen's default, a hash of the key, is one byte
//! shorter when it starts with a zero byte), and rcgen's fixed validity dates.
//!
//! Server and client certificates with the other key types ([`KeyKind`]: P-256, P-384, RSA
//! 2048) are made on first use by [`Pki::server_identity`] and [`Pki::client_identity`], so
//! that a process that needs none (every fuzz worker) does not pay for an RSA key. Every key
//! comes from OpenSSL, not rcgen: ring cannot generate RSA keys, and OpenSSL 3.0 rejects the
//! PKCS#8 v2 Ed25519 keys ring writes (OpenSSL writes v1, which ring reads too).

use crate::native::{ConfigError, KeyKind, ServerConfig};
use openssl::pkey::{PKey, Private};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use rustls_pki_types::PrivatePkcs8KeyDer;
use std::sync::OnceLock;

/// The key type of the CA and of [`Pki::server`] and [`Pki::client`].
pub const PRIMARY: KeyKind = KeyKind::Ed25519;

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
    /// The server identities of the other key types, made on first use (in `KeyKind::ALL`
    /// order; [`PRIMARY`]'s slot stays empty).
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
    /// The serial number of this role's certificate with a key of `kind`: fixed, so that every
    /// certificate has the same length in every process; distinct, as RFC 5280 wants of one
    /// CA. The first byte is below 0x80 and not 0, so the DER integer is always 20 bytes.
    fn serial(self, kind: KeyKind) -> SerialNumber {
        let role = match self {
            Role::Server => 0x20,
            Role::Client => 0x30,
        };
        let mut serial = [0x5a; 20];
        serial[0] = role + kind_index(kind) as u8;
        SerialNumber::from_slice(&serial)
    }

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

/// A fresh OpenSSL key of `kind` as PKCS#8 DER and PEM.
fn openssl_pkcs8(kind: KeyKind) -> (Vec<u8>, String) {
    let key = openssl_key(kind).expect("OpenSSL key generation");
    let der = key.private_key_to_pkcs8().expect("PKCS#8 encoding");
    let pem = key.private_key_to_pem_pkcs8().expect("PEM encoding");
    (der, String::from_utf8(pem).expect("PEM is ASCII"))
}

/// A leaf certificate for a fresh OpenSSL key of `kind`, signed by `issuer`, for `role`.
fn openssl_leaf(
    kind: KeyKind,
    issuer: &Issuer<'_, KeyPair>,
    role: Role,
) -> Result<Identity, rcgen::Error> {
    let (der, pem) = openssl_pkcs8(kind);
    let public = KeyPair::try_from(&PrivatePkcs8KeyDer::from(der.as_slice()))?;
    let mut id = leaf(&public, kind, issuer, role)?;
    id.key_pkcs8 = der;
    id.key_pem = pem;
    Ok(id)
}

fn kind_index(kind: KeyKind) -> usize {
    KeyKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is in ALL")
}

/// A leaf certificate for `key` (of `kind`) signed by `issuer`, for `role`.
fn leaf(
    key: &KeyPair,
    kind: KeyKind,
    issuer: &Issuer<'_, KeyPair>,
    role: Role,
) -> Result<Identity, rcgen::Error> {
    let (names, cn, usage) = role.names();
    let mut params = CertificateParams::new(names)?;
    params.serial_number = Some(role.serial(kind));
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
    ca_params.serial_number = Some(SerialNumber::from_slice(&[0x10; 20]));
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

/// Why parts another process sent cannot be this process's PKI.
#[derive(Debug, thiserror::Error)]
pub enum PartsError {
    /// A certificate or key that does not parse, or a key that is not its certificate's.
    #[error("{0} is not usable")]
    Unusable(String),
    #[error(transparent)]
    Rcgen(#[from] rcgen::Error),
}

fn check_parts(parts: &PkiParts) -> Result<(), PartsError> {
    use openssl::x509::X509;
    let bad = |what: String| PartsError::Unusable(what);
    let ca = X509::from_der(&parts.ca_cert_der).map_err(|_| bad("CA certificate".into()))?;
    X509::from_pem(parts.ca_cert_pem.as_bytes()).map_err(|_| bad("CA certificate PEM".into()))?;
    let ca_key =
        PKey::private_key_from_pkcs8(&parts.ca_key_pkcs8).map_err(|_| bad("CA key".into()))?;
    let pairs = |cert: &X509, key: &PKey<Private>| {
        cert.public_key().is_ok_and(|public| public.public_eq(key))
    };
    if !pairs(&ca, &ca_key) {
        return Err(bad("CA key (not the certificate's)".into()));
    }
    for (who, id) in [("server", &parts.server), ("client", &parts.client)] {
        let cert = X509::from_der(&id.cert_der).map_err(|_| bad(format!("{who} certificate")))?;
        X509::from_pem(id.cert_pem.as_bytes())
            .map_err(|_| bad(format!("{who} certificate PEM")))?;
        let key =
            PKey::private_key_from_pkcs8(&id.key_pkcs8).map_err(|_| bad(format!("{who} key")))?;
        PKey::private_key_from_pem(id.key_pem.as_bytes())
            .map_err(|_| bad(format!("{who} key PEM")))?;
        if !pairs(&cert, &key) {
            return Err(bad(format!("{who} key (not the certificate's)")));
        }
    }
    Ok(())
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
        let ca_key = KeyPair::try_from(openssl_pkcs8(PRIMARY).0.as_slice())?;
        let ca_params = ca_params()?;
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params.clone(), ca_key);
        let server = openssl_leaf(PRIMARY, &issuer, Role::Server)?;
        let client = openssl_leaf(PRIMARY, &issuer, Role::Client)?;
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

    /// The PKI another process made, from its [`Pki::parts`]. The parts crossed a pipe, so
    /// they are checked: every certificate and key must parse and each key be its
    /// certificate's, since the backends take the test PKI as given and would panic at its
    /// first use.
    pub fn from_parts(parts: PkiParts) -> Result<Pki, PartsError> {
        check_parts(&parts)?;
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

    /// The server identity with a key of `kind`, signed by this CA (the [`PRIMARY`] one is
    /// [`Pki::server`]).
    pub fn server_identity(&self, kind: KeyKind) -> &Identity {
        match kind {
            PRIMARY => &self.server,
            _ => self.more_servers[kind_index(kind)]
                .get_or_init(|| self.another_leaf(kind, Role::Server)),
        }
    }

    /// The client identity with a key of `kind` (the [`PRIMARY`] one is [`Pki::client`]).
    pub fn client_identity(&self, kind: KeyKind) -> &Identity {
        match kind {
            PRIMARY => &self.client,
            _ => self.more_clients[kind_index(kind)]
                .get_or_init(|| self.another_leaf(kind, Role::Client)),
        }
    }

    fn another_leaf(&self, kind: KeyKind, role: Role) -> Identity {
        let made = KeyPair::try_from(self.ca_key_pkcs8.as_slice()).and_then(|ca_key| {
            let issuer = Issuer::new(self.ca_params.clone(), ca_key);
            openssl_leaf(kind, &issuer, role)
        });
        made.expect("signing a test certificate")
    }
    /// A native server configuration with this PKI's server certificate, checking client
    /// certificates against this CA, sealing tickets with `ticket_key`; everything else the
    /// native server's defaults.
    pub fn native_server_config(&self, ticket_key: [u8; 32]) -> Result<ServerConfig, ConfigError> {
        self.native_server_config_with(&[PRIMARY], ticket_key)
    }

    /// [`Pki::native_server_config`] with the P-256 server certificate instead: for the
    /// ClientHellos the tests make by hand ([`crate::testing::client_hello`]) and the native
    /// fuzz targets' inputs, which offer ECDSA P-256 and RSA-PSS.
    pub fn native_p256_server_config(
        &self,
        ticket_key: [u8; 32],
    ) -> Result<ServerConfig, ConfigError> {
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
            &[webpki::ring::ED25519],
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

    #[test]
    fn every_pki_has_certificates_of_the_same_lengths_with_fixed_serials() {
        let lengths = |p: &Pki| {
            [
                &p.ca_cert_der,
                &p.server.cert_der,
                &p.client.cert_der,
                &p.server.key_pkcs8,
            ]
            .map(Vec::len)
        };
        let first = Pki::generate().unwrap();
        for _ in 0..4 {
            let other = Pki::generate().unwrap();
            assert_ne!(other.server.key_pkcs8, first.server.key_pkcs8);
            assert_eq!(lengths(&other), lengths(&first));
        }
        let serial = |der: &[u8]| {
            let cert = openssl::x509::X509::from_der(der).unwrap();
            cert.serial_number().to_bn().unwrap().to_vec()
        };
        let p = pki();
        let mut serials = vec![serial(&p.ca_cert_der)];
        for kind in KeyKind::ALL {
            serials.push(serial(&p.server_identity(kind).cert_der));
            serials.push(serial(&p.client_identity(kind).cert_der));
        }
        assert!(serials.iter().all(|s| s.len() == 20), "{serials:?}");
        let mut distinct = serials.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), serials.len());
    }
}
