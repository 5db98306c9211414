//! External PSKs (`openssl s_server -psk HEX -psk_identity ID`) and psk_ke, byte by byte: each
//! case sends a ClientHello with computed binders and checks what comes back.

mod common;
use common::*;
use std::sync::Arc;
use ticketdiff::native::msgs::{content, ext, hs};
use ticketdiff::native::suites::{TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384};
use ticketdiff::native::{AlertDescription as A, ExternalPsk, ServerConfig, ServerConnection};
use ticketdiff::testing::client_hello::*;
use ticketdiff::testing::mini_client::Mini;

const KEY: &[u8] = &[7; 16];

fn with_psk(allow_psk_ke: bool, certificates: bool) -> Arc<ServerConfig> {
    config_with(|c| {
        c.external_psks = vec![ExternalPsk {
            identity: b"id1".to_vec(),
            key: KEY.to_vec(),
        }];
        c.allow_psk_ke = allow_psk_ke;
        if !certificates {
            c.certs.clear();
        }
    })
}

fn offer(identity: &'static [u8], key: &'static [u8]) -> OfferedPsk<'static> {
    OfferedPsk {
        identity,
        key,
        external: true,
        obfuscated_age: 0,
    }
}

/// Standard extensions (X25519 share) plus psk_key_exchange_modes `modes`.
fn exts(modes: &[u8]) -> Vec<Ext> {
    let mut e = standard_exts(&Eph::x25519().public);
    let mut m = vec![modes.len() as u8];
    m.extend_from_slice(modes);
    e.push((ext::PSK_KEY_EXCHANGE_MODES, m));
    e
}

fn hello(exts: &[Ext], psks: &[OfferedPsk]) -> Vec<u8> {
    let ch = client_hello_with_psk(&[0x1301], exts, psks, &TLS_AES_128_GCM_SHA256);
    plain_record(content::HANDSHAKE, &ch)
}

/// Feeds a ClientHello: the server, its first record's handshake type, its alert.
fn feed(cfg: &Arc<ServerConfig>, bytes: &[u8]) -> (ServerConnection, Option<u8>, Option<A>) {
    let mut s = server(cfg);
    let err = s.read_tls(bytes).err();
    let out = s.take_output();
    let alert = plain_alert(&out);
    assert_eq!(err.and_then(|e| e.alert()), alert);
    let first = records(&out).first().map(|(_, p)| p[0]);
    (s, first, alert)
}

/// The ServerHello handshake message at the start of `out`.
fn server_hello(s: &mut ServerConnection, bytes: &[u8]) -> Vec<u8> {
    s.read_tls(bytes).unwrap();
    let out = s.take_output();
    let (typ, payload) = records(&out).remove(0);
    assert_eq!((typ, payload[0]), (content::HANDSHAKE, hs::SERVER_HELLO));
    payload
}

#[test]
fn external_psk_with_dhe_skips_the_certificate() {
    for certificates in [true, false] {
        let cfg = with_psk(false, certificates);
        let mut s = server(&cfg);
        let sh = server_hello(&mut s, &hello(&exts(&[1]), &[offer(b"id1", KEY)]));
        assert!(server_key_share(&sh).is_some());
        let info = s.info();
        assert_eq!(info.external_psk.as_deref(), Some(&b"id1"[..]));
        assert!(info.resumed && !info.psk_ke && info.certificate.is_none());
    }
}

#[test]
fn wrong_binder_is_decrypt_error() {
    // RFC 8446 6.2 and OpenSSL 3.6; OpenSSL 3.0.19's s_server sends illegal_parameter here.
    for wrong in [
        offer(b"id1", &[8; 16]),
        OfferedPsk {
            external: false,
            ..offer(b"id1", KEY)
        },
    ] {
        let (_, _, alert) = feed(&with_psk(false, true), &hello(&exts(&[1]), &[wrong]));
        assert_eq!(alert, Some(A::DecryptError));
    }
}

