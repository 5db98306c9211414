//! The native server against an in-process OpenSSL 3 client.

mod common;
use common::*;
use std::sync::atomic::Ordering;
use ticketdiff::native::NamedGroup;

fn full_handshake(suite: &'static str, group: &'static str) -> OsslPair {
    let cfg = config_with(|_| {});
    let mut p = OsslPair::new(
        &ClientOptions {
            suites: suite,
            groups: group,
            ..Default::default()
        },
        server(&cfg),
    );
    p.handshake().expect("handshake");
    assert!(p.server.is_handshake_finished(), "{:?}", p.server_error);
    assert!(!p.server.is_resumed());
    assert_eq!(p.server.negotiated_suite().unwrap().name, suite);
    assert_eq!(p.client.ssl().current_cipher().unwrap().name(), suite);
    p
}

#[test]
fn every_suite_and_group() {
    for suite in [
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
    ] {
        for (group, ours) in [
            ("X25519", NamedGroup::X25519),
            ("P-256", NamedGroup::Secp256r1),
        ] {
            let mut p = full_handshake(suite, group);
            assert_eq!(p.server.negotiated_group(), Some(ours));
            assert!(!p.server.info().hrr);
            // Data both ways.
            p.client_write(b"ping from openssl");
            assert_eq!(p.server.recv_application_data(), b"ping from openssl");
            p.server.send_application_data(b"pong from native").unwrap();
            assert_eq!(p.client_read().unwrap(), b"pong from native");
            assert_eq!(p.tickets.load(Ordering::SeqCst), 2, "{suite} {group}");
            assert_eq!(p.server.tickets_written(), 2);
        }
    }
}

#[test]
fn hello_retry_request() {
    // Client shares only X25519; server accepts only P-256.
    let cfg = config_with(|c| c.groups = vec![NamedGroup::Secp256r1]);
    let mut p = OsslPair::new(
        &ClientOptions {
            suites: "TLS_AES_256_GCM_SHA384",
            groups: "X25519:P-256",
            ..Default::default()
        },
        server(&cfg),
    );
    p.handshake().expect("handshake");
    assert!(p.server.info().hrr);
    assert_eq!(p.server.negotiated_group(), Some(NamedGroup::Secp256r1));
    p.client_write(b"after hrr");
    assert_eq!(p.server.recv_application_data(), b"after hrr");
}

#[test]
fn no_common_group_is_handshake_failure() {
    let cfg = config_with(|c| c.groups = vec![NamedGroup::Secp256r1]);
    let mut p = OsslPair::new(
        &ClientOptions {
            suites: "TLS_AES_128_GCM_SHA256",
            groups: "X25519",
            ..Default::default()
        },
        server(&cfg),
    );
    assert!(p.handshake().is_err());
    assert_eq!(
        p.server_error.as_ref().and_then(|e| e.alert()),
        Some(ticketdiff::native::AlertDescription::HandshakeFailure)
    );
}

#[test]
fn num_tickets_configurable() {
    for n in [0u64, 1, 5] {
        let cfg = config_with(|c| c.set_num_tickets(n));
        let mut p = OsslPair::new(&ClientOptions::default(), server(&cfg));
        p.handshake().unwrap();
        p.client_read().unwrap();
        assert_eq!(p.tickets.load(Ordering::SeqCst) as u64, n);
        assert_eq!(p.server.tickets_written(), n);
    }
}

#[test]
fn tickets_on_demand_and_top_up() {
    let cfg = config_with(|c| c.set_num_tickets(0));
    let mut p = OsslPair::new(&ClientOptions::default(), server(&cfg));
    p.handshake().unwrap();
    assert_eq!(p.server.tickets_written(), 0);
    p.server.set_num_tickets(4);
    assert!(p.server.new_session_ticket());
    p.server.send_application_data(b"").unwrap();
    p.client_read().unwrap();
    assert_eq!(p.tickets.load(Ordering::SeqCst), 4);
    p.server.send_ticket_now().unwrap();
    p.client_read().unwrap();
    assert_eq!(p.tickets.load(Ordering::SeqCst), 5);
}

