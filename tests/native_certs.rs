//! Server certificates of every key type, and which one the server presents when it holds
//! several: the client's signature_algorithms order, signature_algorithms_cert,
//! certificate_authorities.

mod common;
use common::*;
use openssl::ssl::{SslContextBuilder, SslMethod, SslVerifyMode, SslVersion};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use ticketdiff::native::certs::scheme;
use ticketdiff::native::codec::with_len;
use ticketdiff::native::msgs::ext;
use ticketdiff::native::{AlertDescription as A, KeyKind, ServerConfig};
use ticketdiff::testing::client_hello::*;
use ticketdiff::testing::mini_client::Mini;

fn config_holding(kinds: &[KeyKind]) -> Arc<ServerConfig> {
    Arc::new(pki().native_server_config_with(kinds, [9u8; 32]).unwrap())
}

/// An OpenSSL client offering only `sigalgs` (OpenSSL's list syntax).
fn openssl_handshake(cfg: &Arc<ServerConfig>, sigalgs: Option<&str>) -> OsslPair {
    let mut b = SslContextBuilder::new(SslMethod::tls_client()).unwrap();
    b.set_min_proto_version(Some(SslVersion::TLS1_3)).unwrap();
    b.cert_store_mut()
        .add_cert(openssl::x509::X509::from_der(&pki().ca_cert_der).unwrap())
        .unwrap();
    b.set_verify(SslVerifyMode::PEER);
    if let Some(list) = sigalgs {
        b.set_sigalgs_list(list).unwrap();
    }
    let ctx = b.build();
    let mut pair = OsslPair::from_context(&ctx, Arc::new(AtomicUsize::new(0)), server(cfg), |_| {});
    pair.handshake().expect("handshake");
    pair
}

#[test]
fn each_key_type_alone_with_rustls_and_openssl() {
    for (kind, expected) in [
        (KeyKind::EcdsaP256, scheme::ECDSA_SECP256R1_SHA256),
        (KeyKind::EcdsaP384, scheme::ECDSA_SECP384R1_SHA384),
        (KeyKind::Ed25519, scheme::ED25519),
        (KeyKind::Rsa, scheme::RSA_PSS_RSAE_SHA256),
    ] {
        let cfg = config_holding(&[kind]);
        let rustls_cfg = rustls_client_config(rustls::crypto::ring::default_provider());
        let mut pair = RustlsPair::new(&rustls_cfg, server(&cfg));
        pair.pump().unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(pair.server.is_handshake_finished(), "{kind:?}");
        assert!(!pair.client.is_handshaking());
        let scheme_used = pair.server.info().signature_scheme;
        assert!(
            kind.schemes().contains(&scheme_used.unwrap()),
            "{kind:?}: {scheme_used:x?}"
        );
        let pair = openssl_handshake(&cfg, None);
        assert_eq!(
            pair.server.info().signature_scheme,
            Some(expected),
            "{kind:?}"
        );
        let peer = pair.client.ssl().peer_certificate().unwrap();
        assert_eq!(peer.to_der().unwrap(), pki().server_identity(kind).cert_der);
    }
}

#[test]
fn the_clients_signature_algorithms_choose_among_several_certificates() {
    let all = [
        KeyKind::EcdsaP256,
        KeyKind::EcdsaP384,
        KeyKind::Rsa,
        KeyKind::Ed25519,
    ];
    let cfg = config_holding(&all);
    for (sigalgs, index, expected) in [
        ("rsa_pss_rsae_sha384", 2, scheme::RSA_PSS_RSAE_SHA384),
        (
            "rsa_pss_rsae_sha512:ed25519",
            2,
            scheme::RSA_PSS_RSAE_SHA512,
        ),
        ("ed25519:rsa_pss_rsae_sha256", 3, scheme::ED25519),
        ("ecdsa_secp384r1_sha384", 1, scheme::ECDSA_SECP384R1_SHA384),
        (
            "ecdsa_secp256r1_sha256:ed25519",
            0,
            scheme::ECDSA_SECP256R1_SHA256,
        ),
    ] {
        let pair = openssl_handshake(&cfg, Some(sigalgs));
        let info = pair.server.info();
        assert_eq!(
            (info.certificate, info.signature_scheme),
            (Some(index), Some(expected)),
            "{sigalgs}"
        );
    }
    // OpenSSL's default list starts with ecdsa_secp256r1_sha256.
    let pair = openssl_handshake(&cfg, None);
    assert_eq!(pair.server.info().certificate, Some(0));
}

/// The alert a fresh server answers a standard ClientHello plus `extra` extensions with.
fn alert_for_hello(cfg: &Arc<ServerConfig>, extra: Vec<Ext>) -> Option<A> {
    let eph = Eph::x25519();
    let mut exts = standard_exts(&eph.public);
    exts.extend(extra);
    let ch = client_hello(&[0x1301], &[], &[0], &exts);
    server(cfg)
        .read_tls(&plain_record(22, &ch))
        .err()
        .and_then(|e| e.alert())
}

#[test]
fn no_certificate_for_the_clients_algorithms_is_handshake_failure() {
    // standard_exts offers ecdsa_secp256r1_sha256 and rsa_pss_rsae_sha256 only.
    let cfg = config_holding(&[KeyKind::Ed25519]);
    assert_eq!(alert_for_hello(&cfg, vec![]), Some(A::HandshakeFailure));
}

#[test]
fn signature_algorithms_cert_restricts_the_leafs_own_signature() {
    // Every test leaf is signed by the Ed25519 CA (ed25519).
    let cfg = config_holding(&[KeyKind::EcdsaP256]);
    let mut s = server(&cfg);
    let cert_algs = ext_u16_list(ext::SIGNATURE_ALGORITHMS_CERT, &[0x0403, 0x0807]);
    let mut m = Mini::connect(&mut s, vec![cert_algs]);
    m.finish(&mut s);
    let cert_algs = ext_u16_list(ext::SIGNATURE_ALGORITHMS_CERT, &[0x0503, 0x0804]);
    assert_eq!(
        alert_for_hello(&cfg, vec![cert_algs]),
        Some(A::HandshakeFailure)
    );
}

#[test]
fn certificate_authorities_prefers_a_chain_from_a_listed_issuer() {
    // Two P-256 certificates: the test CA's, and a self-signed one (another issuer name).
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let mut config = pki().native_p256_server_config([9u8; 32]).unwrap();
    config
        .add_certificate(
            vec![other.cert.der().to_vec()],
            &other.signing_key.serialize_der(),
        )
        .unwrap();
    let other_name = config.certs[1].top_issuer().to_vec();
    assert_ne!(other_name, config.certs[0].top_issuer());
    let cfg = Arc::new(config);
    let authorities = |names: &[&[u8]]| {
        let mut b = Vec::new();
        with_len(&mut b, 2, |o| {
            for n in names {
                with_len(o, 2, |o| o.extend_from_slice(n));
            }
        });
        (ext::CERTIFICATE_AUTHORITIES, b)
    };
    let chosen = |exts: Vec<Ext>| {
        let mut s = server(&cfg);
        Mini::connect(&mut s, exts);
        s.info().certificate
    };
    assert_eq!(chosen(vec![]), Some(0));
    assert_eq!(chosen(vec![authorities(&[&other_name])]), Some(1));
    // A list naming nobody the server knows changes nothing.
    assert_eq!(chosen(vec![authorities(&[b"\x30\x00"])]), Some(0));
}