#[test]
fn unknown_identity_falls_back_to_the_certificate_or_fails_without_one() {
    let ch = hello(&exts(&[1]), &[offer(b"id2", KEY)]);
    let (s, first, alert) = feed(&with_psk(false, true), &ch);
    assert_eq!((first, alert), (Some(hs::SERVER_HELLO), None));
    assert!(!s.info().resumed && s.info().certificate.is_some());
    // As `s_server -nocert -psk`: handshake_failure.
    let (_, _, alert) = feed(&with_psk(false, false), &ch);
    assert_eq!(alert, Some(A::HandshakeFailure));
}

#[test]
fn external_psk_needs_a_sha256_suite() {
    let ch = client_hello_with_psk(
        &[0x1302],
        &exts(&[1]),
        &[offer(b"id1", KEY)],
        &TLS_AES_256_GCM_SHA384,
    );
    let (s, _, alert) = feed(
        &with_psk(false, true),
        &plain_record(content::HANDSHAKE, &ch),
    );
    assert_eq!(alert, None);
    assert!(!s.info().resumed);
    // With both offered, the server prefers the SHA-256 one (OpenSSL's prefer_sha256).
    let ch = client_hello_with_psk(
        &[0x1302, 0x1301],
        &exts(&[1]),
        &[offer(b"id1", KEY)],
        &TLS_AES_128_GCM_SHA256,
    );
    let mut s = server(&with_psk(false, true));
    server_hello(&mut s, &plain_record(content::HANDSHAKE, &ch));
    assert_eq!(s.info().suite.map(|s| s.id), Some(0x1301));
    assert!(s.info().resumed);
}

#[test]
fn psk_ke_only_where_allowed() {
    // psk_ke alone, no groups or shares: allowed, a ServerHello without key_share.
    let no_kex: Vec<Ext> = vec![
        ext_versions(&[0x0304]),
        ext_u16_list(ext::SIGNATURE_ALGORITHMS, &[0x0403]),
        (ext::PSK_KEY_EXCHANGE_MODES, vec![1, 0]),
    ];
    let mut s = server(&with_psk(true, false));
    let sh = server_hello(&mut s, &hello(&no_kex, &[offer(b"id1", KEY)]));
    assert_eq!(server_key_share(&sh), None);
    assert!(s.info().psk_ke && s.info().group.is_none());
    // Not allowed: the PSK is ignored, and a full handshake needs supported_groups.
    let (_, _, alert) = feed(
        &with_psk(false, true),
        &hello(&no_kex, &[offer(b"id1", KEY)]),
    );
    assert_eq!(alert, Some(A::MissingExtension));
    // psk_ke alone with a share, not allowed: a full handshake with the certificate.
    let (s, _, alert) = feed(
        &with_psk(false, true),
        &hello(&exts(&[0]), &[offer(b"id1", KEY)]),
    );
    assert_eq!(alert, None);
    assert!(!s.info().resumed && s.info().certificate.is_some());
    // Both modes and a usable share: (EC)DHE is preferred, as OpenSSL prefers it.
    let mut s = server(&with_psk(true, false));
    let sh = server_hello(&mut s, &hello(&exts(&[0, 1]), &[offer(b"id1", KEY)]));
    assert!(server_key_share(&sh).is_some() && !s.info().psk_ke);
}

#[test]
fn psk_ke_handshake_completes_with_a_client_finished() {
    let no_kex: Vec<Ext> = vec![
        ext_versions(&[0x0304]),
        (ext::PSK_KEY_EXCHANGE_MODES, vec![1, 0]),
    ];
    let suite = &TLS_AES_128_GCM_SHA256;
    let ch = client_hello_with_psk(&[0x1301], &no_kex, &[offer(b"id1", KEY)], suite);
    let mut s = server(&with_psk(true, false));
    s.read_tls(&plain_record(content::HANDSHAKE, &ch)).unwrap();
    // The client's schedule with a zero (EC)DHE input (RFC 8446 7.1): the server's flight
    // decrypts and its Finished is accepted only if the server used the same.
    let out = s.take_output();
    let mut mini = Mini::from_flight(&ch, &out, Some(KEY), &[0; 32]);
    mini.finish(&mut s);
    assert!(s.is_handshake_finished() && s.info().psk_ke);
    assert_eq!(s.tickets_written(), 1, "min(N, 1) after a PSK handshake");
}