#[test]
fn key_update_both_ways() {
    let mut p = full_handshake("TLS_AES_128_GCM_SHA256", "X25519");
    // Server updates and asks the client to update too.
    p.server.send_key_update(true).unwrap();
    p.server.send_application_data(b"new keys").unwrap();
    assert_eq!(p.client_read().unwrap(), b"new keys");
    // OpenSSL answers update_requested with its own KeyUpdate before its next write.
    p.client_write(b"client after update");
    assert_eq!(p.server.info().key_updates_received, 1);
    assert_eq!(p.server.recv_application_data(), b"client after update");
    // And once more without a request.
    p.server.send_key_update(false).unwrap();
    p.server.send_application_data(b"again").unwrap();
    assert_eq!(p.client_read().unwrap(), b"again");
    assert_eq!(p.server.info().key_updates_sent, 2);
}

#[test]
fn clean_close_both_ways() {
    let mut p = full_handshake("TLS_AES_128_GCM_SHA256", "X25519");
    p.client_read().unwrap();
    // Client closes first.
    let _ = p.client.shutdown();
    p.shuttle();
    assert!(p.server.peer_closed());
    p.server.send_close_notify();
    p.shuttle();
    let r = p.client.shutdown().unwrap();
    assert_eq!(r, openssl::ssl::ShutdownResult::Received);
}

#[test]
fn server_closes_first() {
    let mut p = full_handshake("TLS_CHACHA20_POLY1305_SHA256", "P-256");
    p.server.send_application_data(b"bye").unwrap();
    p.server.send_close_notify();
    assert_eq!(p.client_read().unwrap(), b"bye");
    assert!(p
        .client
        .get_shutdown()
        .contains(openssl::ssl::ShutdownState::RECEIVED));
    assert!(p.server.send_application_data(b"x").is_err());
}

#[test]
fn large_data_both_ways() {
    let mut p = full_handshake("TLS_AES_256_GCM_SHA384", "X25519");
    let big: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    p.server.send_application_data(&big).unwrap();
    assert_eq!(p.client_read().unwrap(), big);
    p.client_write(&big);
    assert_eq!(p.server.recv_application_data(), big);
}

#[test]
fn context_count_is_copied_at_creation() {
    let cfg = config_with(|c| c.set_num_tickets(3));
    let conn = server(&cfg);
    cfg.set_num_tickets(1);
    let mut p = OsslPair::new(&ClientOptions::default(), conn);
    p.handshake().unwrap();
    p.client_read().unwrap();
    assert_eq!(p.tickets.load(Ordering::SeqCst), 3);
    let mut q = OsslPair::new(&ClientOptions::default(), server(&cfg));
    q.handshake().unwrap();
    q.client_read().unwrap();
    assert_eq!(q.tickets.load(Ordering::SeqCst), 1);
}

#[test]
fn num_tickets_read_when_client_finished_arrives() {
    let cfg = config_with(|_| {});
    let mut p = OsslPair::new(&ClientOptions::default(), server(&cfg));
    // Run until the server has sent its flight but not seen the client's Finished.
    let _ = p.client.do_handshake();
    p.shuttle();
    assert!(!p.server.is_handshake_finished());
    p.server.set_num_tickets(5);
    p.handshake().unwrap();
    p.client_read().unwrap();
    assert_eq!(p.tickets.load(Ordering::SeqCst), 5);
}

#[test]
fn new_session_ticket_refused_before_handshake_end() {
    let cfg = config_with(|_| {});
    let mut s = server(&cfg);
    assert!(!s.new_session_ticket());
    assert!(s.send_ticket_now().is_err());
    let mut p = OsslPair::new(&ClientOptions::default(), s);
    let _ = p.client.do_handshake();
    p.shuttle();
    assert!(!p.server.new_session_ticket());
    p.handshake().unwrap();
    assert!(p.server.new_session_ticket());
}

