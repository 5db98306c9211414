//! A minimal, deliberately permissive TLS 1.3 client built from the native server's own encoding
//! and key-schedule pieces: TLS_AES_128_GCM_SHA256 with X25519 only. The fault tests use it to
//! send what a real client never sends, the fuzz entry points to reach the states after the
//! handshake; both need the keys in hand, which no real client library gives out.

use super::client_hello::{
    client_hello, plain_record, records, server_key_share, standard_exts, Eph, Ext,
};
use crate::native::key_schedule::{Schedule, Secret, Transcript};
use crate::native::msgs::{self, content, hs};
use crate::native::record::RecordCipher;
use crate::native::suites::TLS_AES_128_GCM_SHA256;
use crate::native::{AlertDescription, Error, ServerConnection};
use ring::agreement;

/// A client past the server's first flight.
pub struct Mini {
    /// Every handshake message through the server's Finished (and whatever the test adds).
    pub transcript: Transcript,
    pub c_hs: Secret,
    /// The client's sending key: handshake traffic until [`Mini::use_app_keys`].
    pub write: RecordCipher,
    /// The server's application traffic key (for what the server sends after its Finished).
    pub read_ap: RecordCipher,
    pub c_ap: Secret,
}

impl Mini {
    /// Sends a standard ClientHello (plus `extra` extensions) to `server` and processes its
    /// flight, up to (not including) the client's Finished.
    pub fn connect(server: &mut ServerConnection, extra: Vec<Ext>) -> Mini {
        let eph = Eph::x25519();
        let mut exts = standard_exts(&eph.public);
        exts.extend(extra);
        let ch = client_hello(&[TLS_AES_128_GCM_SHA256.id], &[], &[0], &exts);
        server
            .read_tls(&plain_record(content::HANDSHAKE, &ch))
            .expect("server accepts the ClientHello");
        let out = server.take_output();
        let recs = records(&out);
        assert_eq!(recs[0].1[0], hs::SERVER_HELLO);
        let server_pub = server_key_share(&recs[0].1).expect("ServerHello key share");
        let shared = agreement::agree_ephemeral(
            eph.private,
            &agreement::UnparsedPublicKey::new(&agreement::X25519, &server_pub),
            |s| s.to_vec(),
        )
        .expect("X25519 agreement");
        Mini::from_flight(&ch, &out, None, &shared)
    }

    /// Processes the server's flight `out` (ServerHello first) that answers the ClientHello
    /// message `ch`, with the PSK `psk` (if any) and (EC)DHE input `shared`.
    pub fn from_flight(ch: &[u8], out: &[u8], psk: Option<&[u8]>, shared: &[u8]) -> Mini {
        let suite = &TLS_AES_128_GCM_SHA256;
        let mut transcript = Transcript::new(suite);
        transcript.add(ch);
        let recs = records(out);
        let sh = &recs[0].1;
        assert_eq!(sh[0], hs::SERVER_HELLO);
        transcript.add(sh);
        let secrets = Schedule::new(suite, psk).input_ecdhe(shared);
        let h = transcript.hash();
        let c_hs = secrets.handshake.derive(b"c hs traffic", &h);
        let s_hs = secrets.handshake.derive(b"s hs traffic", &h);
        let mut read = RecordCipher::new(s_hs);
        for (t, p) in &recs[1..] {
            if *t == content::APPLICATION_DATA {
                let (inner, plain) = read.open(header(*t, p), p).expect("server flight decrypts");
                assert_eq!(inner, content::HANDSHAKE);
                transcript.add(&plain);
            }
        }
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
        self.write.seal(typ, payload, &mut out).expect("seal");
        out
    }

