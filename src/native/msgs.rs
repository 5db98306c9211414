//! Handshake message encoding and decoding (RFC 8446 section 4), kept apart from the logic.

use super::codec::{put_u16, put_u32, with_len, Reader};
use super::error::Error;

pub mod content {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
}

pub mod hs {
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const NEW_SESSION_TICKET: u8 = 4;
    pub const END_OF_EARLY_DATA: u8 = 5;
    pub const ENCRYPTED_EXTENSIONS: u8 = 8;
    pub const CERTIFICATE: u8 = 11;
    pub const CERTIFICATE_REQUEST: u8 = 13;
    pub const CERTIFICATE_VERIFY: u8 = 15;
    pub const FINISHED: u8 = 20;
    pub const KEY_UPDATE: u8 = 24;
    pub const MESSAGE_HASH: u8 = 254;
}

pub mod ext {
    pub const SERVER_NAME: u16 = 0;
    pub const SUPPORTED_GROUPS: u16 = 10;
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    pub const PRE_SHARED_KEY: u16 = 41;
    pub const EARLY_DATA: u16 = 42;
    pub const SUPPORTED_VERSIONS: u16 = 43;
    pub const COOKIE: u16 = 44;
    pub const PSK_KEY_EXCHANGE_MODES: u16 = 45;
    pub const CERTIFICATE_AUTHORITIES: u16 = 47;
    pub const POST_HANDSHAKE_AUTH: u16 = 49;
    pub const SIGNATURE_ALGORITHMS_CERT: u16 = 50;
    pub const KEY_SHARE: u16 = 51;
}

pub const TLS13: u16 = 0x0304;
pub const TLS12: u16 = 0x0303;
pub const SSL3: u16 = 0x0300;
pub const PSK_DHE_KE: u8 = 1;
/// psk_ke: a PSK alone, no (EC)DHE.
pub const PSK_KE: u8 = 0;

/// The special ServerHello.random that marks a HelloRetryRequest.
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Frames a handshake message: type, u24 length, body.
pub fn handshake(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    out.push(typ);
    with_len(&mut out, 3, |o| o.extend_from_slice(body));
    out
}

/// The offered `pre_shared_key` extension.
#[derive(Debug, Clone)]
pub struct PskOffer {
    /// (identity, obfuscated_ticket_age)
    pub identities: Vec<(Vec<u8>, u32)>,
    pub binders: Vec<Vec<u8>>,
    /// Offset in the ClientHello body where the binders list (with its length) starts.
    pub binders_offset: usize,
}

/// A decoded ClientHello (RFC 8446 4.1.2), with the extensions the server understands.
#[derive(Debug, Clone, Default)]
pub struct ClientHello {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cipher_suites: Vec<u16>,
    pub compression_methods: Vec<u8>,
    pub extension_types: Vec<u16>,
    pub supported_versions: Option<Vec<u16>>,
    pub supported_groups: Option<Vec<u16>>,
    pub signature_algorithms: Option<Vec<u16>>,
    pub signature_algorithms_cert: Option<Vec<u16>>,
    /// DER Names from `certificate_authorities`.
    pub certificate_authorities: Option<Vec<Vec<u8>>>,
    pub key_shares: Option<Vec<(u16, Vec<u8>)>>,
    pub psk_modes: Option<Vec<u8>>,
    pub psk: Option<PskOffer>,
    pub server_name: Option<Vec<u8>>,
    pub post_handshake_auth: bool,
    pub cookie: Option<Vec<u8>>,
    pub early_data: bool,
}

