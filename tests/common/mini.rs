//! A minimal, deliberately permissive TLS 1.3 test client built from the library's own
//! encoding and key-schedule pieces, used to inject faults a real client never sends.

use ring::agreement;
use ticketdiff::native::codec::{put_u16, with_len};
use ticketdiff::native::key_schedule::{Schedule, Secret, Transcript};
use ticketdiff::native::msgs::{self, content, ext, hs};
use ticketdiff::native::record::RecordCipher;
use ticketdiff::native::suites::TLS_AES_128_GCM_SHA256;
use ticketdiff::native::AlertDescription;

pub type Ext = (u16, Vec<u8>);

pub fn ext_versions(v: &[u16]) -> Ext {
    let mut b = Vec::new();
    with_len(&mut b, 1, |o| v.iter().for_each(|x| put_u16(o, *x)));
    (ext::SUPPORTED_VERSIONS, b)
}

pub fn ext_u16_list(typ: u16, v: &[u16]) -> Ext {
    let mut b = Vec::new();
    with_len(&mut b, 2, |o| v.iter().for_each(|x| put_u16(o, *x)));
    (typ, b)
}

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
        .unwrap();
        let public = private.compute_public_key().unwrap().as_ref().to_vec();
        Eph { private, public }
    }
}

/// Standard extensions of a TLS 1.3 ClientHello with an X25519 share.
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

pub fn plain_record(typ: u8, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![typ, 3, 3, (payload.len() >> 8) as u8, payload.len() as u8];
    r.extend_from_slice(payload);
    r
}

