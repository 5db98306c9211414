//! Stateless session tickets: the resumption state, AEAD-encrypted under the server's ticket key.
//!
//! Size: a sealed ticket is exactly as long as OpenSSL 3.0's ticket for the same session, so
//! that the same number of tickets fills a transport as with OpenSSL (the number of tickets and
//! bytes that fit before a write would block is observable through OpenSSL's API). OpenSSL's
//! ticket is key name (16) || IV (16) || AES-CBC(DER `SSL_SESSION`) || HMAC (32). The DER
//! session's SEQUENCE holds 120 bytes with a SHA-256 suite's 32-byte master key (16 more with
//! SHA-384's) and a four-byte `ticket_age_add` INTEGER (OpenSSL draws it at random, five bytes
//! for half the values; the program harness makes it four, see
//! `crate::openssl_ffi::repeatable_rand`), plus the client certificate with its 4-byte `[3]`
//! wrapper when there is one, plus `[15] max_early_data` when it is not 0; its header is 2, 3
//! or 4 bytes as the content passes 127 and 255 bytes. Measured with OpenSSL 3.0.19 (session id context set, as the
//! oracle's): 192-byte tickets (SHA-256) and 208 (SHA-384) without a client certificate, 576
//! with one of 363 to 366 bytes; with SHA-256 `max_early_data` 127 keeps 192 and 128 makes 208
//! (the header grows), with SHA-384 any `max_early_data` makes 224. The native plaintext is
//! padded to that length.

use super::codec::{put_u16, put_u32, put_u64, with_len, Reader};
use ring::aead;

const AAD: &[u8] = b"ticketdiff native ticket v1";
const VERSION: u8 = 2;

/// What a ticket carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketState {
    pub suite: u16,
    pub psk: Vec<u8>,
    pub age_add: u32,
    pub issued_ms: u64,
    pub lifetime_s: u32,
    /// The client's certificate from post-handshake authentication (DER), if any: the new
    /// tickets "will be associated with the updated client identity" (SSL_set_num_tickets(3)),
    /// and a resumed session keeps it.
    pub peer_cert: Option<Vec<u8>>,
    /// The early data the session allows (the server's `max_early_data` when it was issued).
    pub max_early_data: u32,
}

/// The content of OpenSSL 3.0's DER session with a 32-byte master key, no peer certificate and
/// no early data, in bytes (see the module comment).
const OPENSSL_SESSION_CONTENT_LEN: usize = 120;

/// The length of OpenSSL 3.0's ticket for a session whose suite's hash is `hash_len` bytes, with
/// a client certificate of `peer_cert_len` bytes (or none), that allows `max_early_data` bytes
/// of early data.
pub fn openssl_ticket_len(
    hash_len: usize,
    peer_cert_len: Option<usize>,
    max_early_data: u32,
) -> usize {
    let content = OPENSSL_SESSION_CONTENT_LEN
        + hash_len.saturating_sub(32)
        + peer_cert_len.map_or(0, |n| n + 4)
        + max_early_data_der_len(max_early_data);
    let header = match content {
        0..=127 => 2,
        128..=255 => 3,
        _ => 4,
    };
    let der = content + header;
    let cbc = (der / 16 + 1) * 16;
    16 + 16 + cbc + 32
}

/// The bytes `[15] EXPLICIT INTEGER max_early_data` adds to OpenSSL's DER session: nothing for
/// 0 (the field is optional), else two tag-and-length pairs and the minimal two's-complement
/// integer.
fn max_early_data_der_len(v: u32) -> usize {
    if v == 0 {
        return 0;
    }
    let int_len = match v {
        0..=0x7f => 1,
        0x80..=0x7fff => 2,
        0x8000..=0x7f_ffff => 3,
        0x80_0000..=0x7fff_ffff => 4,
        _ => 5,
    };
    4 + int_len
}

/// Nonce and tag around the sealed state.
const SEAL_OVERHEAD: usize = 12 + 16;

impl TicketState {
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![VERSION];
        put_u16(&mut b, self.suite);
        with_len(&mut b, 1, |o| o.extend_from_slice(&self.psk));
        put_u32(&mut b, self.age_add);
        put_u64(&mut b, self.issued_ms);
        put_u32(&mut b, self.lifetime_s);
        let cert = self.peer_cert.as_deref().unwrap_or_default();
        with_len(&mut b, 2, |o| o.extend_from_slice(cert));
        put_u32(&mut b, self.max_early_data);
        // Padding up to OpenSSL's ticket length.
        let target = openssl_ticket_len(
            self.psk.len(),
            self.peer_cert.as_ref().map(Vec::len),
            self.max_early_data,
        )
        .saturating_sub(SEAL_OVERHEAD)
        .saturating_sub(b.len() + 2)
        .min(usize::from(u16::MAX));
        with_len(&mut b, 2, |o| o.resize(o.len() + target, 0));
        b
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let mut r = Reader::new(b);
        if r.u8().ok()? != VERSION {
            return None;
        }
        let t = TicketState {
            suite: r.u16().ok()?,
            psk: r.vec8().ok()?.to_vec(),
            age_add: r.u32().ok()?,
            issued_ms: r.u64().ok()?,
            lifetime_s: r.u32().ok()?,
            peer_cert: match r.vec16().ok()? {
                [] => None,
                cert => Some(cert.to_vec()),
            },
            max_early_data: r.u32().ok()?,
        };
        r.vec16().ok()?;
        r.is_empty().then_some(t)
    }
}

/// The AES-256-GCM key that seals tickets.
pub struct TicketKey {
    key: aead::LessSafeKey,
}

impl TicketKey {
    pub fn new(key: [u8; 32]) -> Self {
        TicketKey {
            key: aead::LessSafeKey::new(
                aead::UnboundKey::new(&aead::AES_256_GCM, &key).expect("32-byte key"),
            ),
        }
    }

    /// nonce (12 bytes) || ciphertext || tag. The nonce must be fresh per ticket.
    pub fn seal(&self, state: &TicketState, nonce: [u8; 12]) -> Vec<u8> {
        let mut buf = state.encode();
        self.key
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(AAD),
                &mut buf,
            )
            .expect("ticket fits AEAD limits");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        out
    }

    /// The state inside a ticket this key sealed, or None for anything else.
    pub fn open(&self, ticket: &[u8]) -> Option<TicketState> {
        if ticket.len() < 12 + 16 {
            return None;
        }
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&ticket[..12]);
        let mut buf = ticket[12..].to_vec();
        let plain = self
            .key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(AAD),
                &mut buf,
            )
            .ok()?;
        TicketState::decode(plain)
    }
}
