//! Faults: each must produce the alert RFC 8446 names, and no panic.

mod common;
use common::*;
use std::io::Write;
use ticketdiff::native::msgs::{content, ext, hs};
use ticketdiff::native::{AlertDescription as A, Error, KeyKind, ServerConnection};
use ticketdiff::testing::client_hello::*;
use ticketdiff::testing::mini_client::Mini;

fn fresh() -> ServerConnection {
    server(&config_with(|_| {}))
}

/// Feeds `bytes` to a fresh server; returns (error, plaintext alert).
fn feed(bytes: &[u8]) -> (Option<Error>, Option<A>) {
    let mut s = fresh();
    let r = s.read_tls(bytes).err();
    let out = s.take_output();
    (r, plain_alert(&out))
}

fn ch_with(exts: Vec<Ext>) -> Vec<u8> {
    plain_record(
        content::HANDSHAKE,
        &client_hello(&[0x1301], &[], &[0], &exts),
    )
}

fn expect_alert(bytes: &[u8], alert: A) {
    let (err, sent) = feed(bytes);
    assert_eq!(err.as_ref().and_then(|e| e.alert()), Some(alert), "{err:?}");
    assert_eq!(sent, Some(alert));
}

#[test]
fn standard_client_hello_is_accepted() {
    let eph = Eph::x25519();
    let (err, alert) = feed(&ch_with(standard_exts(&eph.public)));
    assert_eq!((err, alert), (None, None));
}

#[test]
fn unknown_extension_is_ignored() {
    let eph = Eph::x25519();
    let mut exts = standard_exts(&eph.public);
    exts.insert(1, (0xfafa, vec![1, 2, 3]));
    let mut s = fresh();
    let mut m = Mini::connect(&mut s, vec![(0x7777, vec![9; 10])]);
    let fin = m.finished();
    let rec = m.seal(content::HANDSHAKE, &fin);
    s.read_tls(&rec).unwrap();
    assert!(s.is_handshake_finished());
    assert_eq!(feed(&ch_with(exts)).0, None);
}

#[test]
fn truncated_and_malformed_client_hellos() {
    let eph = Eph::x25519();
    let ch = client_hello(&[0x1301], &[], &[0], &standard_exts(&eph.public));
    // Cut the body and fix the handshake length: decode_error.
    for cut in [1, 10, 40, 60, ch.len() - 4 - 5] {
        let mut m = ch[..ch.len() - cut].to_vec();
        let n = m.len() - 4;
        m[1..4].copy_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
        expect_alert(&plain_record(content::HANDSHAKE, &m), A::DecodeError);
    }
    // Extension length overruns its block.
    let mut bad = standard_exts(&eph.public);
    bad[1].1 = vec![0, 8, 0, 0x1d];
    expect_alert(&ch_with(bad), A::DecodeError);
    // post_handshake_auth must be empty.
    let mut exts = standard_exts(&eph.public);
    exts.push((ext::POST_HANDSHAKE_AUTH, vec![0]));
    expect_alert(&ch_with(exts), A::DecodeError);
    // Garbage.
    expect_alert(
        &plain_record(content::HANDSHAKE, &[1, 0, 0, 3, 1, 2, 3]),
        A::DecodeError,
    );
}

#[test]
fn truncated_input_waits() {
    let eph = Eph::x25519();
    let rec = ch_with(standard_exts(&eph.public));
    let mut s = fresh();
    // Byte by byte, the ClientHello still works.
    for b in &rec {
        s.read_tls(std::slice::from_ref(b)).unwrap();
    }
    assert!(!s.take_output().is_empty());
    // A ClientHello split over several records works too.
    let mut s = fresh();
    let ch = &rec[5..];
    for part in ch.chunks(7) {
        s.read_tls(&plain_record(content::HANDSHAKE, part)).unwrap();
    }
    assert!(!s.take_output().is_empty());
}

#[test]
fn version_faults() {
    let eph = Eph::x25519();
    let mut exts = standard_exts(&eph.public);
    exts[0] = ext_versions(&[0x0303, 0x0302]);
    expect_alert(&ch_with(exts), A::ProtocolVersion);
    let mut exts = standard_exts(&eph.public);
    exts.remove(0);
    expect_alert(&ch_with(exts), A::ProtocolVersion);
}