#[test]
fn resumption_with_each_suite() {
    use ticketdiff::openssl_ffi;
    let cfg = config_with(|_| {});
    for suite in [
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
    ] {
        let opts = ClientOptions {
            suites: suite,
            groups: "X25519:P-256",
            ..Default::default()
        };
        let tickets = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let slot = SessionSlot::default();
        let ctx = openssl_context_with(&opts, tickets.clone(), slot.clone());
        let mut p = OsslPair::from_context(&ctx, tickets.clone(), server(&cfg), |_| {});
        p.handshake().unwrap();
        p.client_read().unwrap();
        assert_eq!(tickets.load(Ordering::SeqCst), 2);
        openssl_ffi::mark_shut_down(p.client.ssl());
        let session = slot.lock().unwrap().take().expect("a session");

        let mut r = OsslPair::from_context(&ctx, tickets.clone(), server(&cfg), |ssl| {
            assert!(openssl_ffi::set_session(ssl, &session));
        });
        r.handshake().unwrap();
        r.client_read().unwrap();
        assert!(r.client.ssl().session_reused(), "{suite}");
        assert!(r.server.is_resumed());
        assert_eq!(r.server.tickets_written(), 1);
        assert_eq!(tickets.load(Ordering::SeqCst), 3);
        r.client_write(b"resumed");
        assert_eq!(r.server.recv_application_data(), b"resumed");
        r.server.send_application_data(b"yes").unwrap();
        assert_eq!(r.client_read().unwrap(), b"yes");
    }
}

#[test]
fn post_handshake_auth() {
    use ticketdiff::openssl_ffi;
    let cfg = config_with(|_| {});
    let tickets = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let pki = pki();
    let ctx = openssl_context_with(
        &ClientOptions {
            client_cert: true,
            ..Default::default()
        },
        tickets.clone(),
        SessionSlot::default(),
    );
    let mut p = OsslPair::from_context(&ctx, tickets.clone(), server(&cfg), |ssl| {
        openssl_ffi::enable_post_handshake_auth(ssl)
    });
    p.handshake().unwrap();
    p.client_read().unwrap();
    assert_eq!(tickets.load(Ordering::SeqCst), 2);
    p.server.request_client_auth().unwrap();
    // OpenSSL answers the CertificateRequest inside SSL_read.
    p.client_read().unwrap();
    p.shuttle();
    assert!(!p.server.is_client_auth_pending(), "{:?}", p.server_error);
    assert_eq!(p.server.info().client_auth_completed, 1);
    assert_eq!(p.server.info().peer_certificates[0], pki.client.cert_der);
    p.client_read().unwrap();
    assert_eq!(tickets.load(Ordering::SeqCst), 4);
    assert_eq!(p.server.tickets_written(), 4);
    p.client_write(b"authenticated");
    assert_eq!(p.server.recv_application_data(), b"authenticated");
}

/// A session from a full handshake with `cfg`, and the client context that holds its tickets.
fn session_from_full_handshake(
    cfg: &std::sync::Arc<ticketdiff::native::ServerConfig>,
    opts: &ClientOptions,
) -> (
    openssl::ssl::SslContext,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ticketdiff::openssl_ffi::ClientSession,
) {
    let tickets = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let slot = SessionSlot::default();
    let ctx = openssl_context_with(opts, tickets.clone(), slot.clone());
    let mut p = OsslPair::from_context(&ctx, tickets.clone(), server(cfg), |_| {});
    p.handshake().unwrap();
    p.client_read().unwrap();
    assert_eq!(tickets.load(Ordering::SeqCst), 2);
    ticketdiff::openssl_ffi::mark_shut_down(p.client.ssl());
    let session = slot.lock().unwrap().take().expect("a session");
    (ctx, tickets, session)
}

