//! Hand-built ClientHellos and plaintext records, permissive on purpose: a test can send what
//! no real client sends (a duplicate extension, a share of the wrong length, a bad version).

use crate::native::codec::{put_u16, with_len, Reader};
use crate::native::key_schedule::Transcript;
use crate::native::msgs::{self, content, ext, hs};
use crate::native::{AlertDescription, CipherSuite};
use ring::agreement;

/// An extension: type and body.
pub type Ext = (u16, Vec<u8>);

/// supported_versions with `versions`.
pub fn ext_versions(versions: &[u16]) -> Ext {
    let mut b = Vec::new();
    with_len(&mut b, 1, |o| versions.iter().for_each(|x| put_u16(o, *x)));
    (ext::SUPPORTED_VERSIONS, b)
}

/// An extension whose body is one list of u16 (supported_groups, signature_algorithms).
pub fn ext_u16_list(typ: u16, values: &[u16]) -> Ext {
    let mut b = Vec::new();
    with_len(&mut b, 2, |o| values.iter().for_each(|x| put_u16(o, *x)));
    (typ, b)
}

/// key_share with `(group, key)` entries.
pub fn ext_key_share(shares: &[(u16, &[u8])]) -> Ext {
    let mut b = Vec::new();
    with_len(&mut b, 2, |o| {
        for (g, k) in shares {
            put_u16(o, *g);
            with_len(o, 2, |o| o.extend_from_slice(k));
        }
    });
    (ext::KEY_SHARE, b)
}

/// An X25519 key pair for the key share.
pub struct Eph {
    pub private: agreement::EphemeralPrivateKey,
    pub public: Vec<u8>,
}

impl Eph {
    pub fn x25519() -> Self {
        let private = agreement::EphemeralPrivateKey::generate(
            &agreement::X25519,
            &ring::rand::SystemRandom::new(),
        )
        .expect("X25519 key generation");
        let public = private
            .compute_public_key()
            .expect("X25519 public key")
            .as_ref()
            .to_vec();
        Eph { private, public }
    }
}

/// The extensions of a TLS 1.3 ClientHello with an X25519 share of `public`: versions, groups
/// (X25519, P-256), signature algorithms (ECDSA P-256, RSA-PSS), key share, in that order.
pub fn standard_exts(public: &[u8]) -> Vec<Ext> {
    vec![
        ext_versions(&[0x0304]),
        ext_u16_list(ext::SUPPORTED_GROUPS, &[0x001d, 0x0017]),
        ext_u16_list(ext::SIGNATURE_ALGORITHMS, &[0x0403, 0x0804]),
        ext_key_share(&[(0x001d, public)]),
    ]
}

/// Encodes a ClientHello handshake message.
pub fn client_hello(
    suites: &[u16],
    session_id: &[u8],
    compression: &[u8],
    exts: &[Ext],
) -> Vec<u8> {
    let mut b = Vec::new();
    put_u16(&mut b, 0x0303);
    b.extend_from_slice(&[0x11; 32]);
    with_len(&mut b, 1, |o| o.extend_from_slice(session_id));
    with_len(&mut b, 2, |o| suites.iter().for_each(|s| put_u16(o, *s)));
    with_len(&mut b, 1, |o| o.extend_from_slice(compression));
    with_len(&mut b, 2, |o| {
        for (t, d) in exts {
            put_u16(o, *t);
            with_len(o, 2, |o| o.extend_from_slice(d));
        }
    });
    msgs::handshake(hs::CLIENT_HELLO, &b)
}

/// A plaintext record of `typ` around `payload`, whatever its length.
pub fn plain_record(typ: u8, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![typ, 3, 3, (payload.len() >> 8) as u8, payload.len() as u8];
    r.extend_from_slice(payload);
    r
}

/// Splits a byte stream into records: (type, payload). A truncated last record is dropped.
pub fn records(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 5 {
        let len = u16::from_be_bytes([bytes[3], bytes[4]]) as usize;
        let Some(payload) = bytes.get(5..5 + len) else {
            break;
        };
        out.push((bytes[0], payload.to_vec()));
        bytes = &bytes[5 + len..];
    }
    out
}

/// The alert in a plaintext output, if any.
pub fn plain_alert(out: &[u8]) -> Option<AlertDescription> {
    records(out)
        .into_iter()
        .find(|(t, _)| *t == content::ALERT)
        .map(|(_, p)| AlertDescription::from_u8(p[1]))
}

/// The key of the key_share extension of a ServerHello handshake message.
pub fn server_key_share(server_hello: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader::new(server_hello.get(4..)?);
    r.take(2 + 32).ok()?;
    r.vec8().ok()?;
    r.take(3).ok()?;
    let mut exts = Reader::new(r.vec16().ok()?);
    while !exts.is_empty() {
        let typ = exts.u16().ok()?;
        let mut d = Reader::new(exts.vec16().ok()?);
        if typ == ext::KEY_SHARE {
            d.u16().ok()?;
            return Some(d.vec16().ok()?.to_vec());
        }
    }
    None
}

/// An offered PSK for [`client_hello_with_psk`]: its identity, key, and whether it is external
/// ("ext binder") or a ticket's ("res binder").
pub struct OfferedPsk<'a> {
    pub identity: &'a [u8],
    pub key: &'a [u8],
    pub external: bool,
    pub obfuscated_age: u32,
}

/// A ClientHello with `exts`, then pre_shared_key offering `psks` with binders computed for
/// `suite`'s hash (RFC 8446 4.2.11.2: over the ClientHello up to the binders).
pub fn client_hello_with_psk(
    suites: &[u16],
    exts: &[Ext],
    psks: &[OfferedPsk],
    suite: &'static CipherSuite,
) -> Vec<u8> {
    psk_client_hello(&Transcript::new(suite), &[], suites, exts, psks, suite)
}

/// [`client_hello_with_psk`] with a session id, after the messages in `before` (after an
/// HRR: message_hash and the HRR, RFC 8446 4.2.11.2).
pub fn psk_client_hello(
    before: &Transcript,
    session_id: &[u8],
    suites: &[u16],
    exts: &[Ext],
    psks: &[OfferedPsk],
    suite: &'static CipherSuite,
) -> Vec<u8> {
    use crate::native::codec::put_u32;
    use crate::native::key_schedule::Schedule;
    let hash_len = suite.hash_len();
    let mut body = Vec::new();
    with_len(&mut body, 2, |o| {
        for p in psks {
            with_len(o, 2, |o| o.extend_from_slice(p.identity));
            put_u32(o, p.obfuscated_age);
        }
    });
    let binders_len = 2 + psks.len() * (1 + hash_len);
    body.extend(std::iter::repeat_n(0, binders_len));
    let mut all = exts.to_vec();
    all.push((ext::PRE_SHARED_KEY, body));
    let mut ch = client_hello(suites, session_id, &[0], &all);
    let truncated = ch.len() - binders_len;
    let hash = before.hash_with(&ch[..truncated]);
    let mut binders = Vec::new();
    with_len(&mut binders, 2, |o| {
        for p in psks {
            let key = Schedule::new(suite, Some(p.key)).binder_key(p.external);
            with_len(o, 1, |o| o.extend_from_slice(&key.finished_mac(&hash)));
        }
    });
    ch.truncate(truncated);
    ch.extend_from_slice(&binders);
    ch
}
