//! Cipher suites and key-exchange groups the server supports.

use ring::{aead, digest, hkdf, hmac};

/// A TLS 1.3 cipher suite: AEAD plus hash.
pub struct CipherSuite {
    pub id: u16,
    pub name: &'static str,
    pub aead: &'static aead::Algorithm,
    pub digest: &'static digest::Algorithm,
    pub hmac: hmac::Algorithm,
    pub hkdf: hkdf::Algorithm,
}

impl CipherSuite {
    pub fn hash_len(&self) -> usize {
        self.digest.output_len()
    }

    pub fn key_len(&self) -> usize {
        self.aead.key_len()
    }

    pub fn by_id(id: u16) -> Option<&'static CipherSuite> {
        ALL_SUITES.iter().copied().find(|s| s.id == id)
    }
}

impl std::fmt::Debug for CipherSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for CipherSuite {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

pub static TLS_AES_128_GCM_SHA256: CipherSuite = CipherSuite {
    id: 0x1301,
    name: "TLS_AES_128_GCM_SHA256",
    aead: &aead::AES_128_GCM,
    digest: &digest::SHA256,
    hmac: hmac::HMAC_SHA256,
    hkdf: hkdf::HKDF_SHA256,
};

pub static TLS_AES_256_GCM_SHA384: CipherSuite = CipherSuite {
    id: 0x1302,
    name: "TLS_AES_256_GCM_SHA384",
    aead: &aead::AES_256_GCM,
    digest: &digest::SHA384,
    hmac: hmac::HMAC_SHA384,
    hkdf: hkdf::HKDF_SHA384,
};

pub static TLS_CHACHA20_POLY1305_SHA256: CipherSuite = CipherSuite {
    id: 0x1303,
    name: "TLS_CHACHA20_POLY1305_SHA256",
    aead: &aead::CHACHA20_POLY1305,
    digest: &digest::SHA256,
    hmac: hmac::HMAC_SHA256,
    hkdf: hkdf::HKDF_SHA256,
};

/// All suites, in the server's default order of preference.
pub static ALL_SUITES: [&CipherSuite; 3] = [
    &TLS_AES_128_GCM_SHA256,
    &TLS_AES_256_GCM_SHA384,
    &TLS_CHACHA20_POLY1305_SHA256,
];

/// Key-exchange groups (RFC 8446 section 4.2.7, and the hybrid of draft-ietf-tls-ecdhe-mlkem).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NamedGroup {
    X25519,
    Secp256r1,
    Secp384r1,
    /// ML-KEM-768 with X25519.
    X25519MlKem768,
}

impl NamedGroup {
    pub const ALL: [NamedGroup; 4] = [
        NamedGroup::X25519MlKem768,
        NamedGroup::X25519,
        NamedGroup::Secp256r1,
        NamedGroup::Secp384r1,
    ];

    pub fn id(self) -> u16 {
        match self {
            NamedGroup::X25519 => 0x001d,
            NamedGroup::Secp256r1 => 0x0017,
            NamedGroup::Secp384r1 => 0x0018,
            NamedGroup::X25519MlKem768 => 0x11ec,
        }
    }

    pub fn from_id(id: u16) -> Option<Self> {
        NamedGroup::ALL.into_iter().find(|g| g.id() == id)
    }

    /// The IANA name (as OpenSSL's group lists take it).
    pub fn name(self) -> &'static str {
        match self {
            NamedGroup::X25519 => "X25519",
            NamedGroup::Secp256r1 => "secp256r1",
            NamedGroup::Secp384r1 => "secp384r1",
            NamedGroup::X25519MlKem768 => "X25519MLKEM768",
        }
    }
}

impl std::str::FromStr for NamedGroup {
    type Err = String;

    /// The IANA name or OpenSSL's NIST alias (`P-256`, `P-384`), in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let alias = match s.to_ascii_lowercase().as_str() {
            "p-256" | "prime256v1" => "secp256r1".to_string(),
            "p-384" => "secp384r1".to_string(),
            other => other.to_string(),
        };
        NamedGroup::ALL
            .into_iter()
            .find(|g| g.name().eq_ignore_ascii_case(&alias))
            .ok_or_else(|| {
                let names: Vec<_> = NamedGroup::ALL.iter().map(|g| g.name()).collect();
                format!("unknown group {s:?} (one of {})", names.join(", "))
            })
    }
}