/// 0-RTT: the OpenSSL client's `SSL_write_early_data` on a ticket allowing early data; the
/// server (reading early data as it comes) accepts it, both sides say so, and the early bytes
/// arrive before the client's Finished. The ticket was stateful and single use (anti-replay):
/// the cache no longer holds its session.
#[test]
fn early_data_accepted_and_read() {
    use ticketdiff::openssl_ffi;
    use ticketdiff::trace::EarlyStatus;
    let cfg = config_with(|c| c.max_early_data = 1000);
    let (ctx, tickets, session) = session_from_full_handshake(&cfg, &ClientOptions::default());
    assert_eq!(session.session().max_early_data(), 1000);
    let cached = cfg.session_cache().len();
    let mut srv = server(&cfg);
    srv.accept_early_data();
    let mut r = OsslPair::from_context(&ctx, tickets, srv, |ssl| {
        assert!(openssl_ffi::set_session(ssl, &session));
    });
    assert_eq!(
        openssl_ffi::write_early_data(r.client.ssl(), b"zero round trip"),
        ticketdiff::backend::Outcome::Done(15)
    );
    r.shuttle();
    assert!(!r.server.is_handshake_finished());
    assert_eq!(r.server.recv_application_data(), b"zero round trip");
    r.handshake().unwrap();
    assert!(r.server.is_handshake_finished() && r.server.is_resumed());
    assert_eq!(
        r.server.info().early_data,
        ticketdiff::native::conn::EarlyDataStatus::Accepted
    );
    assert_eq!(
        openssl_ffi::early_data_status(r.client.ssl()),
        EarlyStatus::Accepted
    );
    // The session used went out of the cache, the resumption's ticket came in.
    assert_eq!(cached, 2);
    assert_eq!(cfg.session_cache().len(), 2);
    r.client_write(b"after");
    assert_eq!(r.server.recv_application_data(), b"after");
}

/// A server that does not read early data rejects it and skips the records; the resumption
/// still happens.
#[test]
fn early_data_rejected_and_skipped() {
    use ticketdiff::openssl_ffi;
    use ticketdiff::trace::EarlyStatus;
    let cfg = config_with(|c| c.max_early_data = 1000);
    let (ctx, tickets, session) = session_from_full_handshake(&cfg, &ClientOptions::default());
    let mut r = OsslPair::from_context(&ctx, tickets, server(&cfg), |ssl| {
        assert!(openssl_ffi::set_session(ssl, &session));
    });
    openssl_ffi::write_early_data(r.client.ssl(), &[7u8; 1000]);
    r.handshake().unwrap();
    assert!(r.server.is_resumed());
    assert!(r.server.recv_application_data().is_empty());
    assert_eq!(
        openssl_ffi::early_data_status(r.client.ssl()),
        EarlyStatus::Rejected
    );
}

/// `SSL_OP_NO_TICKET`: stateful tickets (a 32-byte session id) that resume from the server's
/// session cache.
#[test]
fn stateful_tickets_resume_from_the_cache() {
    use ticketdiff::openssl_ffi;
    let cfg = config_with(|c| c.stateful_tickets = true);
    let (ctx, tickets, session) = session_from_full_handshake(&cfg, &ClientOptions::default());
    assert_eq!(cfg.session_cache().len(), 2);
    let mut r = OsslPair::from_context(&ctx, tickets, server(&cfg), |ssl| {
        assert!(openssl_ffi::set_session(ssl, &session));
    });
    r.handshake().unwrap();
    r.client_read().unwrap();
    assert!(r.client.ssl().session_reused() && r.server.is_resumed());
    assert_eq!(r.server.tickets_written(), 1);
    assert_eq!(cfg.session_cache().len(), 3);
}

/// psk_ke resumption: the client offers it (`SSL_OP_ALLOW_NO_DHE_KEX`) and shares no group
/// with the server; a server allowing it resumes without a key exchange, one that does not
/// refuses the handshake.
#[test]
fn psk_ke_resumption_when_both_sides_allow_it() {
    use ticketdiff::openssl_ffi;
    use ticketdiff::program::{Options, SslOption};
    for allowed in [true, false] {
        let cfg = config_with(|c| c.allow_psk_ke = allowed);
        let (ctx, tickets, session) = session_from_full_handshake(&cfg, &ClientOptions::default());
        let mut r = OsslPair::from_context(&ctx, tickets, server(&cfg), |ssl| {
            assert!(openssl_ffi::set_session(ssl, &session));
            openssl_ffi::set_options(ssl, Options::default().with(SslOption::AllowNoDheKex));
            assert!(openssl_ffi::set_groups_list(ssl, "ffdhe2048"));
        });
        let done = r.handshake();
        assert_eq!(done.is_ok(), allowed);
        if allowed {
            assert!(r.server.is_resumed() && r.server.info().psk_ke);
            assert_eq!(r.server.negotiated_group(), None);
        }
    }
}
