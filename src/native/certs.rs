//! The server's certificates and how one is chosen for a ClientHello, as OpenSSL 3.0 chooses
//! (`tls_choose_sigalg` and `find_sig_alg` in `ssl/t1_lib.c`): the first scheme in the client's
//! `signature_algorithms` (the client's order: OpenSSL's default without
//! `SSL_OP_CIPHER_SERVER_PREFERENCE`) that TLS 1.3 allows, that this server can sign with, and
//! for which it holds a certificate whose own signature the client accepts
//! (`signature_algorithms_cert` if sent; OpenSSL checks nothing when it is absent). OpenSSL holds
//! one certificate per key type; this server may hold several (P-256 and P-384 both), and takes
//! the first in its configured order that fits.

use super::der;
use super::error::Error;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};

/// Why a certificate and key cannot serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// No certificate was given.
    EmptyCertChain,
    /// The private key cannot be read or does not fit (the text says why).
    BadPrivateKey(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::EmptyCertChain => f.write_str("the certificate chain is empty"),
            ConfigError::BadPrivateKey(why) => write!(f, "the private key cannot serve: {why}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// TLS SignatureScheme code points the server signs with.
pub mod scheme {
    pub const ECDSA_SECP256R1_SHA256: u16 = 0x0403;
    pub const ECDSA_SECP384R1_SHA384: u16 = 0x0503;
    pub const ED25519: u16 = 0x0807;
    pub const RSA_PSS_RSAE_SHA256: u16 = 0x0804;
    pub const RSA_PSS_RSAE_SHA384: u16 = 0x0805;
    pub const RSA_PSS_RSAE_SHA512: u16 = 0x0806;
}

/// The kinds of key a server certificate may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
    /// RSA (rsaEncryption), signing with RSA-PSS (`rsa_pss_rsae_*`).
    Rsa,
}

impl KeyKind {
    pub const ALL: [KeyKind; 4] = [
        KeyKind::EcdsaP256,
        KeyKind::EcdsaP384,
        KeyKind::Rsa,
        KeyKind::Ed25519,
    ];

    /// The schemes a key of this kind signs with in TLS 1.3.
    pub fn schemes(self) -> &'static [u16] {
        use scheme::*;
        match self {
            KeyKind::EcdsaP256 => &[ECDSA_SECP256R1_SHA256],
            KeyKind::EcdsaP384 => &[ECDSA_SECP384R1_SHA384],
            KeyKind::Ed25519 => &[ED25519],
            KeyKind::Rsa => &[
                RSA_PSS_RSAE_SHA256,
                RSA_PSS_RSAE_SHA384,
                RSA_PSS_RSAE_SHA512,
            ],
        }
    }

    /// The name `ticketdiff serve --cert` takes.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::EcdsaP256 => "ecdsa-p256",
            KeyKind::EcdsaP384 => "ecdsa-p384",
            KeyKind::Ed25519 => "ed25519",
            KeyKind::Rsa => "rsa",
        }
    }
}

impl std::str::FromStr for KeyKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = KeyKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown certificate type {s:?} (one of {})",
                    names.join(", ")
                )
            })
    }
}

enum SigningKey {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A certificate chain (leaf first) with the leaf's private key.
pub struct CertifiedKey {
    pub chain: Vec<Vec<u8>>,
    pub kind: KeyKind,
    key: SigningKey,
    /// The scheme naming the leaf's own signature (for `signature_algorithms_cert`).
    leaf_signed_with: Option<u16>,
    /// The DER Name of the chain's last issuer (for `certificate_authorities`).
    top_issuer: Vec<u8>,
}

impl CertifiedKey {
    /// `chain`: DER certificates, leaf first; `key_pkcs8`: the leaf's key, PKCS#8 (v1 or v2),
    /// any of the [`KeyKind`]s.
    pub fn new(chain: Vec<Vec<u8>>, key_pkcs8: &[u8]) -> Result<Self, ConfigError> {
        let leaf = chain.first().ok_or(ConfigError::EmptyCertChain)?;
        let leaf_signed_with =
            der::cert_info(leaf).and_then(|i| der::signature_scheme(i.signature_oid));
        let top_issuer = chain
            .last()
            .and_then(|c| der::cert_info(c))
            .map(|i| i.issuer.to_vec())
            .unwrap_or_default();
        let (kind, key) = parse_key(key_pkcs8)?;
        Ok(CertifiedKey {
            chain,
            kind,
            key,
            leaf_signed_with,
            top_issuer,
        })
    }

