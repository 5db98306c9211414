//! Plays a [`Scenario`] against a native server as a client holding its own keys: the first
//! ClientHello, the second after an HRR (the asked-for share, the cookie echoed), then, when a
//! ServerHello comes, the real key schedule (any suite, group, PSK or psk_ke), the server's
//! flight decrypted, and the client's flight (certificate, CertificateVerify, Finished) and
//! records after it; with a ticket that allows early data, 0-RTT records behind the ClientHello
//! and EndOfEarlyData when the server accepted them. Every fault must be answered with an alert
//! (checked by `feed`).

use super::client_hello::{plain_record, psk_client_hello, records, OfferedPsk};
use super::native_input::{
    client_kind, extensions, suites, ClientCert, ClientKey, EndKind, FinishedKind, Hello, PskKind,
    Quirk, Scenario, EXTERNAL_PSK_IDENTITY, EXTERNAL_PSK_KEY, SUITES,
};
use crate::native::codec::Reader;
use crate::native::key_schedule::{Schedule, Secret, Transcript};
use crate::native::msgs::{self, content, ext, hs, HRR_RANDOM};
use crate::native::record::{RecordCipher, MAX_FRAGMENT};
use crate::native::ticket::{TicketKey, TicketState};
use crate::native::{AlertDescription, CertifiedKey, CipherSuite, Error, ServerConnection};
use crate::pki::pki;

/// The time the fuzzed servers run at, and the ticket key they seal with.
pub const NOW_MS: u64 = 1_700_000_000_000;
pub const TICKET_KEY: [u8; 32] = [7; 32];
/// The early data the client's tickets allow (OpenSSL's receive limit).
pub const TICKET_MAX_EARLY_DATA: u32 = 16384;

/// How far a run got: the last stage reached and the server's alert, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Nothing,
    HelloRetryRequest,
    ServerHello,
    /// The server's flight decrypted with the client's keys.
    ServerFlight,
    HandshakeDone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Outcome {
    pub stage: Stage,
    pub alert: Option<AlertDescription>,
    pub resumed: bool,
    pub client_cert_requested: bool,
    /// The server's EncryptedExtensions accepted the client's early data.
    pub early_accepted: bool,
}

/// What `read_tls` gave: the output, and the alert if the server failed.
struct Fed {
    out: Vec<u8>,
    alert: Option<AlertDescription>,
}

fn feed(conn: &mut ServerConnection, bytes: &[u8], chunk: usize) -> Fed {
    let mut out = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        let r = conn.read_tls(piece);
        out.extend(conn.take_output());
        let _ = conn.recv_application_data();
        if let Err(e) = r {
            check_fault(&e, &out);
            return Fed {
                out,
                alert: e.alert(),
            };
        }
    }
    Fed { out, alert: None }
}

/// What holds for every fault: it is answered with an alert (in `out`), or was the client's
/// own alert.
pub(crate) fn check_fault(e: &Error, out: &[u8]) {
    assert!(
        e.alert().is_some() || matches!(e, Error::PeerAlert(_)),
        "fault without alert: {e:?}"
    );
    assert!(!out.is_empty() || e.alert().is_none(), "no alert sent");
}

/// The fields of a ServerHello (or HRR) the client needs.
struct ServerHello {
    hrr: bool,
    suite: u16,
    share: Option<(u16, Vec<u8>)>,
    psk: bool,
    cookie: Option<Vec<u8>>,
}

fn parse_server_hello(msg: &[u8]) -> Option<ServerHello> {
    let mut r = Reader::new(msg.get(4..)?);
    r.take(2).ok()?;
    let hrr = r.take(32).ok()? == HRR_RANDOM;
    r.vec8().ok()?;
    let suite = r.u16().ok()?;
    r.take(1).ok()?;
    let mut exts = Reader::new(r.vec16().ok()?);
    let mut sh = ServerHello {
        hrr,
        suite,
        share: None,
        psk: false,
        cookie: None,
    };
    while !exts.is_empty() {
        let typ = exts.u16().ok()?;
        let mut d = Reader::new(exts.vec16().ok()?);
        match typ {
            ext::KEY_SHARE if hrr => sh.share = Some((d.u16().ok()?, Vec::new())),
            ext::KEY_SHARE => sh.share = Some((d.u16().ok()?, d.vec16().ok()?.to_vec())),
            ext::PRE_SHARED_KEY => sh.psk = true,
            ext::COOKIE => sh.cookie = Some(d.vec16().ok()?.to_vec()),
            _ => {}
        }
    }
    Some(sh)
}

