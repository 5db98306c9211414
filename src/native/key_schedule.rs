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
pub fn extract(suite: &'static CipherSuite, salt: &[u8], ikm: &[u8]) -> Secret {
    let key = hmac::Key::new(suite.hmac, salt);
    Secret::new(suite, hmac::sign(&key, ikm).as_ref().to_vec())
}

/// One secret of the schedule. Its HMAC key is prepared once: a secret is expanded two to four
/// times (traffic key and IV, Finished key, derived secrets, one PSK per ticket), and preparing
/// the key (hashing both pads) costs as much as an expansion.
#[derive(Clone)]
pub struct Secret {
    suite: &'static CipherSuite,
    bytes: Vec<u8>,
    prk: hkdf::Prk,
}

impl Secret {
    pub fn new(suite: &'static CipherSuite, bytes: Vec<u8>) -> Self {
        let prk = hkdf::Prk::new_less_safe(suite.hkdf, &bytes);
        Secret { suite, bytes, prk }
    }

    pub fn suite(&self) -> &'static CipherSuite {
        self.suite
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The same secret for `suite`, which must have this one's hash (a session's cipher
    /// beside the negotiated one).
    pub fn for_suite(&self, suite: &'static CipherSuite) -> Secret {
        debug_assert!(std::ptr::eq(suite.digest, self.suite.digest));
        Secret::new(suite, self.bytes.clone())
    }

    /// HKDF-Expand-Label(self, label, context, length).
    pub fn expand_label(&self, label: &[u8], context: &[u8], len: usize) -> Vec<u8> {
        let full_len = (len as u16).to_be_bytes();
        let label_len = [(6 + label.len()) as u8];
        let ctx_len = [context.len() as u8];
        let info: [&[u8]; 6] = [&full_len, &label_len, b"tls13 ", label, &ctx_len, context];
        let mut out = vec![0u8; len];
        self.prk
            .expand(&info, Len(len))
            .and_then(|okm| okm.fill(&mut out))
            .expect("HKDF output length within limits");
        out
    }

    /// Derive-Secret(self, label, transcript hash).
    pub fn derive(&self, label: &[u8], hash: &[u8]) -> Secret {
        Secret::new(
            self.suite,
            self.expand_label(label, hash, self.suite.hash_len()),
        )
    }

    fn finished_key(&self) -> hmac::Key {
        let fk = self.expand_label(b"finished", b"", self.suite.hash_len());
        hmac::Key::new(self.suite.hmac, &fk)
    }

    /// Finished MAC (RFC 8446 4.4.4) keyed from this base key.
    pub fn finished_mac(&self, hash: &[u8]) -> Vec<u8> {
        hmac::sign(&self.finished_key(), hash).as_ref().to_vec()
    }

    /// Constant-time check of a received Finished (or binder) value.
    pub fn verify_finished(&self, hash: &[u8], received: &[u8]) -> bool {
        hmac::verify(&self.finished_key(), hash, received).is_ok()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({:?}, {} bytes)", self.suite, self.bytes.len())
    }
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

/// The start of one handshake's schedule: the early secret.
pub struct Schedule {
    suite: &'static CipherSuite,
    pub early: Secret,
    /// Transcript-Hash("") for the "derived" secrets.
    empty_hash: Vec<u8>,
}

/// The secrets that follow the (EC)DHE input.
pub struct HandshakeSecrets {
    pub handshake: Secret,
    pub master: Secret,
}

impl Schedule {
    /// Early secret from the PSK, or from zeros when there is none.
    pub fn new(suite: &'static CipherSuite, psk: Option<&[u8]>) -> Self {
        let zeros = vec![0u8; suite.hash_len()];
        Schedule {
            suite,
            early: extract(suite, &zeros, psk.unwrap_or(&zeros)),
            empty_hash: digest::digest(suite.digest, b"").as_ref().to_vec(),
        }
    }

    /// The binder key: "ext binder" for an external PSK, "res binder" for a ticket's.
    pub fn binder_key(&self, external: bool) -> Secret {
        let label: &[u8] = match external {
            true => b"ext binder",
            false => b"res binder",
        };
        self.early.derive(label, &self.empty_hash)
    }

    pub fn input_ecdhe(&self, shared: &[u8]) -> HandshakeSecrets {
        let derived = self
            .early
            .expand_label(b"derived", &self.empty_hash, self.suite.hash_len());
        let handshake = extract(self.suite, &derived, shared);
        let derived = handshake.expand_label(b"derived", &self.empty_hash, self.suite.hash_len());
        let zeros = vec![0u8; self.suite.hash_len()];
        let master = extract(self.suite, &derived, &zeros);
        HandshakeSecrets { handshake, master }
    }
}
