//! Fuzzing entry point: arbitrary bytes from a client into a fresh server.

use super::codec::{put_u16, with_len, Reader};
use super::key_schedule::{Schedule, Transcript};
use super::msgs;
use super::record::{self, RecordCipher};
use super::suites::TLS_AES_128_GCM_SHA256;
use super::{ServerConfig, ServerConnection};
use ring::agreement;
use std::sync::{Arc, OnceLock};

fn config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let pki = super::pki::TestPki::generate().expect("pki");
            let cfg = pki.server_config([7u8; 32]).expect("config");
            Arc::new(cfg)
        })
        .clone()
}

/// Feeds client bytes and drains the server; checks that a fault is answered with an alert
/// (or was the client's own alert). Returns the server's output and whether it goes on.
fn feed(conn: &mut ServerConnection, bytes: &[u8]) -> (Vec<u8>, bool) {
    let r = conn.read_tls(bytes);
    let out = conn.take_output();
    let _ = conn.recv_application_data();
    if let Err(e) = r {
        assert!(
            e.alert().is_some() || matches!(e, super::Error::PeerAlert(_)),
            "fault without alert: {e:?}"
        );
        assert!(!out.is_empty() || e.alert().is_none(), "no alert sent");
        return (out, false);
    }
    (out, true)
}

/// Feeds `data` to a fresh server as a client would, in chunks whose sizes come from the
/// first byte, and checks: no panic, bounded output, every fault an alert or a peer alert.
pub fn fuzz_server_bytes(data: &[u8]) {
    let mut conn = ServerConnection::new(config(), [1u8; 32], 1_700_000_000_000);
    let (chunk, rest) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c).max(1) * 64, rest),
        None => return,
    };
    let mut total_out = 0usize;
    for piece in rest.chunks(chunk) {
        let (out, alive) = feed(&mut conn, piece);
        total_out += out.len();
        if !alive {
            break;
        }
    }
    // One server flight plus one alert at most: certificate chain and handshake messages.
    assert!(total_out < 64 * 1024, "output too large: {total_out}");
}

/// A minimal client that completes a handshake with a native server, so fuzz input can reach
/// the post-handshake states.
struct FuzzClient {
    write: RecordCipher,
    read: RecordCipher,
}

fn client_hello(public: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    put_u16(&mut b, 0x0303);
    b.extend_from_slice(&[0x42; 32]);
    b.push(0);
    with_len(&mut b, 2, |o| put_u16(o, TLS_AES_128_GCM_SHA256.id));
    b.extend_from_slice(&[1, 0]);
    with_len(&mut b, 2, |o| {
        let ext = |o: &mut Vec<u8>, typ: u16, data: &[u8]| {
            put_u16(o, typ);
            with_len(o, 2, |o| o.extend_from_slice(data));
        };
        ext(o, msgs::ext::SUPPORTED_VERSIONS, &[2, 3, 4]);
        ext(o, msgs::ext::SUPPORTED_GROUPS, &[0, 2, 0, 0x1d]);
        ext(o, msgs::ext::SIGNATURE_ALGORITHMS, &[0, 2, 4, 3]);
        ext(o, msgs::ext::POST_HANDSHAKE_AUTH, &[]);
        let mut ks = Vec::new();
        with_len(&mut ks, 2, |o| {
            put_u16(o, 0x1d);
            with_len(o, 2, |o| o.extend_from_slice(public));
        });
        ext(o, msgs::ext::KEY_SHARE, &ks);
    });
    msgs::handshake(msgs::hs::CLIENT_HELLO, &b)
}

fn server_share(sh: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader::new(sh.get(4..)?);
    r.take(2 + 32).ok()?;
    r.vec8().ok()?;
    r.take(3).ok()?;
    let mut exts = Reader::new(r.vec16().ok()?);
    while !exts.is_empty() {
        let typ = exts.u16().ok()?;
        let mut d = Reader::new(exts.vec16().ok()?);
        if typ == msgs::ext::KEY_SHARE {
            d.u16().ok()?;
            return Some(d.vec16().ok()?.to_vec());
        }
    }
    None
}

fn records(mut bytes: &[u8]) -> Vec<([u8; 5], Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 5 {
        let len = u16::from_be_bytes([bytes[3], bytes[4]]) as usize;
        let mut h = [0u8; 5];
        h.copy_from_slice(&bytes[..5]);
        out.push((h, bytes[5..5 + len].to_vec()));
        bytes = &bytes[5 + len..];
    }
    out
}

impl FuzzClient {
    /// Decrypts server output; returns the certificate_request_context of a CertificateRequest.
    fn read_output(&mut self, out: &[u8]) -> Option<Vec<u8>> {
        let mut context = None;
        for (h, p) in records(out) {
            if h[0] != msgs::content::APPLICATION_DATA {
                continue;
            }
            let Ok((inner, plain)) = self.read.open(h, &p) else {
                return context;
            };
            if inner == msgs::content::HANDSHAKE {
                match plain.first() {
                    Some(&msgs::hs::CERTIFICATE_REQUEST) => {
                        let n = usize::from(plain[4]);
                        context = Some(plain[5..5 + n].to_vec());
                    }
                    Some(&msgs::hs::KEY_UPDATE) => self.read = self.read.updated(),
                    _ => {}
                }
            }
        }
        context
    }