/// The PSKs a [`Hello`] offers: (identity, key, external, obfuscated age, binder suite).
struct Offer {
    identity: Vec<u8>,
    key: Vec<u8>,
    external: bool,
    age: u32,
    suite: &'static CipherSuite,
}

fn psk_offers(h: &Hello) -> Vec<Offer> {
    let Some(spec) = &h.psk else {
        return Vec::new();
    };
    let sha256 = CipherSuite::by_id(0x1301).expect("suite");
    let mut offers: Vec<Offer> = (0..spec.before % 4)
        .map(|i| Offer {
            identity: vec![i; 20],
            key: vec![i; 32],
            external: false,
            age: 0,
            suite: sha256,
        })
        .collect();
    let offer = match &spec.kind {
        PskKind::Ticket { suite, skew_ms } => {
            let expired = h.quirk() == Quirk::ExpiredTicket;
            let suite =
                CipherSuite::by_id(SUITES[usize::from(*suite) % SUITES.len()]).expect("suite");
            let age_ms: u64 = if expired { 7_300_000 } else { 1_000 };
            let state = TicketState {
                suite: suite.id,
                psk: vec![5; suite.hash_len()],
                age_add: 0x1234_5678,
                issued_ms: NOW_MS - age_ms,
                lifetime_s: 7200,
                peer_cert: None,
                max_early_data: TICKET_MAX_EARLY_DATA,
            };
            let age = (age_ms as i64 + i64::from(*skew_ms)) as u32;
            Offer {
                identity: TicketKey::new(TICKET_KEY).seal(&state, [1; 12]),
                key: state.psk,
                external: false,
                age: age.wrapping_add(state.age_add),
                suite,
            }
        }
        PskKind::External => Offer {
            identity: EXTERNAL_PSK_IDENTITY.to_vec(),
            key: EXTERNAL_PSK_KEY.to_vec(),
            external: true,
            age: 0,
            suite: sha256,
        },
        PskKind::Unknown(id) => Offer {
            identity: id.clone(),
            key: vec![0; 32],
            external: true,
            age: 0,
            suite: sha256,
        },
    };
    offers.push(offer);
    offers
}

/// One ClientHello message: its bytes, the keys of its shares, and its PSK offers.
fn client_hello(
    h: &Hello,
    before: Option<&Transcript>,
    forced_share: Option<u16>,
    cookie: Option<&[u8]>,
) -> (Vec<u8>, Vec<(u16, ClientKey)>, Vec<Offer>) {
    let ca_name = crate::native::certs::subject_name(&pki().ca_cert_der).unwrap_or_default();
    let (exts, keys) = extensions(h, forced_share, cookie, &ca_name);
    let session_id = if h.flags & 1 != 0 {
        vec![3; 32]
    } else {
        vec![]
    };
    let offers = psk_offers(h);
    let mut ch = match offers.last() {
        None => super::client_hello::client_hello(&suites(h), &session_id, &[0], &exts),
        Some(last) => {
            let psks: Vec<OfferedPsk> = offers
                .iter()
                .map(|o| OfferedPsk {
                    identity: &o.identity,
                    key: &o.key,
                    external: o.external,
                    obfuscated_age: o.age,
                })
                .collect();
            let fresh = Transcript::new(last.suite);
            let before = before.unwrap_or(&fresh);
            let mut ch =
                psk_client_hello(before, &session_id, &suites(h), &exts, &psks, last.suite);
            if h.quirk() == Quirk::BadBinder {
                let last = ch.len() - 1;
                ch[last] ^= 1;
            }
            ch
        }
    };
    if h.quirk() == Quirk::LegacyVersion {
        ch[4..6].copy_from_slice(&[3, 1]);
    }
    (ch, keys, offers)
}