#[test]
fn tls12_openssl_client_gets_protocol_version() {
    let tickets = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut b = openssl::ssl::SslContext::builder(openssl::ssl::SslMethod::tls_client()).unwrap();
    b.set_max_proto_version(Some(openssl::ssl::SslVersion::TLS1_2))
        .unwrap();
    let _ = tickets;
    let ctx = b.build();
    let mut ssl = openssl::ssl::Ssl::new(&ctx).unwrap();
    ssl.set_connect_state();
    let (client_end, mut server_end) = ticketdiff::wire::wire();
    let mut client = openssl::ssl::SslStream::new(ssl, client_end).unwrap();
    let _ = client.do_handshake();
    let ch = server_end.take_pending();
    let mut s = fresh();
    let err = s.read_tls(&ch).unwrap_err();
    assert_eq!(err, Error::ProtocolVersion);
    let out = s.take_output();
    assert_eq!(plain_alert(&out), Some(A::ProtocolVersion));
    server_end.write_all(&out).unwrap();
    let e = client.do_handshake().unwrap_err();
    assert!(format!("{e:?}").contains("version"), "{e:?}");
}

#[test]
fn extension_faults() {
    let eph = Eph::x25519();
    let std = || standard_exts(&eph.public);

    let mut e = std();
    e.push(e[1].clone());
    expect_alert(&ch_with(e), A::IllegalParameter); // duplicate

    let mut e = std();
    e.insert(0, (ext::PRE_SHARED_KEY, psk_ext(1, 1)));
    e.push((ext::PSK_KEY_EXCHANGE_MODES, vec![1, 1]));
    expect_alert(&ch_with(e), A::IllegalParameter); // psk not last

    let mut e = std();
    e.push((ext::PSK_KEY_EXCHANGE_MODES, vec![1, 1]));
    e.push((ext::PRE_SHARED_KEY, psk_ext(2, 1)));
    expect_alert(&ch_with(e), A::IllegalParameter); // identities != binders

    let mut e = std();
    e.push((ext::PRE_SHARED_KEY, psk_ext(1, 1)));
    expect_alert(&ch_with(e), A::MissingExtension); // psk without modes

    let mut e = std();
    e.retain(|(t, _)| *t != ext::KEY_SHARE);
    expect_alert(&ch_with(e), A::MissingExtension);

    let mut e = std();
    e.retain(|(t, _)| *t != ext::SIGNATURE_ALGORITHMS);
    expect_alert(&ch_with(e), A::MissingExtension);

    let mut e = std();
    e[1] = ext_u16_list(ext::SUPPORTED_GROUPS, &[0x0017]);
    expect_alert(&ch_with(e), A::IllegalParameter); // share for a group not offered

    let mut e = std();
    e[3] = ext_key_share(&[(0x001d, &eph.public[..31])]);
    expect_alert(&ch_with(e), A::IllegalParameter); // bad share length

    let mut e = std();
    e[3] = ext_key_share(&[(0x001d, &[0u8; 32])]);
    expect_alert(&ch_with(e), A::IllegalParameter); // low-order point

    let mut e = std();
    e[3] = ext_key_share(&[(0x001d, &eph.public), (0x001d, &eph.public)]);
    expect_alert(&ch_with(e), A::IllegalParameter); // two shares for one group

    let mut e = std();
    e.push((ext::COOKIE, vec![0, 2, 1, 2]));
    expect_alert(&ch_with(e), A::IllegalParameter); // cookie in first ClientHello

    let mut e = std();
    e[2] = ext_u16_list(ext::SIGNATURE_ALGORITHMS, &[0x0804]);
    expect_alert(&ch_with(e), A::HandshakeFailure); // cannot verify ECDSA

    let e = std();
    expect_alert(
        &plain_record(
            content::HANDSHAKE,
            &client_hello(&[0x1304, 0x00ff], &[], &[0], &e),
        ),
        A::HandshakeFailure,
    );
    expect_alert(
        &plain_record(
            content::HANDSHAKE,
            &client_hello(&[0x1301], &[], &[1, 0], &e),
        ),
        A::IllegalParameter,
    );
}

fn psk_ext(identities: usize, binders: usize) -> Vec<u8> {
    use ticketdiff::native::codec::{put_u32, with_len};
    let mut b = Vec::new();
    with_len(&mut b, 2, |o| {
        for _ in 0..identities {
            with_len(o, 2, |o| o.extend_from_slice(&[5; 40]));
            put_u32(o, 1000);
        }
    });
    with_len(&mut b, 2, |o| {
        for _ in 0..binders {
            with_len(o, 1, |o| o.extend_from_slice(&[0; 32]));
        }
    });
    b
}

