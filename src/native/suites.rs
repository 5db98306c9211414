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

/// Key-exchange groups (RFC 8446 section 4.2.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamedGroup {
    X25519,
    Secp256r1,
}

impl NamedGroup {
    pub fn id(self) -> u16 {
        match self {
            NamedGroup::X25519 => 0x001d,
            NamedGroup::Secp256r1 => 0x0017,
        }
    }

    pub fn from_id(id: u16) -> Option<Self> {
        match id {
            0x001d => Some(NamedGroup::X25519),
            0x0017 => Some(NamedGroup::Secp256r1),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            NamedGroup::X25519 => "X25519",
            NamedGroup::Secp256r1 => "secp256r1",
        }
    }

    pub(crate) fn agreement(self) -> &'static ring::agreement::Algorithm {
        match self {
            NamedGroup::X25519 => &ring::agreement::X25519,
            NamedGroup::Secp256r1 => &ring::agreement::ECDH_P256,
        }
    }

    /// Whether `share` has the shape RFC 8446 4.2.8.2 requires for this group.
    pub(crate) fn share_well_formed(self, share: &[u8]) -> bool {
        match self {
            NamedGroup::X25519 => share.len() == 32,
            NamedGroup::Secp256r1 => share.len() == 65 && share[0] == 4,
        }
    }
}
