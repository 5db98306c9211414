//! The X25519MLKEM768 hybrid group (draft-ietf-tls-ecdhe-mlkem) for a rustls client: rustls 0.23
//! has it only in its aws-lc-rs provider (a C build), not with ring. This is the client side,
//! from the same ML-KEM crate the native server uses (libcrux) and rustls's own ring X25519.
//! Client share: ML-KEM-768 encapsulation key || X25519 public key; the server answers
//! ciphertext || X25519 public key; the secret is the ML-KEM secret || the X25519 secret.

use libcrux_ml_kem::mlkem768;
use ring::rand::{SecureRandom, SystemRandom};
use rustls::crypto::{ActiveKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::{Error, NamedGroup, PeerMisbehaved};

/// ML-KEM-768 ciphertext length: the split point of the server's share.
const CIPHERTEXT_LEN: usize = 1088;

/// The hybrid group, for a rustls `CryptoProvider`'s `kx_groups`.
#[derive(Debug)]
pub struct X25519MlKem768;

pub static X25519MLKEM768: &dyn SupportedKxGroup = &X25519MlKem768;

impl SupportedKxGroup for X25519MlKem768 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let mut seed = [0u8; 64];
        SystemRandom::new()
            .fill(&mut seed)
            .map_err(|_| Error::FailedToGetRandomBytes)?;
        let kem = mlkem768::generate_key_pair(seed);
        let x25519 = rustls::crypto::ring::kx_group::X25519.start()?;
        let mut public = kem.public_key().as_slice().to_vec();
        public.extend_from_slice(x25519.pub_key());
        Ok(Box::new(Active {
            kem,
            x25519,
            public,
        }))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519MLKEM768
    }
}

struct Active {
    kem: mlkem768::MlKem768KeyPair,
    x25519: Box<dyn ActiveKeyExchange>,
    public: Vec<u8>,
}

impl ActiveKeyExchange for Active {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        let bad = || Error::PeerMisbehaved(PeerMisbehaved::InvalidKeyShare);
        if peer.len() != CIPHERTEXT_LEN + 32 {
            return Err(bad());
        }
        let (ct, x) = peer.split_at(CIPHERTEXT_LEN);
        let ct = mlkem768::MlKem768Ciphertext::try_from(ct).map_err(|_| bad())?;
        let kem_secret = mlkem768::decapsulate(self.kem.private_key(), &ct);
        let x_secret = self.x25519.complete(x)?;
        let mut secret = kem_secret.as_slice().to_vec();
        secret.extend_from_slice(x_secret.secret_bytes());
        Ok(SharedSecret::from(secret))
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519MLKEM768
    }
}