#[test]
fn unknown_ticket_falls_back_to_full_handshake() {
    let mut s = fresh();
    let m = Mini::connect(
        &mut s,
        vec![
            (ext::PSK_KEY_EXCHANGE_MODES, vec![1, 1]),
            (ext::PRE_SHARED_KEY, psk_ext(1, 1)),
        ],
    );
    let _ = m;
    assert!(s.error().is_none());
    assert!(!s.is_resumed());
}

#[test]
fn hrr_faults() {
    let cfg = config_with(|c| c.groups = vec![ticketdiff::native::NamedGroup::Secp256r1]);
    let eph = Eph::x25519();
    let ch1 = ch_with(standard_exts(&eph.public));
    let setup = || {
        let mut s = server(&cfg);
        s.read_tls(&ch1).unwrap();
        let out = s.take_output();
        let hrr = &records(&out)[0].1;
        assert_eq!(hrr[0], hs::SERVER_HELLO);
        // The cookie extension: 0x002c, len, vec16.
        let pos = hrr.windows(2).rposition(|w| w == [0x00, 0x2c]).unwrap();
        let cookie = hrr[pos + 4..].to_vec();
        (s, cookie)
    };
    // Second ClientHello with the old X25519 share: illegal_parameter.
    let (mut s, cookie) = setup();
    let mut e = standard_exts(&eph.public);
    e.push((ext::COOKIE, cookie.clone()));
    let err = s.read_tls(&ch_with(e)).unwrap_err();
    assert_eq!(err.alert(), Some(A::IllegalParameter));
    assert_eq!(plain_alert(&s.take_output()), Some(A::IllegalParameter));
    // Without the cookie: missing_extension.
    let (mut s, _) = setup();
    let p256 = [4u8; 65];
    let mut e = standard_exts(&eph.public);
    e[3] = ext_key_share(&[(0x0017, &p256)]);
    let err = s.read_tls(&ch_with(e.clone())).unwrap_err();
    assert_eq!(err.alert(), Some(A::MissingExtension));
    // With the cookie but an invalid P-256 point: illegal_parameter.
    let (mut s, cookie) = setup();
    e.push((ext::COOKIE, cookie));
    let err = s.read_tls(&ch_with(e)).unwrap_err();
    assert_eq!(err.alert(), Some(A::IllegalParameter));
    // A third ClientHello-like message of the wrong type.
    let (mut s, _) = setup();
    let err = s
        .read_tls(&plain_record(content::HANDSHAKE, &[20, 0, 0, 32]))
        .and_then(|_| s.read_tls(&plain_record(content::HANDSHAKE, &[0; 32])))
        .unwrap_err();
    assert_eq!(err.alert(), Some(A::UnexpectedMessage));
}

#[test]
fn record_layer_faults() {
    // Unknown record type.
    expect_alert(&[99, 3, 3, 0, 1, 0], A::UnexpectedMessage);
    // Plaintext record over 2^14.
    let mut big = vec![content::HANDSHAKE, 3, 3, 0x40, 0x01];
    big.extend(vec![1u8; 16385]);
    expect_alert(&big, A::RecordOverflow);
    // Length field over 2^14 + 256 (rejected from the header alone).
    expect_alert(&[content::HANDSHAKE, 3, 3, 0x41, 0x01], A::RecordOverflow);
    // change_cipher_spec before the ClientHello.
    expect_alert(
        &plain_record(content::CHANGE_CIPHER_SPEC, &[1]),
        A::UnexpectedMessage,
    );
    // Application data before the ClientHello.
    expect_alert(
        &plain_record(content::APPLICATION_DATA, &[1]),
        A::UnexpectedMessage,
    );
    // Empty handshake record.
    expect_alert(&plain_record(content::HANDSHAKE, &[]), A::UnexpectedMessage);
    // Wrong first message.
    expect_alert(
        &plain_record(content::HANDSHAKE, &[hs::FINISHED, 0, 0, 1, 0]),
        A::UnexpectedMessage,
    );
    // Malformed alert.
    expect_alert(&plain_record(content::ALERT, &[2]), A::DecodeError);
    // A fatal alert from the client: no alert back.
    let (err, sent) = feed(&plain_record(content::ALERT, &[2, 40]));
    assert_eq!(err, Some(Error::PeerAlert(A::HandshakeFailure)));
    assert_eq!(sent, None);
}