impl ClientHello {
    /// Decodes a ClientHello body (without the 4-byte handshake header).
    pub fn decode(body: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body);
        let mut ch = ClientHello {
            legacy_version: r.u16()?,
            ..Default::default()
        };
        ch.random.copy_from_slice(r.take(32)?);
        let sid = r.vec8()?;
        if sid.len() > 32 {
            return Err(Error::Decode("legacy_session_id too long"));
        }
        ch.session_id = sid.to_vec();
        ch.cipher_suites = Reader::u16_list(r.vec16()?)?;
        let comp = r.vec8()?;
        if comp.is_empty() {
            return Err(Error::Decode("no compression methods"));
        }
        ch.compression_methods = comp.to_vec();
        if r.is_empty() {
            // Pre-TLS 1.3 ClientHellos may omit extensions entirely.
            return Ok(ch);
        }
        let exts_start = r.position() + 2;
        let exts = r.vec16()?;
        r.expect_empty("trailing data after ClientHello")?;
        let mut er = Reader::new(exts);
        while !er.is_empty() {
            let typ = er.u16()?;
            let ext_start = exts_start + er.position() + 2;
            let data = er.vec16()?;
            if ch.extension_types.contains(&typ) {
                return Err(Error::IllegalParameter("duplicate extension"));
            }
            if ch.psk.is_some() {
                return Err(Error::IllegalParameter("pre_shared_key is not last"));
            }
            ch.extension_types.push(typ);
            ch.decode_extension(typ, data, ext_start)?;
        }
        Ok(ch)
    }

    fn decode_extension(&mut self, typ: u16, data: &[u8], data_offset: usize) -> Result<(), Error> {
        let mut r = Reader::new(data);
        match typ {
            ext::SUPPORTED_VERSIONS => {
                let list = r.vec8()?;
                self.supported_versions = Some(Reader::u16_list(list)?);
            }
            ext::SUPPORTED_GROUPS => {
                self.supported_groups = Some(Reader::u16_list(r.vec16()?)?);
            }
            ext::SIGNATURE_ALGORITHMS => {
                self.signature_algorithms = Some(Reader::u16_list(r.vec16()?)?);
            }
            ext::SIGNATURE_ALGORITHMS_CERT => {
                self.signature_algorithms_cert = Some(Reader::u16_list(r.vec16()?)?);
            }
            ext::CERTIFICATE_AUTHORITIES => {
                self.certificate_authorities = Some(decode_authorities(r.vec16()?)?);
            }
            ext::KEY_SHARE => {
                let mut lr = Reader::new(r.vec16()?);
                let mut shares = Vec::new();
                while !lr.is_empty() {
                    let group = lr.u16()?;
                    let key = lr.vec16()?;
                    if key.is_empty() {
                        return Err(Error::Decode("empty key_exchange"));
                    }
                    shares.push((group, key.to_vec()));
                }
                self.key_shares = Some(shares);
            }
            ext::PSK_KEY_EXCHANGE_MODES => {
                let modes = r.vec8()?;
                if modes.is_empty() {
                    return Err(Error::Decode("empty psk_key_exchange_modes"));
                }
                self.psk_modes = Some(modes.to_vec());
            }
            ext::PRE_SHARED_KEY => {
                let mut ir = Reader::new(r.vec16()?);
                let mut identities = Vec::new();
                while !ir.is_empty() {
                    let id = ir.vec16()?;
                    if id.is_empty() {
                        return Err(Error::Decode("empty PSK identity"));
                    }
                    identities.push((id.to_vec(), ir.u32()?));
                }
                let binders_offset = data_offset + r.position();
                let mut br = Reader::new(r.vec16()?);
                let mut binders = Vec::new();
                while !br.is_empty() {
                    let b = br.vec8()?;
                    if b.len() < 32 {
                        return Err(Error::Decode("PSK binder too short"));
                    }
                    binders.push(b.to_vec());
                }
                if identities.is_empty() || binders.is_empty() {
                    return Err(Error::Decode("empty pre_shared_key lists"));
                }
                self.psk = Some(PskOffer {
                    identities,
                    binders,
                    binders_offset,
                });
            }
            ext::SERVER_NAME => {
                let mut lr = Reader::new(r.vec16()?);
                if lr.is_empty() {
                    return Err(Error::Decode("empty server_name list"));
                }
                while !lr.is_empty() {
                    let name_type = lr.u8()?;
                    let name = lr.vec16()?;
                    if name_type == 0 {
                        if name.is_empty() {
                            return Err(Error::Decode("empty host_name"));
                        }
                        if self.server_name.is_some() {
                            return Err(Error::IllegalParameter("two host_names"));
                        }
                        self.server_name = Some(name.to_vec());
                    }
                }
            }
            ext::POST_HANDSHAKE_AUTH => self.post_handshake_auth = true,
            ext::EARLY_DATA => self.early_data = true,
            ext::COOKIE => {
                let c = r.vec16()?;
                if c.is_empty() {
                    return Err(Error::Decode("empty cookie"));
                }
                self.cookie = Some(c.to_vec());
            }
            // Unknown extensions are ignored (RFC 8446 4.2).
            _ => return Ok(()),
        }
        r.expect_empty("trailing data in extension")
    }
}