/// Plaintext records of at most 2^14 bytes around a handshake message.
fn plain_records(msg: &[u8]) -> Vec<u8> {
    if msg.is_empty() {
        return plain_record(content::HANDSHAKE, msg);
    }
    msg.chunks(MAX_FRAGMENT)
        .flat_map(|c| plain_record(content::HANDSHAKE, c))
        .collect()
}

fn sealed(cipher: &mut RecordCipher, typ: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if payload.is_empty() {
        let _ = cipher.seal(typ, payload, &mut out);
    }
    for c in payload.chunks(MAX_FRAGMENT) {
        let _ = cipher.seal(typ, c, &mut out);
    }
    out
}

/// Splits handshake bytes into messages (a partial one at the end is dropped).
fn messages(mut b: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = usize::from(b[1]) << 16 | usize::from(b[2]) << 8 | usize::from(b[3]);
        let Some(m) = b.get(..4 + len) else { break };
        out.push(m);
        b = &b[4 + len..];
    }
    out
}

/// Plays `s` against `conn`.
pub fn play(conn: &mut ServerConnection, s: &Scenario) -> Outcome {
    let chunk = match s.chunk {
        0 => usize::MAX,
        n => usize::from(n) * 64,
    };
    let mut outcome = Outcome {
        stage: Stage::Nothing,
        alert: None,
        resumed: false,
        client_cert_requested: false,
        early_accepted: false,
    };
    let damage = |flight: u8, bytes: &mut Vec<u8>| {
        if let Some(d) = &s.damage {
            d.apply(flight, bytes);
        }
    };
    // A scenario with early data offers it (the early_data extension) in its first hello.
    let first = match s.early {
        Some(_) => Hello {
            flags: s.first.flags | 2,
            ..s.first.clone()
        },
        None => s.first.clone(),
    };
    let (mut ch, mut keys, mut offers) = client_hello(&first, None, None, None);
    damage(0, &mut ch);
    let mut wire = plain_records(&ch);
    damage(3, &mut wire);
    let mut early = early_data(s, &ch, &offers, &mut wire);
    let mut fed = feed(conn, &wire, chunk);
    let mut before: Option<Transcript> = None;
    let mut retried = false;
    loop {
        if fed.alert.is_some() {
            outcome.alert = fed.alert;
            return outcome;
        }
        let recs = records(&fed.out);
        let Some(sh_msg) = recs
            .iter()
            .find(|(t, p)| *t == content::HANDSHAKE && p.first() == Some(&hs::SERVER_HELLO))
            .map(|(_, p)| p.clone())
        else {
            return outcome;
        };
        let Some(sh) = parse_server_hello(&sh_msg) else {
            return outcome;
        };
        let Some(suite) = CipherSuite::by_id(sh.suite) else {
            return outcome;
        };
        if sh.hrr && !retried {
            retried = true;
            // A HelloRetryRequest rejects early data: no EndOfEarlyData follows.
            early = None;
            outcome.stage = Stage::HelloRetryRequest;
            let mut t = Transcript::new(suite);
            t.add(&msgs::handshake(
                hs::MESSAGE_HASH,
                ring::digest::digest(suite.digest, &ch).as_ref(),
            ));
            t.add(&sh_msg);
            let group = sh.share.as_ref().map(|(g, _)| *g);
            // What must not change after an HRR stays (suites, session id, no early_data); the
            // retry's own quirk and PSK offer come from the scenario.
            let retry = Hello {
                quirk: s.retry.quirk,
                psk: s.retry.psk.clone(),
                flags: s.first.flags & !2,
                ..s.first.clone()
            };
            let (ch2, keys2, offers2) = client_hello(&retry, Some(&t), group, sh.cookie.as_deref());
            ch = ch2;
            keys = keys2;
            offers = offers2;
            damage(1, &mut ch);
            let wire = plain_records(&ch);
            before = Some(t);
            fed = feed(conn, &wire, chunk);
            continue;
        }
        outcome.stage = Stage::ServerHello;
        let mut transcript = before.take().unwrap_or_else(|| Transcript::new(suite));
        transcript.add(&ch);
        transcript.add(&sh_msg);
        return established(
            conn, s, suite, sh, transcript, keys, offers, early, &fed.out, chunk, outcome,
        );
    }
}