/// Runs a full handshake with the mini client up to (not including) the client's Finished.
fn mini() -> (ServerConnection, Mini) {
    let mut s = fresh();
    let m = Mini::connect(&mut s, vec![]);
    (s, m)
}

fn expect_encrypted_alert(s: &mut ServerConnection, m: &mut Mini, input: &[u8], alert: A) {
    let err = s.read_tls(input).unwrap_err();
    assert_eq!(err.alert(), Some(alert), "{err:?}");
    assert_eq!(m.read_alert(&s.take_output()), Some(alert));
    // The connection stays dead.
    assert_eq!(s.read_tls(&[]).unwrap_err(), err);
}

#[test]
fn finished_faults() {
    // Good Finished works, with a middlebox change_cipher_spec before it.
    let (mut s, mut m) = mini();
    let fin = m.finished();
    let mut input = plain_record(content::CHANGE_CIPHER_SPEC, &[1]);
    input.extend(m.seal(content::HANDSHAKE, &fin));
    s.read_tls(&input).unwrap();
    assert!(s.is_handshake_finished());
    assert_eq!(s.tickets_written(), 2);

    // Wrong verify_data.
    let (mut s, mut m) = mini();
    let mut fin = m.finished();
    fin[10] ^= 1;
    let rec = m.seal(content::HANDSHAKE, &fin);
    expect_encrypted_alert(&mut s, &mut m, &rec, A::DecryptError);

    // Wrong length.
    let (mut s, mut m) = mini();
    let rec = m.seal(content::HANDSHAKE, &[hs::FINISHED, 0, 0, 3, 1, 2, 3]);
    expect_encrypted_alert(&mut s, &mut m, &rec, A::DecodeError);

    // Wrong message (a Certificate) instead of Finished.
    let (mut s, mut m) = mini();
    let rec = m.seal(content::HANDSHAKE, &[hs::CERTIFICATE, 0, 0, 4, 0, 0, 0, 0]);
    expect_encrypted_alert(&mut s, &mut m, &rec, A::UnexpectedMessage);

    // Application data before Finished.
    let (mut s, mut m) = mini();
    let rec = m.seal(content::APPLICATION_DATA, b"too early");
    expect_encrypted_alert(&mut s, &mut m, &rec, A::UnexpectedMessage);

    // Extra handshake bytes after Finished in the same record (key change off-boundary).
    let (mut s, mut m) = mini();
    let mut fin = m.finished();
    fin.extend_from_slice(&[hs::KEY_UPDATE, 0]);
    let rec = m.seal(content::HANDSHAKE, &fin);
    expect_encrypted_alert(&mut s, &mut m, &rec, A::UnexpectedMessage);

    // A protected change_cipher_spec.
    let (mut s, mut m) = mini();
    let rec = m.seal(content::CHANGE_CIPHER_SPEC, &[1]);
    expect_encrypted_alert(&mut s, &mut m, &rec, A::UnexpectedMessage);

    // A plaintext handshake record after keys are in place.
    let (mut s, mut m) = mini();
    let fin = m.finished();
    expect_encrypted_alert(
        &mut s,
        &mut m,
        &plain_record(content::HANDSHAKE, &fin),
        A::UnexpectedMessage,
    );
}

#[test]
fn protected_record_faults() {
    // Corrupted ciphertext.
    let (mut s, mut m) = mini();
    let fin = m.finished();
    let mut rec = m.seal(content::HANDSHAKE, &fin);
    let last = rec.len() - 1;
    rec[last] ^= 0x80;
    expect_encrypted_alert(&mut s, &mut m, &rec, A::BadRecordMac);

    // Inner plaintext over 2^14 + 1 (sealed by hand: the library refuses to build one).
    let (mut s, mut m) = mini();
    let mut inner = vec![0x41u8; 16385];
    inner.push(content::APPLICATION_DATA);
    let rec = m.seal_raw_first(&inner);
    expect_encrypted_alert(&mut s, &mut m, &rec, A::RecordOverflow);

    // A ciphertext length over 2^14 + 256 is rejected from the header.
    let (mut s, mut m) = mini();
    let mut hdr = vec![content::APPLICATION_DATA, 3, 3, 0x41, 0x01];
    hdr.extend(vec![0u8; 16641]);
    expect_encrypted_alert(&mut s, &mut m, &hdr, A::RecordOverflow);

    // Unknown inner content type.
    let (mut s, mut m) = mini();
    let rec = m.seal(99, b"x");
    expect_encrypted_alert(&mut s, &mut m, &rec, A::UnexpectedMessage);

    // All-zero inner plaintext (no content type).
    let (mut s, mut m) = mini();
    let rec = m.seal(0, &[0, 0, 0]);
    expect_encrypted_alert(&mut s, &mut m, &rec, A::UnexpectedMessage);
}

