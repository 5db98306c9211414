//! Deterministic randomness derived from a caller-given seed.
//!
//! ring's `SecureRandom` trait is sealed, so this generator cannot feed ring's ECDHE key
//! generation or ECDSA signing; those use `ring::rand::SystemRandom`. Everything else the server
//! randomizes (server random, HRR cookie, ticket nonces, `ticket_age_add`, ticket AEAD nonces,
//! certificate request contexts) comes from here.

use ring::aead;

/// AES-256 in counter mode keyed by the seed: each request encrypts zeros under AES-256-GCM with
/// a nonce used once (the request number) and drops the tag. ring exposes no bare block cipher;
/// this costs a few AES blocks per request, where HMAC-SHA256 cost two hash compressions per 32
/// bytes, which showed in the native-vs-rustls handshake comparison.
pub struct SeededRng {
    key: aead::LessSafeKey,
    counter: u64,
}

impl SeededRng {
    pub fn new(seed: [u8; 32]) -> Self {
        let key = aead::UnboundKey::new(&aead::AES_256_GCM, &seed).expect("32-byte AES-256 key");
        SeededRng {
            key: aead::LessSafeKey::new(key),
            counter: 0,
        }
    }

    pub fn fill(&mut self, out: &mut [u8]) {
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&self.counter.to_be_bytes());
        self.counter += 1;
        out.fill(0);
        // One request is at most a few hundred bytes, far below GCM's 64 GiB per nonce. The tag
        // is not randomness anyone needs.
        let _tag = self
            .key
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::empty(),
                out,
            )
            .expect("request within GCM's length limit");
    }

    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        self.fill(&mut a);
        a
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.array())
    }
}