/// Splits a byte stream into records: (type, payload).
pub fn records(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 5 {
        let len = u16::from_be_bytes([bytes[3], bytes[4]]) as usize;
        out.push((bytes[0], bytes[5..5 + len].to_vec()));
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

/// A client that has completed the server's first flight with TLS_AES_128_GCM_SHA256/X25519.
pub struct Mini {
    pub transcript: Transcript,
    pub c_hs: Secret,
    pub write: RecordCipher,
    /// Server application traffic read cipher (for alerts and data after the server Finished).
    pub read_ap: RecordCipher,
    pub c_ap: Secret,
}

impl Mini {
    /// Sends a standard ClientHello (plus `extra` extensions) to `server`, processes its flight.
    pub fn connect(server: &mut ticketdiff::native::ServerConnection, extra: Vec<Ext>) -> Mini {
        let eph = Eph::x25519();
        let mut exts = standard_exts(&eph.public);
        exts.extend(extra);
        let ch = client_hello(&[0x1301], &[], &[0], &exts);
        server
            .read_tls(&plain_record(content::HANDSHAKE, &ch))
            .unwrap();
        let out = server.take_output();
        let suite = &TLS_AES_128_GCM_SHA256;
        let mut transcript = Transcript::new(suite);
        transcript.add(&ch);
        let recs = records(&out);
        let sh = &recs[0].1;
        assert_eq!(sh[0], hs::SERVER_HELLO);
        transcript.add(sh);
        // The server's key share is the last 32 bytes of the key_share extension; find it.
        let pos = sh
            .windows(6)
            .position(|w| w == [0x00, 0x33, 0x00, 0x24, 0x00, 0x1d])
            .expect("key_share");
        let server_pub = &sh[pos + 8..pos + 40];
        let shared = agreement::agree_ephemeral(
            eph.private,
            &agreement::UnparsedPublicKey::new(&agreement::X25519, server_pub),
            |s| s.to_vec(),
        )
        .unwrap();
        let secrets = Schedule::new(suite, None).input_ecdhe(&shared);
        let h = transcript.hash();
        let c_hs = secrets.handshake.derive(b"c hs traffic", &h);
        let s_hs = secrets.handshake.derive(b"s hs traffic", &h);
        let mut read = RecordCipher::new(s_hs);
        let mut flight = Vec::new();
        for (t, p) in &recs[1..] {
            if *t == content::APPLICATION_DATA {
                let mut hdr = [t.to_owned(), 3, 3, 0, 0];
                hdr[3] = (p.len() >> 8) as u8;
                hdr[4] = p.len() as u8;
                let (inner, plain) = read.open(hdr, p).unwrap();
                assert_eq!(inner, content::HANDSHAKE);
                flight.extend_from_slice(&plain);
            }
        }
        transcript.add(&flight);
        let h = transcript.hash();
        let c_ap = secrets.master.derive(b"c ap traffic", &h);
        let s_ap = secrets.master.derive(b"s ap traffic", &h);
        Mini {
            transcript,
            write: RecordCipher::new(c_hs.clone()),
            read_ap: RecordCipher::new(s_ap),
            c_hs,
            c_ap,
        }
    }

    /// A correct client Finished message.
    pub fn finished(&self) -> Vec<u8> {
        msgs::finished(&self.c_hs.finished_mac(&self.transcript.hash()))
    }

    /// Protects `payload` of inner type `typ` with the current write cipher.
    pub fn seal(&mut self, typ: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.write.seal(typ, payload, &mut out).unwrap();
        out
    }

    /// Seals `inner` (content plus type byte, unchecked size) as the first record under the
    /// client handshake key.
    pub fn seal_raw_first(&self, inner: &[u8]) -> Vec<u8> {
        let key = self.c_hs.expand_label(b"key", b"", 16);
        let iv = self.c_hs.expand_label(b"iv", b"", 12);
        let key = ring::aead::LessSafeKey::new(
            ring::aead::UnboundKey::new(&ring::aead::AES_128_GCM, &key).unwrap(),
        );
        let len = inner.len() + 16;
        let hdr = [content::APPLICATION_DATA, 3, 3, (len >> 8) as u8, len as u8];
        let mut buf = inner.to_vec();
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&iv);
        key.seal_in_place_append_tag(
            ring::aead::Nonce::assume_unique_for_key(nonce),
            ring::aead::Aad::from(hdr),
            &mut buf,
        )
        .unwrap();
        let mut out = hdr.to_vec();
        out.extend(buf);
        out
    }

    /// Switches the write cipher to client application traffic (after a good Finished).
    pub fn use_app_keys(&mut self) {
        self.write = RecordCipher::new(self.c_ap.clone());
    }

    /// Sends a correct Finished, switches to application keys and reads the tickets.
    pub fn finish(&mut self, server: &mut ticketdiff::native::ServerConnection) {
        let fin = self.finished();
        let rec = self.seal(content::HANDSHAKE, &fin);
        server.read_tls(&rec).unwrap();
        self.transcript.add(&fin);
        self.use_app_keys();
        assert_eq!(self.read_alert(&server.take_output()), None);
    }

    /// Decrypts the server's output with the application read cipher: the handshake messages.
    pub fn read_handshake(&mut self, out: &[u8]) -> Vec<u8> {
        let mut msgs = Vec::new();
        for (t, p) in records(out) {
            let hdr = [t, 3, 3, (p.len() >> 8) as u8, p.len() as u8];
            let (inner, plain) = self.read_ap.open(hdr, &p).unwrap();
            if inner == content::HANDSHAKE {
                msgs.extend(plain);
            }
        }
        msgs
    }

    /// Decrypts the server's output with the application read cipher; returns the alert, if any.
    pub fn read_alert(&mut self, out: &[u8]) -> Option<AlertDescription> {
        for (t, p) in records(out) {
            if t == content::ALERT {
                return Some(AlertDescription::from_u8(p[1]));
            }
            let hdr = [t, 3, 3, (p.len() >> 8) as u8, p.len() as u8];
            let (inner, plain) = self.read_ap.open(hdr, &p).ok()?;
            if inner == content::ALERT {
                return Some(AlertDescription::from_u8(plain[1]));
            }
        }
        None
    }
}