/// `DistinguishedName authorities<3..2^16-1>` (RFC 8446 4.2.4): each name non-empty.
fn decode_authorities(block: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let mut r = Reader::new(block);
    let mut names = Vec::new();
    while !r.is_empty() {
        let name = r.vec16()?;
        if name.is_empty() {
            return Err(Error::Decode("empty DistinguishedName"));
        }
        names.push(name.to_vec());
    }
    if names.is_empty() {
        return Err(Error::Decode("empty certificate_authorities"));
    }
    Ok(names)
}

fn extension(out: &mut Vec<u8>, typ: u16, f: impl FnOnce(&mut Vec<u8>)) {
    put_u16(out, typ);
    with_len(out, 2, f);
}

/// ServerHello (or HelloRetryRequest when `random` is [`HRR_RANDOM`]).
pub struct ServerHello<'a> {
    pub random: [u8; 32],
    pub session_id: &'a [u8],
    pub suite: u16,
    /// key_share: (group, public key); for an HRR the public key is empty and only the group goes out.
    pub key_share: Option<(u16, &'a [u8])>,
    pub psk_index: Option<u16>,
    pub cookie: Option<&'a [u8]>,
}

impl ServerHello<'_> {
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        put_u16(&mut b, TLS12);
        b.extend_from_slice(&self.random);
        with_len(&mut b, 1, |o| o.extend_from_slice(self.session_id));
        put_u16(&mut b, self.suite);
        b.push(0);
        let hrr = self.random == HRR_RANDOM;
        with_len(&mut b, 2, |o| {
            extension(o, ext::SUPPORTED_VERSIONS, |o| put_u16(o, TLS13));
            if let Some((group, key)) = self.key_share {
                extension(o, ext::KEY_SHARE, |o| {
                    put_u16(o, group);
                    if !hrr {
                        with_len(o, 2, |o| o.extend_from_slice(key));
                    }
                });
            }
            if let Some(i) = self.psk_index {
                extension(o, ext::PRE_SHARED_KEY, |o| put_u16(o, i));
            }
            if let Some(c) = self.cookie {
                extension(o, ext::COOKIE, |o| {
                    with_len(o, 2, |o| o.extend_from_slice(c))
                });
            }
        });
        handshake(hs::SERVER_HELLO, &b)
    }
}

/// EncryptedExtensions: an empty early_data extension when the client's early data is
/// accepted, else none.
pub fn encrypted_extensions(early_data: bool) -> Vec<u8> {
    let mut b = Vec::new();
    with_len(&mut b, 2, |o| {
        if early_data {
            extension(o, ext::EARLY_DATA, |_| {});
        }
    });
    handshake(hs::ENCRYPTED_EXTENSIONS, &b)
}

/// Certificate with an empty context (or `context` for post-handshake) and the DER chain.
pub fn certificate(context: &[u8], chain: &[Vec<u8>]) -> Vec<u8> {
    let mut b = Vec::new();
    with_len(&mut b, 1, |o| o.extend_from_slice(context));
    with_len(&mut b, 3, |o| {
        for c in chain {
            with_len(o, 3, |o| o.extend_from_slice(c));
            put_u16(o, 0);
        }
    });
    handshake(hs::CERTIFICATE, &b)
}

pub fn certificate_verify(scheme: u16, signature: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    put_u16(&mut b, scheme);
    with_len(&mut b, 2, |o| o.extend_from_slice(signature));
    handshake(hs::CERTIFICATE_VERIFY, &b)
}

