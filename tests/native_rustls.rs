//! The native server against an in-process rustls 0.23 client (ring provider).

mod common;
use common::*;
use rustls::crypto::ring::{cipher_suite, kx_group};
use rustls::HandshakeKind;
use std::io::Write;
use ticketdiff::native::NamedGroup;

fn suites() -> [(rustls::SupportedCipherSuite, &'static str); 3] {
    [
        (
            cipher_suite::TLS13_AES_128_GCM_SHA256,
            "TLS_AES_128_GCM_SHA256",
        ),
        (
            cipher_suite::TLS13_AES_256_GCM_SHA384,
            "TLS_AES_256_GCM_SHA384",
        ),
        (
            cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
            "TLS_CHACHA20_POLY1305_SHA256",
        ),
    ]
}

fn groups() -> [(&'static dyn rustls::crypto::SupportedKxGroup, NamedGroup); 2] {
    [
        (kx_group::X25519, NamedGroup::X25519),
        (kx_group::SECP256R1, NamedGroup::Secp256r1),
    ]
}

#[test]
fn every_suite_and_group_with_resumption() {
    let cfg = config_with(|_| {});
    for (suite, name) in suites() {
        for (group, ours) in groups() {
            let ccfg = rustls_config(suite, vec![group]);
            let mut p = RustlsPair::new(&ccfg, server(&cfg));
            p.pump().unwrap();
            assert!(p.server.is_handshake_finished());
            assert_eq!(p.client.handshake_kind(), Some(HandshakeKind::Full));
            assert_eq!(p.server.negotiated_suite().unwrap().name, name);
            assert_eq!(p.server.negotiated_group(), Some(ours));
            assert_eq!(p.client.tls13_tickets_received(), 2);
            p.client.writer().write_all(b"hello native").unwrap();
            p.pump().unwrap();
            assert_eq!(p.server.recv_application_data(), b"hello native");
            p.server.send_application_data(b"hello rustls").unwrap();
            p.pump().unwrap();
            assert_eq!(p.client_read_all(), b"hello rustls");

            // Resumption from a ticket of the first connection: one ticket after it.
            let mut r = RustlsPair::new(&ccfg, server(&cfg));
            r.pump().unwrap();
            assert_eq!(r.client.handshake_kind(), Some(HandshakeKind::Resumed));
            assert!(r.server.is_resumed());
            assert_eq!(r.client.tls13_tickets_received(), 1);
            assert_eq!(r.server.tickets_written(), 1);
            r.client.writer().write_all(b"resumed data").unwrap();
            r.pump().unwrap();
            assert_eq!(r.server.recv_application_data(), b"resumed data");
        }
    }
}

#[test]
fn hello_retry_request() {
    let cfg = config_with(|c| c.groups = vec![NamedGroup::Secp256r1]);
    let ccfg = rustls_config(
        cipher_suite::TLS13_AES_128_GCM_SHA256,
        vec![kx_group::X25519, kx_group::SECP256R1],
    );
    let mut p = RustlsPair::new(&ccfg, server(&cfg));
    p.pump().unwrap();
    assert_eq!(
        p.client.handshake_kind(),
        Some(HandshakeKind::FullWithHelloRetryRequest)
    );
    assert!(p.server.info().hrr);
    assert_eq!(p.server.negotiated_group(), Some(NamedGroup::Secp256r1));
    // Resumption after HRR as well (client remembers P-256 now or retries again).
    let mut r = RustlsPair::new(&ccfg, server(&cfg));
    r.pump().unwrap();
    assert!(r.server.is_resumed());
}

#[test]
fn ticket_from_other_key_falls_back_to_full() {
    let cfg = config_with(|_| {});
    let other = config_with(|c| {
        *c = ticketdiff::native::pki::TestPki::server_config(pki(), [9u8; 32]).unwrap()
    });
    let ccfg = rustls_config(
        cipher_suite::TLS13_AES_128_GCM_SHA256,
        vec![kx_group::X25519],
    );
    let mut p = RustlsPair::new(&ccfg, server(&cfg));
    p.pump().unwrap();
    let mut r = RustlsPair::new(&ccfg, server(&other));
    r.pump().unwrap();
    assert_eq!(r.client.handshake_kind(), Some(HandshakeKind::Full));
    assert!(!r.server.is_resumed());
    assert_eq!(r.server.tickets_written(), 2);
}

#[test]
fn expired_ticket_falls_back_to_full() {
    let cfg = config_with(|c| c.ticket_lifetime_s = 10);
    let ccfg = rustls_config(
        cipher_suite::TLS13_AES_128_GCM_SHA256,
        vec![kx_group::X25519],
    );
    let mut p = RustlsPair::new(&ccfg, server(&cfg));
    p.pump().unwrap();
    let mut s = server(&cfg);
    s.set_now_ms(now_ms() + 60_000);
    let mut r = RustlsPair::new(&ccfg, s);
    r.pump().unwrap();
    assert!(!r.server.is_resumed());
}

#[test]
fn key_update_both_ways() {
    let cfg = config_with(|_| {});
    let ccfg = rustls_config(
        cipher_suite::TLS13_AES_256_GCM_SHA384,
        vec![kx_group::X25519],
    );
    let mut p = RustlsPair::new(&ccfg, server(&cfg));
    p.pump().unwrap();
    p.client.refresh_traffic_keys().unwrap();
    p.client.writer().write_all(b"after client update").unwrap();
    p.pump().unwrap();
    assert_eq!(p.server.info().key_updates_received, 1);
    assert_eq!(p.server.recv_application_data(), b"after client update");
    p.server.send_key_update(true).unwrap();
    p.server
        .send_application_data(b"after server update")
        .unwrap();
    p.pump().unwrap();
    assert_eq!(p.client_read_all(), b"after server update");
    // rustls answers the request with its own KeyUpdate.
    p.client.writer().write_all(b"x").unwrap();
    p.pump().unwrap();
    assert_eq!(p.server.info().key_updates_received, 2);
    assert_eq!(p.server.recv_application_data(), b"x");
}

#[test]
fn clean_close() {
    let cfg = config_with(|_| {});
    let ccfg = rustls_config(
        cipher_suite::TLS13_AES_128_GCM_SHA256,
        vec![kx_group::X25519],
    );
    let mut p = RustlsPair::new(&ccfg, server(&cfg));
    p.pump().unwrap();
    p.client.send_close_notify();
    p.pump().unwrap();
    assert!(p.server.peer_closed());
    p.server.send_close_notify();
    p.pump().unwrap();
    let st = p.client.process_new_packets().unwrap();
    assert!(st.peer_has_closed());
}
