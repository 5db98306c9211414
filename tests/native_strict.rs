//! Where RFC 8446 says MUST and OpenSSL's server answers in a particular way: each case sends
//! the exact bytes and checks the alert that comes back.

mod common;
use common::*;
use ticketdiff::native::codec::put_u16;
use ticketdiff::native::conn::{MAX_CERTIFICATE, MAX_CLIENT_HELLO};
use ticketdiff::native::msgs::{content, ext, hs};
use ticketdiff::native::{AlertDescription as A, Error, ServerConnection};
use ticketdiff::testing::client_hello::*;
use ticketdiff::testing::mini_client::Mini;

fn fresh() -> ServerConnection {
    server(&config_with(|_| {}))
}

/// Feeds `bytes` to a fresh server: (error, plaintext alert, first record's type).
fn feed(bytes: &[u8]) -> (Option<Error>, Option<A>, Option<u8>) {
    let mut s = fresh();
    let err = s.read_tls(bytes).err();
    let out = s.take_output();
    let first = records(&out).first().map(|(_, p)| p[0]);
    (err, plain_alert(&out), first)
}

fn expect_alert(bytes: &[u8], alert: A) {
    let (err, sent, _) = feed(bytes);
    assert_eq!(err.as_ref().and_then(|e| e.alert()), Some(alert), "{err:?}");
    assert_eq!(sent, Some(alert));
}

fn expect_server_hello(bytes: &[u8]) {
    let (err, sent, first) = feed(bytes);
    assert_eq!((err, sent), (None, None));
    assert_eq!(first, Some(hs::SERVER_HELLO));
}

/// A standard TLS 1.3 ClientHello (supported_versions says 1.3) with `legacy_version` set.
fn hello_with_legacy_version(version: [u8; 2]) -> Vec<u8> {
    let eph = Eph::x25519();
    let mut ch = client_hello(&[0x1301], &[], &[0], &standard_exts(&eph.public));
    // Handshake header (4 bytes), then legacy_version.
    ch[4..6].copy_from_slice(&version);
    plain_record(content::HANDSHAKE, &ch)
}

#[test]
fn legacy_version_ssl3_or_lower_is_refused_as_openssl_refuses_it() {
    // RFC 8446 D.5; the alerts are what `openssl s_server` (3.0.19) sends for these bytes.
    for v in [
        [0, 0],
        [0, 1],
        [0, 2],
        [1, 0],
        [1, 2],
        [1, 3],
        [2, 0],
        [2, 0xff],
    ] {
        expect_alert(&hello_with_legacy_version(v), A::ProtocolVersion);
    }
    expect_alert(&hello_with_legacy_version([3, 0]), A::HandshakeFailure);
    // TLS 1.0 to 1.3 in legacy_version are fine: supported_versions decides.
    for v in [[3, 1], [3, 2], [3, 3], [3, 4]] {
        expect_server_hello(&hello_with_legacy_version(v));
    }
}

#[test]
fn legacy_version_is_checked_in_the_second_client_hello_too() {
    let cfg = config_with(|c| c.groups = vec![ticketdiff::native::NamedGroup::Secp256r1]);
    let mut s = server(&cfg);
    let eph = Eph::x25519();
    let ch = client_hello(&[0x1301], &[], &[0], &standard_exts(&eph.public));
    s.read_tls(&plain_record(content::HANDSHAKE, &ch)).unwrap();
    assert!(s.info().hrr);
    let _ = s.take_output();
    let mut ch2 = client_hello(&[0x1301], &[], &[0], &[]);
    ch2[4..6].copy_from_slice(&[2, 0]);
    let err = s
        .read_tls(&plain_record(content::HANDSHAKE, &ch2))
        .unwrap_err();
    assert_eq!(err, Error::ProtocolVersion);
    assert_eq!(plain_alert(&s.take_output()), Some(A::ProtocolVersion));
}

#[test]
fn zero_length_alert_record_is_unexpected_message() {
    // RFC 8446 5.1: zero-length Alert fragments MUST NOT be sent.
    expect_alert(&[content::ALERT, 3, 3, 0, 0], A::UnexpectedMessage);
    expect_alert(&[content::ALERT, 3, 1, 0, 0], A::UnexpectedMessage);
    // A one-byte alert stays a decoding fault.
    expect_alert(&[content::ALERT, 3, 3, 0, 1, 2], A::DecodeError);
    // Protected, after the server's flight: the same.
    let mut s = fresh();
    let mut m = Mini::connect(&mut s, vec![]);
    let rec = m.seal(content::ALERT, &[]);
    let err = s.read_tls(&rec).unwrap_err();
    assert_eq!(err.alert(), Some(A::UnexpectedMessage));
    assert_eq!(m.read_alert(&s.take_output()), Some(A::UnexpectedMessage));
}

