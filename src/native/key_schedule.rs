//! The TLS 1.3 key schedule (RFC 8446 section 7.1) on ring's HMAC/HKDF.

use super::suites::CipherSuite;
use ring::{digest, hkdf, hmac};

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Extract(salt, ikm) (which is HMAC(salt, ikm)).
pub fn extract(suite: &CipherSuite, salt: &[u8], ikm: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(suite.hmac, salt);
    hmac::sign(&key, ikm).as_ref().to_vec()
}

/// HKDF-Expand-Label(secret, label, context, length).
pub fn expand_label(
    suite: &CipherSuite,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Vec<u8> {
    let full_len = (len as u16).to_be_bytes();
    let label_len = [(6 + label.len()) as u8];
    let ctx_len = [context.len() as u8];
    let info: [&[u8]; 6] = [&full_len, &label_len, b"tls13 ", label, &ctx_len, context];
    let prk = hkdf::Prk::new_less_safe(suite.hkdf, secret);
    let mut out = vec![0u8; len];
    prk.expand(&info, Len(len))
        .and_then(|okm| okm.fill(&mut out))
        .expect("HKDF output length within limits");
    out
}

/// Derive-Secret(secret, label, transcript hash).
pub fn derive_secret(suite: &CipherSuite, secret: &[u8], label: &[u8], hash: &[u8]) -> Vec<u8> {
    expand_label(suite, secret, label, hash, suite.hash_len())
}

pub fn empty_hash(suite: &CipherSuite) -> Vec<u8> {
    digest::digest(suite.digest, b"").as_ref().to_vec()
}

/// Finished MAC (RFC 8446 4.4.4) keyed from `base_key`.
pub fn finished_mac(suite: &CipherSuite, base_key: &[u8], hash: &[u8]) -> Vec<u8> {
    let fk = expand_label(suite, base_key, b"finished", b"", suite.hash_len());
    hmac::sign(&hmac::Key::new(suite.hmac, &fk), hash)
        .as_ref()
        .to_vec()
}

/// Constant-time check of a received Finished (or binder) value.
pub fn verify_finished(suite: &CipherSuite, base_key: &[u8], hash: &[u8], received: &[u8]) -> bool {
    let fk = expand_label(suite, base_key, b"finished", b"", suite.hash_len());
    hmac::verify(&hmac::Key::new(suite.hmac, &fk), hash, received).is_ok()
}

/// Running transcript hash.
#[derive(Clone)]
pub struct Transcript {
    ctx: digest::Context,
}

impl Transcript {
    pub fn new(suite: &CipherSuite) -> Self {
        Transcript {
            ctx: digest::Context::new(suite.digest),
        }
    }

    pub fn add(&mut self, msg: &[u8]) {
        self.ctx.update(msg);
    }

    pub fn hash(&self) -> Vec<u8> {
        self.ctx.clone().finish().as_ref().to_vec()
    }

    /// Hash of the transcript with `extra` appended, without changing it.
    pub fn hash_with(&self, extra: &[u8]) -> Vec<u8> {
        let mut c = self.ctx.clone();
        c.update(extra);
        c.finish().as_ref().to_vec()
    }
}

/// The secrets of one handshake, from early secret to master secret.
pub struct Schedule {
    pub suite: &'static CipherSuite,
    pub early: Vec<u8>,
    pub handshake: Vec<u8>,
    pub master: Vec<u8>,
}

impl Schedule {
    /// Early secret from the PSK, or from zeros when there is none.
    pub fn new(suite: &'static CipherSuite, psk: Option<&[u8]>) -> Self {
        let zeros = vec![0u8; suite.hash_len()];
        let early = extract(suite, &zeros, psk.unwrap_or(&zeros));
        Schedule {
            suite,
            early,
            handshake: Vec::new(),
            master: Vec::new(),
        }
    }

    pub fn binder_key(&self) -> Vec<u8> {
        derive_secret(
            self.suite,
            &self.early,
            b"res binder",
            &empty_hash(self.suite),
        )
    }

    pub fn input_ecdhe(&mut self, shared: &[u8]) {
        let derived = derive_secret(self.suite, &self.early, b"derived", &empty_hash(self.suite));
        self.handshake = extract(self.suite, &derived, shared);
        let derived = derive_secret(
            self.suite,
            &self.handshake,
            b"derived",
            &empty_hash(self.suite),
        );
        let zeros = vec![0u8; self.suite.hash_len()];
        self.master = extract(self.suite, &derived, &zeros);
    }
}