/// After the ServerHello: the server's flight, the client's, and records after it.
#[allow(clippy::too_many_arguments)]
fn established(
    conn: &mut ServerConnection,
    s: &Scenario,
    suite: &'static CipherSuite,
    sh: ServerHello,
    mut transcript: Transcript,
    keys: Vec<(u16, ClientKey)>,
    offers: Vec<Offer>,
    early: Option<RecordCipher>,
    out: &[u8],
    chunk: usize,
    mut outcome: Outcome,
) -> Outcome {
    let shared = match &sh.share {
        Some((group, public)) => {
            let Some((_, key)) = keys.into_iter().find(|(g, _)| g == group) else {
                return outcome;
            };
            match key.agree(public) {
                Some(s) => s,
                None => return outcome,
            }
        }
        None => vec![0; suite.hash_len()],
    };
    let psk = match sh.psk {
        true => match offers.last() {
            Some(o) => Some(o.key.clone()),
            None => return outcome,
        },
        false => None,
    };
    outcome.resumed = psk.is_some();
    let secrets = Schedule::new(suite, psk.as_deref()).input_ecdhe(&shared);
    let hash = transcript.hash();
    let c_hs = secrets.handshake.derive(b"c hs traffic", &hash);
    let mut read = RecordCipher::new(secrets.handshake.derive(b"s hs traffic", &hash));
    let mut flight = Vec::new();
    for (t, p) in records(out) {
        if t != content::APPLICATION_DATA {
            continue;
        }
        let header = [t, 3, 3, (p.len() >> 8) as u8, p.len() as u8];
        match read.open(header, &p) {
            Ok((content::HANDSHAKE, plain)) => flight.extend(plain),
            _ => return outcome,
        }
    }
    let mut request_context = None;
    for m in messages(&flight) {
        transcript.add(m);
        if m[0] == hs::CERTIFICATE_REQUEST {
            request_context = Some(m.get(5..5 + usize::from(m[4])).unwrap_or(&[]).to_vec());
        }
        if m[0] == hs::ENCRYPTED_EXTENSIONS {
            outcome.early_accepted = accepts_early_data(m);
        }
    }
    if messages(&flight)
        .last()
        .is_none_or(|m| m[0] != hs::FINISHED)
    {
        return outcome;
    }
    outcome.stage = Stage::ServerFlight;
    outcome.client_cert_requested = request_context.is_some();
    let hash = transcript.hash();
    let c_ap = secrets.master.derive(b"c ap traffic", &hash);
    let mut write = RecordCipher::new(c_hs.clone());
    let mut wire = Vec::new();
    if let Some(mut early) = early {
        let end = s
            .early
            .as_ref()
            .map_or(EndKind::Good, |e| EndKind::from_byte(e.end));
        let eoed = msgs::handshake(hs::END_OF_EARLY_DATA, &[]);
        match (outcome.early_accepted, end) {
            (true, EndKind::Good) => {
                transcript.add(&eoed);
                wire.extend(sealed(&mut early, content::HANDSHAKE, &eoed));
            }
            (true, EndKind::WrongKey) => {
                transcript.add(&eoed);
                wire.extend(sealed(&mut write, content::HANDSHAKE, &eoed));
            }
            (false, EndKind::Unasked) => {
                wire.extend(sealed(&mut early, content::HANDSHAKE, &eoed));
            }
            _ => {}
        }
    }
    let mut ours = client_flight(s, request_context.as_deref(), &mut transcript, &c_hs);
    if let Some(d) = &s.damage {
        d.apply(2, &mut ours);
    }
    wire.extend(sealed(&mut write, content::HANDSHAKE, &ours));
    let fed = feed(conn, &wire, chunk);
    outcome.alert = fed.alert;
    if fed.alert.is_some() || !conn.is_handshake_finished() {
        return outcome;
    }
    outcome.stage = Stage::HandshakeDone;
    let mut write = RecordCipher::new(c_ap);
    for (typ, payload) in s.after.iter().take(8) {
        let fed = feed(conn, &sealed(&mut write, *typ, payload), chunk);
        if fed.alert.is_some() || conn.peer_closed() {
            outcome.alert = fed.alert;
            break;
        }
    }
    outcome
}

