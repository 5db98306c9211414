//! The server's side of each key-exchange group: given the client's key share, the server's
//! share and the shared secret. ECDHE on ring; the hybrid X25519MLKEM768
//! (draft-ietf-tls-ecdhe-mlkem) adds ML-KEM-768 from libcrux (Cryspen's formally verified
//! implementation) to ring's X25519.

use super::error::Error;
use super::suites::NamedGroup;
use libcrux_ml_kem::mlkem768;
use ring::agreement;
use ring::rand::{SecureRandom, SystemRandom};

/// ML-KEM-768 encapsulation key and ciphertext sizes (FIPS 203).
pub const MLKEM768_PUBLIC_LEN: usize = 1184;
pub const MLKEM768_CIPHERTEXT_LEN: usize = 1088;
const X25519_LEN: usize = 32;

/// The server's answer to one key share.
pub struct ServerShare {
    /// What goes in the ServerHello's key_share.
    pub public: Vec<u8>,
    /// The (EC)DHE input to the key schedule.
    pub shared: Vec<u8>,
}

/// Whether `share` has the shape RFC 8446 4.2.8.2 (and the hybrid draft) requires for `group`:
/// checked when the ClientHello arrives, before anything else is decided on it.
pub fn share_well_formed(group: NamedGroup, share: &[u8]) -> bool {
    match group {
        NamedGroup::X25519 => share.len() == X25519_LEN,
        NamedGroup::Secp256r1 => share.len() == 65 && share[0] == 4,
        NamedGroup::Secp384r1 => share.len() == 97 && share[0] == 4,
        NamedGroup::X25519MlKem768 => share.len() == MLKEM768_PUBLIC_LEN + X25519_LEN,
    }
}

/// Answers the client's `share` for `group`; a share of the wrong shape, or one that is not a
/// valid key, is `illegal_parameter` (RFC 8446 4.2.8).
pub fn respond(group: NamedGroup, share: &[u8]) -> Result<ServerShare, Error> {
    let malformed = Error::IllegalParameter("malformed key share");
    if !share_well_formed(group, share) {
        return Err(malformed);
    }
    match group {
        NamedGroup::X25519 => ecdhe(&agreement::X25519, share),
        NamedGroup::Secp256r1 => ecdhe(&agreement::ECDH_P256, share),
        NamedGroup::Secp384r1 => ecdhe(&agreement::ECDH_P384, share),
        NamedGroup::X25519MlKem768 => {
            let (ek, x) = share.split_at(MLKEM768_PUBLIC_LEN);
            let ek = mlkem768::MlKem768PublicKey::try_from(ek).map_err(|_| malformed.clone())?;
            // FIPS 203 7.2: the encapsulation key's modulus check.
            if !mlkem768::validate_public_key(&ek) {
                return Err(malformed);
            }
            let mut randomness = [0u8; 32];
            SystemRandom::new()
                .fill(&mut randomness)
                .map_err(|_| Error::Internal("no randomness"))?;
            let (ct, kem_secret) = mlkem768::encapsulate(&ek, randomness);
            let ecdh = ecdhe(&agreement::X25519, x)?;
            // The ML-KEM part first, in the share and in the secret.
            let mut public = ct.as_slice().to_vec();
            public.extend_from_slice(&ecdh.public);
            let mut shared = kem_secret.as_slice().to_vec();
            shared.extend_from_slice(&ecdh.shared);
            Ok(ServerShare { public, shared })
        }
    }
}

fn ecdhe(alg: &'static agreement::Algorithm, share: &[u8]) -> Result<ServerShare, Error> {
    let private = agreement::EphemeralPrivateKey::generate(alg, &SystemRandom::new())
        .map_err(|_| Error::Internal("key generation failed"))?;
    let public = private
        .compute_public_key()
        .map_err(|_| Error::Internal("public key"))?
        .as_ref()
        .to_vec();
    let shared = agreement::agree_ephemeral(
        private,
        &agreement::UnparsedPublicKey::new(alg, share),
        |s| s.to_vec(),
    )
    .map_err(|_| Error::IllegalParameter("invalid key share"))?;
    Ok(ServerShare { public, shared })
}