    /// Runs a full handshake against `conn`; panics if the server misbehaves.
    fn connect(conn: &mut ServerConnection) -> FuzzClient {
        let suite = &TLS_AES_128_GCM_SHA256;
        let rng = ring::rand::SystemRandom::new();
        let private = agreement::EphemeralPrivateKey::generate(&agreement::X25519, &rng)
            .expect("key generation");
        let public = private.compute_public_key().expect("public key");
        let ch = client_hello(public.as_ref());
        let mut rec = Vec::new();
        record::write_plain(msgs::content::HANDSHAKE, &ch, &mut rec);
        conn.read_tls(&rec).expect("server accepts the ClientHello");
        let out = conn.take_output();
        let recs = records(&out);
        let sh = &recs[0].1;
        let mut transcript = Transcript::new(suite);
        transcript.add(&ch);
        transcript.add(sh);
        let peer = server_share(sh).expect("server key share");
        let shared = agreement::agree_ephemeral(
            private,
            &agreement::UnparsedPublicKey::new(&agreement::X25519, &peer),
            |s| s.to_vec(),
        )
        .expect("agreement");
        let secrets = Schedule::new(suite, None).input_ecdhe(&shared);
        let h = transcript.hash();
        let c_hs = secrets.handshake.derive(b"c hs traffic", &h);
        let s_hs = secrets.handshake.derive(b"s hs traffic", &h);
        let mut read = RecordCipher::new(s_hs);
        for (h, p) in &recs[1..] {
            if h[0] == msgs::content::APPLICATION_DATA {
                let (_, plain) = read.open(*h, p).expect("server flight decrypts");
                transcript.add(&plain);
            }
        }
        let h = transcript.hash();
        let c_ap = secrets.master.derive(b"c ap traffic", &h);
        let s_ap = secrets.master.derive(b"s ap traffic", &h);
        let fin = msgs::finished(&c_hs.finished_mac(&h));
        let mut write = RecordCipher::new(c_hs);
        let mut rec = Vec::new();
        write
            .seal(msgs::content::HANDSHAKE, &fin, &mut rec)
            .expect("seal");
        conn.read_tls(&rec).expect("server accepts the Finished");
        assert!(conn.is_handshake_finished());
        FuzzClient {
            write: RecordCipher::new(c_ap),
            read: RecordCipher::new(s_ap),
        }
    }
}

/// Completes a handshake, then feeds `data` to the server as protected records, so the
/// post-handshake states (application data, KeyUpdate, post-handshake auth) see arbitrary
/// plaintext. Input: byte 0 bit 0 starts post-handshake auth first; then chunks of
/// `[inner type][len hi][len lo][payload]`; a chunk that is exactly a KeyUpdate makes the
/// client move to its next key too.
pub fn fuzz_established_bytes(data: &[u8]) {
    let mut conn = ServerConnection::new(config(), [2u8; 32], 1_700_000_000_000);
    let mut client = FuzzClient::connect(&mut conn);
    let tickets = conn.take_output();
    client.read_output(&tickets);
    let Some((flags, mut rest)) = data.split_first() else {
        return;
    };
    let mut context = None;
    if flags & 1 == 1 {
        conn.request_client_auth()
            .expect("client offered post-handshake auth");
        let out = conn.take_output();
        context = client.read_output(&out);
    }
    let mut total_out = 0;
    while rest.len() >= 3 {
        let typ = rest[0];
        let len = (usize::from(rest[1]) << 8 | usize::from(rest[2])) % (record::MAX_FRAGMENT + 1);
        let mut payload = rest[3..(3 + len).min(rest.len())].to_vec();
        rest = &rest[(3 + len).min(rest.len())..];
        if let (Some(ctx), [msgs::hs::CERTIFICATE, list @ ..]) = (&context, payload.as_slice()) {
            // Give a client Certificate the right context so its chain reaches webpki.
            let mut body = Vec::new();
            with_len(&mut body, 1, |o| o.extend_from_slice(ctx));
            body.extend_from_slice(list);
            payload = msgs::handshake(msgs::hs::CERTIFICATE, &body);
            payload.truncate(record::MAX_FRAGMENT);
        }
        let mut rec = Vec::new();
        client.write.seal(typ, &payload, &mut rec).expect("seal");
        let (out, alive) = feed(&mut conn, &rec);
        total_out += out.len();
        if !alive {
            break;
        }
        client.read_output(&out);
        if typ == msgs::content::HANDSHAKE && matches!(payload.as_slice(), [24, 0, 0, 1, 0 | 1]) {
            client.write = client.write.updated();
        }
        if conn.peer_closed() {
            break;
        }
    }
    // Tickets after post-handshake auth, KeyUpdate answers and one alert at most.
    assert!(total_out < 64 * 1024, "output too large: {total_out}");
}