    /// Seals `inner` (content plus type byte, unchecked size) as the first record under the
    /// client handshake key.
    pub fn seal_raw_first(&self, inner: &[u8]) -> Vec<u8> {
        let key = self.c_hs.expand_label(b"key", b"", 16);
        let iv = self.c_hs.expand_label(b"iv", b"", 12);
        let key = ring::aead::LessSafeKey::new(
            ring::aead::UnboundKey::new(&ring::aead::AES_128_GCM, &key).expect("AES key"),
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
        .expect("seal");
        let mut out = hdr.to_vec();
        out.extend(buf);
        out
    }

    /// Switches the write cipher to client application traffic (after a good Finished).
    pub fn use_app_keys(&mut self) {
        self.write = RecordCipher::new(self.c_ap.clone());
    }

    /// Sends a correct Finished, switches to application keys and reads the tickets.
    pub fn finish(&mut self, server: &mut ServerConnection) {
        let fin = self.finished();
        let rec = self.seal(content::HANDSHAKE, &fin);
        server.read_tls(&rec).expect("server accepts the Finished");
        assert!(server.is_handshake_finished());
        self.transcript.add(&fin);
        self.use_app_keys();
        assert_eq!(self.read_alert(&server.take_output()), None);
    }

    /// Opens what the server sent after its Finished: each record's (inner) content type and
    /// content, plaintext alerts as they are. A KeyUpdate from the server moves the read key
    /// on, as it does the server's. Fails at the first record that does not decrypt.
    pub fn open(&mut self, out: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, Error> {
        let mut opened = Vec::new();
        for (t, p) in records(out) {
            if t != content::APPLICATION_DATA {
                opened.push((t, p));
                continue;
            }
            let (inner, plain) = self.read_ap.open(header(t, &p), &p)?;
            if inner == content::HANDSHAKE && plain.first() == Some(&hs::KEY_UPDATE) {
                self.read_ap = self.read_ap.updated();
            }
            opened.push((inner, plain));
        }
        Ok(opened)
    }

    /// The handshake messages the server sent after its Finished, in one buffer.
    pub fn handshake_messages(&mut self, out: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self
            .open(out)?
            .into_iter()
            .filter(|(t, _)| *t == content::HANDSHAKE)
            .flat_map(|(_, m)| m)
            .collect())
    }

    /// [`Mini::handshake_messages`], for a test: output that does not decrypt fails it.
    pub fn read_handshake(&mut self, out: &[u8]) -> Vec<u8> {
        self.handshake_messages(out)
            .expect("server output decrypts")
    }

    /// The first alert the server sent after its Finished (protected or not), if any; `None`
    /// as well when its output does not decrypt.
    pub fn read_alert(&mut self, out: &[u8]) -> Option<AlertDescription> {
        self.open(out)
            .ok()?
            .into_iter()
            .find(|(t, _)| *t == content::ALERT)
            .map(|(_, a)| AlertDescription::from_u8(a[1]))
    }
}

/// The certificate_request_context of the first CertificateRequest in `handshake` (messages
/// as [`Mini::read_handshake`] returns them).
pub fn certificate_request_context(handshake: &[u8]) -> Option<Vec<u8>> {
    let mut rest = handshake;
    while rest.len() >= 4 {
        let len = usize::from(rest[1]) << 16 | usize::from(rest[2]) << 8 | usize::from(rest[3]);
        let body = rest.get(4..4 + len)?;
        if rest[0] == hs::CERTIFICATE_REQUEST {
            let n = usize::from(*body.first()?);
            return body.get(1..1 + n).map(<[u8]>::to_vec);
        }
        rest = &rest[4 + len..];
    }
    None
}

/// The header of a record the server wrote, from its type and payload.
fn header(typ: u8, payload: &[u8]) -> [u8; 5] {
    [typ, 3, 3, (payload.len() >> 8) as u8, payload.len() as u8]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::msgs::ext;
    use crate::pki::pki;
    use std::sync::Arc;

    fn server() -> ServerConnection {
        let config = pki().native_p256_server_config([3u8; 32]).unwrap();
        ServerConnection::new(Arc::new(config), [4u8; 32], 1_700_000_000_000)
    }

    #[test]
    fn follows_the_server_through_tickets_key_update_and_a_certificate_request() {
        let mut s = server();
        let mut m = Mini::connect(&mut s, vec![(ext::POST_HANDSHAKE_AUTH, vec![])]);
        m.finish(&mut s);
        assert_eq!(s.tickets_written(), 2);
        // After the server's KeyUpdate, its next record opens only with the next key.
        s.send_key_update(false).unwrap();
        s.send_application_data(b"after").unwrap();
        let opened = m.open(&s.take_output()).unwrap();
        assert_eq!(
            opened.last().unwrap(),
            &(content::APPLICATION_DATA, b"after".to_vec())
        );
        s.request_client_auth().unwrap();
        let messages = m.handshake_messages(&s.take_output()).unwrap();
        assert_eq!(messages[0], hs::CERTIFICATE_REQUEST);
        let context = certificate_request_context(&messages).unwrap();
        assert_eq!(context, messages[5..5 + usize::from(messages[4])]);
        assert_eq!(context.len(), 32);
    }

    #[test]
    fn output_that_does_not_decrypt_is_an_error_and_no_alert() {
        let mut s = server();
        let mut m = Mini::connect(&mut s, vec![]);
        m.finish(&mut s);
        s.send_application_data(b"x").unwrap();
        let mut out = s.take_output();
        let last = out.len() - 1;
        out[last] ^= 1;
        assert!(m.open(&out).is_err());
        assert_eq!(m.read_alert(&out), None);
    }
}
