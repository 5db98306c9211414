//! Deterministic randomness derived from a caller-given seed.
//!
//! ring's `SecureRandom` trait is sealed, so this generator cannot feed ring's ECDHE key
//! generation or ECDSA signing; those use `ring::rand::SystemRandom`. Everything else the server
//! randomizes (server random, HRR cookie, ticket nonces, `ticket_age_add`, ticket AEAD nonces,
//! certificate request contexts) comes from here.

use ring::hmac;

/// HMAC-SHA256 in counter mode keyed by the seed.
pub struct SeededRng {
    key: hmac::Key,
    counter: u64,
}

impl SeededRng {
    pub fn new(seed: [u8; 32]) -> Self {
        SeededRng {
            key: hmac::Key::new(hmac::HMAC_SHA256, &seed),
            counter: 0,
        }
    }

    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(32) {
            let mut input = *b"ticketdiff native rng\0\0\0\0\0\0\0\0";
            input[21..29].copy_from_slice(&self.counter.to_be_bytes());
            self.counter += 1;
            let block = hmac::sign(&self.key, &input);
            chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
        }
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