#[test]
fn post_handshake_faults() {
    let established = || {
        let (mut s, mut m) = mini();
        let fin = m.finished();
        let rec = m.seal(content::HANDSHAKE, &fin);
        s.read_tls(&rec).unwrap();
        // Read the tickets so the sequence numbers stay in step.
        assert_eq!(m.read_alert(&s.take_output()), None);
        m.use_app_keys();
        (s, m)
    };
    // Data and padding work.
    let (mut s, mut m) = established();
    let mut rec = Vec::new();
    m.write
        .seal_padded(content::APPLICATION_DATA, b"padded", 300, &mut rec)
        .unwrap();
    m.write
        .seal_padded(content::APPLICATION_DATA, b"", 10, &mut rec)
        .unwrap();
    s.read_tls(&rec).unwrap();
    assert_eq!(s.recv_application_data(), b"padded");

    // KeyUpdate with a bad value.
    let (mut s, mut m) = established();
    let rec = m.seal(content::HANDSHAKE, &[hs::KEY_UPDATE, 0, 0, 1, 2]);
    expect_encrypted_alert(&mut s, &mut m, &rec, A::IllegalParameter);

    // A ClientHello after the handshake.
    let (mut s, mut m) = established();
    let rec = m.seal(content::HANDSHAKE, &[hs::CLIENT_HELLO, 0, 0, 0]);
    expect_encrypted_alert(&mut s, &mut m, &rec, A::UnexpectedMessage);

    // Client Certificate without a CertificateRequest.
    let (mut s, mut m) = established();
    let rec = m.seal(content::HANDSHAKE, &[hs::CERTIFICATE, 0, 0, 4, 0, 0, 0, 0]);
    expect_encrypted_alert(&mut s, &mut m, &rec, A::UnexpectedMessage);

    // Half a handshake message, then application data: interleaving.
    let (mut s, mut m) = established();
    let mut input = m.seal(content::HANDSHAKE, &[hs::KEY_UPDATE, 0]);
    input.extend(m.seal(content::APPLICATION_DATA, b"x"));
    expect_encrypted_alert(&mut s, &mut m, &input, A::UnexpectedMessage);

    // change_cipher_spec after the handshake.
    let (mut s, mut m) = established();
    expect_encrypted_alert(
        &mut s,
        &mut m,
        &plain_record(content::CHANGE_CIPHER_SPEC, &[1]),
        A::UnexpectedMessage,
    );

    // Records arriving after close_notify are ignored.
    let (mut s, mut m) = established();
    let mut input = m.seal(content::ALERT, &[1, 0]);
    input.extend([0xff; 20]);
    s.read_tls(&input).unwrap();
    assert!(s.peer_closed());
}

#[test]
fn bad_binder_is_decrypt_error() {
    use rustls::crypto::ring::{cipher_suite, kx_group};
    let cfg = config_with(|_| {});
    let ccfg = rustls_config(
        cipher_suite::TLS13_AES_128_GCM_SHA256,
        vec![kx_group::X25519],
    );
    let mut p = RustlsPair::new(&ccfg, server(&cfg));
    p.pump().unwrap();
    p.client.writer().write_all(b"x").unwrap();
    p.pump().unwrap();
    // Second connection: capture its ClientHello (which ends in the binder) and flip a bit.
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut c = rustls::ClientConnection::new(ccfg.clone(), name).unwrap();
    let mut ch = Vec::new();
    c.write_tls(&mut ch).unwrap();
    let last = ch.len() - 1;
    ch[last] ^= 1;
    let mut s = server(&cfg);
    let err = s.read_tls(&ch).unwrap_err();
    assert_eq!(err.alert(), Some(A::DecryptError));
    assert_eq!(plain_alert(&s.take_output()), Some(A::DecryptError));
    // Unmodified, the same kind of ClientHello resumes.
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut c = rustls::ClientConnection::new(ccfg.clone(), name).unwrap();
    let mut ch = Vec::new();
    c.write_tls(&mut ch).unwrap();
    let mut s = server(&cfg);
    s.read_tls(&ch).unwrap();
    assert!(s.is_resumed());
}