pub fn finished(verify_data: &[u8]) -> Vec<u8> {
    handshake(hs::FINISHED, verify_data)
}

/// NewSessionTicket (RFC 8446 4.6.1), with an early_data extension carrying `max_early_data`
/// when it is not 0.
pub fn new_session_ticket(
    lifetime: u32,
    age_add: u32,
    nonce: &[u8],
    ticket: &[u8],
    max_early_data: u32,
) -> Vec<u8> {
    let mut b = Vec::new();
    put_u32(&mut b, lifetime);
    put_u32(&mut b, age_add);
    with_len(&mut b, 1, |o| o.extend_from_slice(nonce));
    with_len(&mut b, 2, |o| o.extend_from_slice(ticket));
    with_len(&mut b, 2, |o| {
        if max_early_data > 0 {
            extension(o, ext::EARLY_DATA, |o| put_u32(o, max_early_data));
        }
    });
    handshake(hs::NEW_SESSION_TICKET, &b)
}

pub fn key_update(request_update: bool) -> Vec<u8> {
    handshake(hs::KEY_UPDATE, &[request_update as u8])
}

/// CertificateRequest (RFC 8446 4.3.2) with `signature_algorithms`, and
/// `certificate_authorities` when `authorities` (DER Names) is not empty.
pub fn certificate_request(
    context: &[u8],
    sig_schemes: &[u16],
    authorities: &[Vec<u8>],
) -> Vec<u8> {
    let mut b = Vec::new();
    with_len(&mut b, 1, |o| o.extend_from_slice(context));
    with_len(&mut b, 2, |o| {
        extension(o, ext::SIGNATURE_ALGORITHMS, |o| {
            with_len(o, 2, |o| {
                for s in sig_schemes {
                    put_u16(o, *s);
                }
            })
        });
        if !authorities.is_empty() {
            extension(o, ext::CERTIFICATE_AUTHORITIES, |o| {
                with_len(o, 2, |o| {
                    for name in authorities {
                        with_len(o, 2, |o| o.extend_from_slice(name));
                    }
                })
            });
        }
    });
    handshake(hs::CERTIFICATE_REQUEST, &b)
}

/// Decodes a KeyUpdate body: Ok(true) if the peer requests an update.
pub fn decode_key_update(body: &[u8]) -> Result<bool, Error> {
    match body {
        [0] => Ok(false),
        [1] => Ok(true),
        [_] => Err(Error::IllegalParameter("bad KeyUpdateRequest")),
        _ => Err(Error::Decode("bad KeyUpdate length")),
    }
}

/// A client's Certificate message: (context, DER chain).
pub fn decode_certificate(body: &[u8]) -> Result<(Vec<u8>, Vec<Vec<u8>>), Error> {
    let mut r = Reader::new(body);
    let context = r.vec8()?.to_vec();
    let mut lr = Reader::new(r.vec24()?);
    r.expect_empty("trailing data in Certificate")?;
    let mut chain = Vec::new();
    while !lr.is_empty() {
        let cert = lr.vec24()?;
        if cert.is_empty() {
            return Err(Error::Decode("empty certificate"));
        }
        lr.vec16()?;
        chain.push(cert.to_vec());
    }
    Ok((context, chain))
}

/// A CertificateVerify: (scheme, signature).
pub fn decode_certificate_verify(body: &[u8]) -> Result<(u16, Vec<u8>), Error> {
    let mut r = Reader::new(body);
    let scheme = r.u16()?;
    let sig = r.vec16()?.to_vec();
    r.expect_empty("trailing data in CertificateVerify")?;
    Ok((scheme, sig))
}

/// The content signed in a CertificateVerify (RFC 8446 4.4.3).
pub fn signed_content(server: bool, transcript_hash: &[u8]) -> Vec<u8> {
    let mut m = vec![0x20u8; 64];
    m.extend_from_slice(if server {
        b"TLS 1.3, server CertificateVerify"
    } else {
        b"TLS 1.3, client CertificateVerify"
    });
    m.push(0);
    m.extend_from_slice(transcript_hash);
    m
}