    /// The DER Name of the issuer the chain ends at (what a client's `certificate_authorities`
    /// would list).
    pub fn top_issuer(&self) -> &[u8] {
        &self.top_issuer
    }

    /// Whether the client accepts the leaf's own signature: `signature_algorithms_cert` lists
    /// its scheme, or the client sent none.
    fn usable(&self, sig_algs_cert: Option<&[u16]>) -> bool {
        match (sig_algs_cert, self.leaf_signed_with) {
            (None, _) => true,
            (Some(list), Some(s)) => list.contains(&s),
            (Some(_), None) => false,
        }
    }

    /// Signs `msg` with `scheme` (one of this key's [`KeyKind::schemes`]).
    pub fn sign(&self, scheme: u16, msg: &[u8]) -> Result<Vec<u8>, Error> {
        let rng = SystemRandom::new();
        let failed = |_| Error::Internal("signing failed");
        match &self.key {
            SigningKey::Ecdsa(k) => Ok(k.sign(&rng, msg).map_err(failed)?.as_ref().to_vec()),
            SigningKey::Ed25519(k) => Ok(k.sign(msg).as_ref().to_vec()),
            SigningKey::Rsa(k) => {
                let pad: &'static dyn signature::RsaEncoding = match scheme {
                    scheme::RSA_PSS_RSAE_SHA256 => &signature::RSA_PSS_SHA256,
                    scheme::RSA_PSS_RSAE_SHA384 => &signature::RSA_PSS_SHA384,
                    scheme::RSA_PSS_RSAE_SHA512 => &signature::RSA_PSS_SHA512,
                    _ => return Err(Error::Internal("scheme not for an RSA key")),
                };
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(pad, &rng, msg, &mut sig).map_err(failed)?;
                Ok(sig)
            }
        }
    }
}

fn parse_key(pkcs8: &[u8]) -> Result<(KeyKind, SigningKey), ConfigError> {
    let rng = SystemRandom::new();
    let ecdsa = |alg, kind| {
        EcdsaKeyPair::from_pkcs8(alg, pkcs8, &rng)
            .ok()
            .map(|k| (kind, SigningKey::Ecdsa(k)))
    };
    ecdsa(
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        KeyKind::EcdsaP256,
    )
    .or_else(|| {
        ecdsa(
            &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            KeyKind::EcdsaP384,
        )
    })
    // OpenSSL writes PKCS#8 v1 Ed25519 keys (no public key inside); ring checks v2 ones.
    .or_else(|| {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
            .ok()
            .map(|k| (KeyKind::Ed25519, SigningKey::Ed25519(k)))
    })
    .or_else(|| {
        RsaKeyPair::from_pkcs8(pkcs8)
            .ok()
            .map(|k| (KeyKind::Rsa, SigningKey::Rsa(k)))
    })
    .ok_or_else(|| {
        ConfigError::BadPrivateKey(
            "not a P-256, P-384, Ed25519 or RSA key in PKCS#8 (or RSA under 2048 bits)".into(),
        )
    })
}

/// The subject Name of a DER certificate (for a CertificateRequest's `certificate_authorities`,
/// as OpenSSL's `SSL_CTX_set_client_CA_list` sends them), or `None` if it does not parse.
pub fn subject_name(cert: &[u8]) -> Option<Vec<u8>> {
    der::cert_info(cert).map(|i| i.subject.to_vec())
}

/// What the ClientHello says about the certificates it can take.
pub struct Wanted<'a> {
    pub sig_algs: &'a [u16],
    pub sig_algs_cert: Option<&'a [u16]>,
    /// DER Names from the client's `certificate_authorities`, if sent.
    pub authorities: Option<&'a [Vec<u8>]>,
}

/// The certificate (its index in `certs`) and scheme for this client, or `None` (then
/// `handshake_failure`).
///
/// `certificate_authorities` (which OpenSSL's server ignores) only narrows the choice: the
/// certificates whose chain ends at a listed issuer are tried first, all of them after.
pub fn choose(certs: &[CertifiedKey], wanted: &Wanted<'_>) -> Option<(usize, u16)> {
    let listed = |c: &CertifiedKey| {
        wanted
            .authorities
            .is_some_and(|names| names.contains(&c.top_issuer))
    };
    let fits =
        |c: &CertifiedKey, s: u16| c.kind.schemes().contains(&s) && c.usable(wanted.sig_algs_cert);
    [true, false].into_iter().find_map(|only_listed| {
        wanted.sig_algs.iter().find_map(|&s| {
            certs
                .iter()
                .position(|c| (!only_listed || listed(c)) && fits(c, s))
                .map(|i| (i, s))
        })
    })
}