#[test]
fn fuzz_entry_point_survives_samples() {
    let eph = Eph::x25519();
    let ch = ch_with(standard_exts(&eph.public));
    let mut samples: Vec<Vec<u8>> = vec![vec![], vec![0], vec![1, 22, 3, 3, 0, 0]];
    let mut with_len = vec![4u8];
    with_len.extend_from_slice(&ch);
    samples.push(with_len.clone());
    for i in 0..with_len.len() {
        let mut m = with_len.clone();
        m[i] ^= 0x5a;
        samples.push(m);
        samples.push(with_len[..i].to_vec());
    }
    for s in samples {
        ticketdiff::testing::native_fuzz::fuzz_server_bytes(&s);
    }
}

#[test]
fn early_data_is_skipped() {
    // The client offered early_data: records that do not decrypt are skipped (RFC 8446 4.2.10).
    let mut s = fresh();
    let mut m = Mini::connect(&mut s, vec![(ext::EARLY_DATA, vec![])]);
    let mut input = Vec::new();
    for _ in 0..3 {
        input.extend(plain_record(content::APPLICATION_DATA, &[0xab; 500]));
    }
    let fin = m.finished();
    input.extend(m.seal(content::HANDSHAKE, &fin));
    s.read_tls(&input).unwrap();
    assert!(s.is_handshake_finished());

    // Beyond the skip budget: bad_record_mac.
    let mut s = fresh();
    let mut m = Mini::connect(&mut s, vec![(ext::EARLY_DATA, vec![])]);
    let mut input = Vec::new();
    for _ in 0..5 {
        input.extend(plain_record(content::APPLICATION_DATA, &[0xab; 16000]));
    }
    expect_encrypted_alert(&mut s, &mut m, &input, A::BadRecordMac);

    // Without early_data, the first undecryptable record is fatal.
    let (mut s, mut m) = mini();
    let input = plain_record(content::APPLICATION_DATA, &[0xab; 500]);
    expect_encrypted_alert(&mut s, &mut m, &input, A::BadRecordMac);
}

#[test]
fn early_data_after_hrr_is_skipped() {
    let cfg = config_with(|c| c.groups = vec![ticketdiff::native::NamedGroup::Secp256r1]);
    let eph = Eph::x25519();
    let mut exts = standard_exts(&eph.public);
    exts.push((ext::EARLY_DATA, vec![]));
    let mut s = server(&cfg);
    s.read_tls(&ch_with(exts)).unwrap();
    assert!(s.info().hrr);
    s.read_tls(&plain_record(content::APPLICATION_DATA, &[1; 100]))
        .unwrap();
    // Without early_data offered, the same record is unexpected.
    let mut s = server(&cfg);
    s.read_tls(&ch_with(standard_exts(&eph.public))).unwrap();
    let err = s
        .read_tls(&plain_record(content::APPLICATION_DATA, &[1; 100]))
        .unwrap_err();
    assert_eq!(err.alert(), Some(A::UnexpectedMessage));
}

mod pha {
    use super::*;
    use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    use ticketdiff::native::msgs;

    /// What the client answers to a CertificateRequest.
    #[derive(Clone, Copy, PartialEq)]
    enum Answer {
        Good,
        WrongContext,
        NoCertificate,
        UntrustedCertificate,
        ImposterCertificate,
        BadSignature,
        BadFinished,
        SkipCertificateVerify,
    }