/// The client's early data, when the first ClientHello offers it with a PSK and the scenario
/// has some: its records sealed onto `wire` under the client_early_traffic_secret (RFC 8446
/// 7.1, from the last PSK offered, the one the binder covers, and the ClientHello), whose
/// record cipher is returned for the EndOfEarlyData.
fn early_data(
    s: &Scenario,
    ch: &[u8],
    offers: &[Offer],
    wire: &mut Vec<u8>,
) -> Option<RecordCipher> {
    let flight = s.early.as_ref()?;
    let offer = offers.last()?;
    let mut transcript = Transcript::new(offer.suite);
    transcript.add(ch);
    let secret = Schedule::new(offer.suite, Some(&offer.key))
        .early
        .derive(b"c e traffic", &transcript.hash());
    let mut cipher = RecordCipher::new(secret);
    for (typ, payload) in flight.records.iter().take(8) {
        let payload = &payload[..payload.len().min(MAX_FRAGMENT)];
        wire.extend(sealed(&mut cipher, *typ, payload));
    }
    Some(cipher)
}

/// Whether an EncryptedExtensions message carries the early_data extension.
fn accepts_early_data(ee: &[u8]) -> bool {
    let mut r = Reader::new(ee.get(4..).unwrap_or(&[]));
    let Ok(block) = r.vec16() else {
        return false;
    };
    let mut exts = Reader::new(block);
    while let (Ok(typ), Ok(_)) = (exts.u16(), exts.vec16()) {
        if typ == ext::EARLY_DATA {
            return true;
        }
    }
    false
}

/// Certificate and CertificateVerify (when asked for and the scenario has them) and Finished.
fn client_flight(
    s: &Scenario,
    request_context: Option<&[u8]>,
    transcript: &mut Transcript,
    c_hs: &Secret,
) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(context) = request_context {
        let (chain, signer) = match s.client_cert {
            ClientCert::None => (None, None),
            ClientCert::Empty => (Some(Vec::new()), None),
            ClientCert::Chain(k) | ClientCert::BadSignature(k) => {
                let (kind, scheme) = client_kind(k);
                let id = pki().client_identity(kind);
                let key = CertifiedKey::new(vec![id.cert_der.clone()], &id.key_pkcs8).ok();
                (Some(vec![id.cert_der.clone()]), key.map(|k| (k, scheme)))
            }
        };
        if let Some(chain) = chain {
            let cert = msgs::certificate(context, &chain);
            transcript.add(&cert);
            out.extend_from_slice(&cert);
        }
        if let Some((key, scheme)) = signer {
            let content = msgs::signed_content(false, &transcript.hash());
            let mut sig = key.sign(scheme, &content).unwrap_or_default();
            if matches!(s.client_cert, ClientCert::BadSignature(_)) {
                if let Some(b) = sig.last_mut() {
                    *b ^= 1;
                }
            }
            let cv = msgs::certificate_verify(scheme, &sig);
            transcript.add(&cv);
            out.extend_from_slice(&cv);
        }
    }
    match FinishedKind::from_byte(s.finished) {
        FinishedKind::Good => out.extend(msgs::finished(&c_hs.finished_mac(&transcript.hash()))),
        FinishedKind::Bad => out.extend(msgs::finished(&vec![0; c_hs.suite().hash_len()])),
        FinishedKind::Missing => {}
    }
    out
}