/// Splits a handshake message into plaintext records of at most 2^14 bytes.
fn in_records(msg: &[u8]) -> Vec<u8> {
    msg.chunks(16384)
        .flat_map(|c| plain_record(content::HANDSHAKE, c))
        .collect()
}

/// A ClientHello grown to a body of exactly `body_len` bytes with a 32-byte session id, cipher
/// suites the server does not know (up to 2^16-2 bytes of them) and one unknown extension.
fn big_hello(body_len: usize) -> Vec<u8> {
    let eph = Eph::x25519();
    let exts = standard_exts(&eph.public);
    let sid = [7u8; 32];
    let base = client_hello(&[0x1301], &sid, &[0], &exts).len() - 4;
    let grow = body_len - base;
    let suites_extra = (grow.saturating_sub(4) / 2).min(32_766);
    let mut suites = vec![0x1301];
    suites.extend(std::iter::repeat_n(0x0a0a, suites_extra));
    let pad = grow - 2 * suites_extra;
    let mut exts = exts;
    if pad > 0 {
        exts.push((0xfeaa, vec![0; pad - 4]));
    }
    let ch = client_hello(&suites, &sid, &[0], &exts);
    assert_eq!(ch.len() - 4, body_len);
    ch
}

#[test]
fn client_hellos_up_to_openssls_limit_are_accepted() {
    // The case: 32,715 signature schemes, a ClientHello of about 65.6 KB.
    let eph = Eph::x25519();
    let mut schemes = vec![0x0403];
    schemes.extend((0..32_714u16).map(|i| 0x0a00 + (i % 200)));
    let mut exts = standard_exts(&eph.public);
    exts[2] = ext_u16_list(ext::SIGNATURE_ALGORITHMS, &schemes);
    let ch = client_hello(&[0x1301], &[], &[0], &exts);
    assert!(ch.len() > 65_536);
    expect_server_hello(&in_records(&ch));
    // The largest TLS 1.3 ClientHello there is (null compression only): 131,142 bytes.
    expect_server_hello(&in_records(&big_hello(131_142)));
}

#[test]
fn client_hello_over_openssls_limit_is_refused_from_its_header() {
    // 131,396 bytes with trailing data reaches the decoder (decode_error, as OpenSSL)...
    let mut ch = big_hello(131_142);
    ch.extend(vec![0; MAX_CLIENT_HELLO - 131_142]);
    let n = ch.len() - 4;
    ch[1..4].copy_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    expect_alert(&in_records(&ch), A::DecodeError);
    // ...one byte more is refused on the header alone, before any body arrives.
    let n = MAX_CLIENT_HELLO + 1;
    let header = [hs::CLIENT_HELLO, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    expect_alert(
        &plain_record(content::HANDSHAKE, &header),
        A::IllegalParameter,
    );
    // A 16 MB one too.
    expect_alert(
        &plain_record(content::HANDSHAKE, &[hs::CLIENT_HELLO, 0xff, 0xff, 0xff]),
        A::IllegalParameter,
    );
}

#[test]
fn each_client_message_has_openssls_bound() {
    let header = |typ: u8, n: usize| {
        let mut h = vec![typ, (n >> 16) as u8, (n >> 8) as u8, n as u8];
        put_u16(&mut h, 0);
        h
    };
    for (typ, max) in [
        (hs::FINISHED, 64),
        (hs::CERTIFICATE_VERIFY, 16_384),
        (hs::CERTIFICATE, MAX_CERTIFICATE),
    ] {
        let mut s = fresh();
        let mut m = Mini::connect(&mut s, vec![]);
        let rec = m.seal(content::HANDSHAKE, &header(typ, max + 1)[..4]);
        let err = s.read_tls(&rec).unwrap_err();
        assert_eq!(err.alert(), Some(A::IllegalParameter), "type {typ}");
        assert_eq!(m.read_alert(&s.take_output()), Some(A::IllegalParameter));
    }
    // A type no client sends is refused at once, whatever its length.
    let mut s = fresh();
    let mut m = Mini::connect(&mut s, vec![]);
    let rec = m.seal(content::HANDSHAKE, &header(hs::SERVER_HELLO, 70_000)[..4]);
    assert_eq!(
        s.read_tls(&rec).unwrap_err().alert(),
        Some(A::UnexpectedMessage)
    );
}