    fn run(answer: Answer) -> (ServerConnection, Result<(), Error>, Option<A>, u64) {
        let mut s = fresh();
        let mut m = Mini::connect(&mut s, vec![(ext::POST_HANDSHAKE_AUTH, vec![])]);
        m.finish(&mut s);
        assert_eq!(s.tickets_written(), 2);
        s.request_client_auth().unwrap();
        assert!(s.is_client_auth_pending());
        assert!(!s.new_session_ticket());
        let cr = m.read_handshake(&s.take_output());
        assert_eq!(cr[0], hs::CERTIFICATE_REQUEST);
        let context = cr[5..5 + cr[4] as usize].to_vec();
        m.transcript.add(&cr);

        let (cert_der, key) = match answer {
            Answer::UntrustedCertificate => {
                let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
                let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
                params
                    .distinguished_name
                    .push(rcgen::DnType::CommonName, "stranger");
                let cert = params.self_signed(&key).unwrap();
                (cert.der().to_vec(), key.serialize_der())
            }
            Answer::ImposterCertificate => {
                // Same CA name, different CA key.
                let other = ticketdiff::pki::Pki::generate().unwrap();
                let id = other.client_identity(KeyKind::EcdsaP256);
                (id.cert_der.clone(), id.key_pkcs8.clone())
            }
            _ => {
                // This client signs with ECDSA P-256 (0x0403) below.
                let id = pki().client_identity(KeyKind::EcdsaP256);
                (id.cert_der.clone(), id.key_pkcs8.clone())
            }
        };
        let ctx = if answer == Answer::WrongContext {
            b"other".to_vec()
        } else {
            context
        };
        let chain = if answer == Answer::NoCertificate {
            vec![]
        } else {
            vec![cert_der]
        };
        let cert = msgs::certificate(&ctx, &chain);
        m.transcript.add(&cert);
        let mut flight = cert.clone();
        if answer != Answer::NoCertificate && answer != Answer::SkipCertificateVerify {
            let rng = ring::rand::SystemRandom::new();
            let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key, &rng).unwrap();
            let mut content = msgs::signed_content(false, &m.transcript.hash());
            if answer == Answer::BadSignature {
                content[70] ^= 1;
            }
            let sig = kp.sign(&rng, &content).unwrap();
            let cv = msgs::certificate_verify(0x0403, sig.as_ref());
            m.transcript.add(&cv);
            flight.extend(cv);
        }
        let mut mac = m.c_ap.finished_mac(&m.transcript.hash());
        if answer == Answer::BadFinished {
            mac[0] ^= 1;
        }
        flight.extend(msgs::finished(&mac));
        let rec = m.seal(content::HANDSHAKE, &flight);
        let r = s.read_tls(&rec);
        let out = s.take_output();
        let alert = m.read_alert(&out);
        let written = s.tickets_written();
        (s, r, alert, written)
    }

    #[test]
    fn good_client_certificate_gets_new_tickets() {
        let (s, r, alert, written) = run(Answer::Good);
        r.unwrap();
        assert_eq!(alert, None);
        assert_eq!(written, 4);
        assert_eq!(s.info().client_auth_completed, 1);
        assert_eq!(
            s.info().peer_certificates,
            vec![pki().client_identity(KeyKind::EcdsaP256).cert_der.clone()]
        );
        assert!(!s.is_client_auth_pending());
    }

    #[test]
    fn client_auth_faults() {
        for (answer, expected) in [
            (Answer::WrongContext, A::IllegalParameter),
            (Answer::NoCertificate, A::CertificateRequired),
            (Answer::UntrustedCertificate, A::UnknownCa),
            (Answer::ImposterCertificate, A::BadCertificate),
            (Answer::BadSignature, A::DecryptError),
            (Answer::BadFinished, A::DecryptError),
            (Answer::SkipCertificateVerify, A::UnexpectedMessage),
        ] {
            let (_, r, alert, _) = run(answer);
            assert_eq!(r.unwrap_err().alert(), Some(expected));
            assert_eq!(alert, Some(expected));
        }
    }

    #[test]
    fn client_auth_needs_the_extension() {
        let (mut s, mut m) = super::mini();
        m.finish(&mut s);
        assert!(matches!(
            s.request_client_auth(),
            Err(Error::InvalidState(_))
        ));
    }
}

#[test]
fn mutation_smoke_fuzz() {
    use rustls::crypto::ring::{cipher_suite, kx_group};
    // Seeds: real ClientHellos from rustls (fresh and resuming) and OpenSSL, and the mini client's.
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let ccfg = rustls_config(
        cipher_suite::TLS13_AES_128_GCM_SHA256,
        vec![kx_group::X25519],
    );
    let cfg = config_with(|_| {});
    for _ in 0..2 {
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut c = rustls::ClientConnection::new(ccfg.clone(), name).unwrap();
        let mut ch = Vec::new();
        c.write_tls(&mut ch).unwrap();
        seeds.push(ch);
        let mut p = RustlsPair::new(&ccfg, server(&cfg));
        p.pump().unwrap();
    }
    let mut p = OsslPair::new(&ClientOptions::default(), server(&cfg));
    let _ = p.client.do_handshake();
    seeds.push(p.wire.take_pending());
    let eph = Eph::x25519();
    let mut with_ccs = ch_with(standard_exts(&eph.public));
    with_ccs.extend(plain_record(content::CHANGE_CIPHER_SPEC, &[1]));
    with_ccs.extend(plain_record(content::APPLICATION_DATA, &[0; 40]));
    seeds.push(with_ccs);

    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let iterations = std::env::var("MUTATION_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    for _ in 0..iterations {
        let mut d = seeds[(next() % seeds.len() as u64) as usize].clone();
        for _ in 0..=(next() % 4) {
            let len = d.len().max(1);
            let i = (next() % len as u64) as usize;
            match next() % 6 {
                0 => {
                    if i < d.len() {
                        d[i] ^= 1 << (next() % 8)
                    }
                }
                1 => {
                    if i < d.len() {
                        d[i] = [0, 0xff, 0x7f, 0x80][(next() % 4) as usize]
                    }
                }
                2 => d.truncate(i),
                3 => {
                    let j = (i + (next() % 64) as usize).min(d.len());
                    let s = d[i.min(j)..j].to_vec();
                    d.splice(i.min(d.len())..i.min(d.len()), s);
                }
                4 => d.insert(i.min(d.len()), next() as u8),
                _ => {
                    if i + 1 < d.len() {
                        d.swap(i, i + 1)
                    }
                }
            }
        }
        let mut input = vec![(next() % 8) as u8];
        input.extend(d);
        ticketdiff::testing::native_fuzz::fuzz_server_bytes(&input);
    }
}

#[test]
fn established_fuzz_entry_point() {
    use ticketdiff::testing::native_fuzz::fuzz_established_bytes;
    let chunk = |typ: u8, payload: &[u8]| {
        let mut c = vec![typ, (payload.len() >> 8) as u8, payload.len() as u8];
        c.extend_from_slice(payload);
        c
    };
    let mut samples: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![1],
        [
            vec![0],
            chunk(23, b"data"),
            chunk(22, &[24, 0, 0, 1, 1]),
            chunk(23, b"more"),
        ]
        .concat(),
        [vec![0], chunk(22, &[24, 0, 0, 1, 0]), chunk(21, &[1, 0])].concat(),
        [vec![1], chunk(22, &[11, 0, 0, 4, 0, 0, 0, 0])].concat(),
        [
            vec![1],
            chunk(22, &[11, 0, 0, 12, 0, 0, 0, 8, 0, 0, 3, 1, 2, 3, 0, 0]),
        ]
        .concat(),
        [vec![0], chunk(22, &[4, 0, 0, 0])].concat(),
        [vec![0], chunk(20, &[1])].concat(),
    ];
    // A real client chain (reaches webpki), then a garbage and a truncated CertificateVerify.
    let cert = &pki().client.cert_der;
    let mut list = vec![11u8];
    let entry_len = 3 + cert.len() + 2;
    list.extend_from_slice(&[
        (entry_len >> 16) as u8,
        (entry_len >> 8) as u8,
        entry_len as u8,
    ]);
    list.extend_from_slice(&[
        (cert.len() >> 16) as u8,
        (cert.len() >> 8) as u8,
        cert.len() as u8,
    ]);
    list.extend_from_slice(cert);
    list.extend_from_slice(&[0, 0]);
    samples.push(
        [
            vec![1],
            chunk(22, &list),
            chunk(22, &[15, 0, 0, 6, 4, 3, 0, 2, 0x30, 0]),
        ]
        .concat(),
    );
    samples.push([vec![1], chunk(22, &list), chunk(22, &[15, 0, 0, 1, 4])].concat());
    let mut bad_der = list.clone();
    bad_der[20] ^= 0xff;
    samples.push([vec![1], chunk(22, &bad_der)].concat());
    // Pseudo-random variations.
    let mut x: u64 = 0x2545f4914f6cdd1d;
    for _ in 0..300 {
        let mut d = vec![(x & 1) as u8];
        for _ in 0..(x % 5) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let typ = [20u8, 21, 22, 23, 0, 99][(x % 6) as usize];
            let len = (x >> 8) as usize % 40;
            let payload: Vec<u8> = (0..len).map(|i| (x >> (i % 56)) as u8).collect();
            d.extend(chunk(typ, &payload));
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        samples.push(d);
    }
    for s in samples {
        fuzz_established_bytes(&s);
    }
}
