//! Key-exchange groups: X25519, secp256r1, secp384r1 and the hybrid X25519MLKEM768, the
//! server's order of preference, and HelloRetryRequest to each.

mod common;
use common::*;
use rustls::crypto::ring::{cipher_suite, kx_group};
use rustls::crypto::SupportedKxGroup;
use rustls::HandshakeKind;
use std::io::Write;
use ticketdiff::native::msgs::{content, ext};
use ticketdiff::native::{AlertDescription as A, NamedGroup};
use ticketdiff::testing::client_hello::*;
use ticketdiff::testing::hybrid_kx::X25519MLKEM768;

fn all_groups() -> [(&'static dyn SupportedKxGroup, NamedGroup); 4] {
    [
        (kx_group::X25519, NamedGroup::X25519),
        (kx_group::SECP256R1, NamedGroup::Secp256r1),
        (kx_group::SECP384R1, NamedGroup::Secp384r1),
        (X25519MLKEM768, NamedGroup::X25519MlKem768),
    ]
}

/// A rustls client offering `groups` (a share for the first) against a server preferring
/// `server_groups`: (group negotiated, whether it took a HelloRetryRequest).
fn rustls_handshake(
    groups: Vec<&'static dyn SupportedKxGroup>,
    server_groups: Vec<NamedGroup>,
) -> (Option<NamedGroup>, bool) {
    let cfg = config_with(|c| c.groups = server_groups);
    let ccfg = rustls_config(cipher_suite::TLS13_AES_128_GCM_SHA256, groups);
    let mut p = RustlsPair::new(&ccfg, server(&cfg));
    p.pump().unwrap();
    assert!(p.server.is_handshake_finished());
    assert_eq!(p.client.tls13_tickets_received(), 2);
    p.client.writer().write_all(b"over the group").unwrap();
    p.pump().unwrap();
    assert_eq!(p.server.recv_application_data(), b"over the group");
    let hrr = p.client.handshake_kind() == Some(HandshakeKind::FullWithHelloRetryRequest);
    assert_eq!(hrr, p.server.info().hrr);
    (p.server.negotiated_group(), hrr)
}

#[test]
fn each_group_with_rustls() {
    for (group, ours) in all_groups() {
        let got = rustls_handshake(vec![group], NamedGroup::ALL.to_vec());
        assert_eq!(got, (Some(ours), false), "{ours:?}");
    }
}

#[test]
fn each_group_by_hello_retry_request() {
    // The client's share is X25519; a server that takes only the other group asks for it.
    for (group, ours) in all_groups().into_iter().skip(1) {
        let got = rustls_handshake(vec![kx_group::X25519, group], vec![ours]);
        assert_eq!(got, (Some(ours), true), "{ours:?}");
    }
}

#[test]
fn openssl_client_on_the_classical_groups() {
    for (list, ours) in [
        ("X25519", NamedGroup::X25519),
        ("P-256", NamedGroup::Secp256r1),
        ("P-384", NamedGroup::Secp384r1),
    ] {
        let cfg = config_with(|c| c.groups = NamedGroup::ALL.to_vec());
        let opts = ClientOptions {
            groups: list,
            ..ClientOptions::default()
        };
        let mut pair = OsslPair::new(&opts, server(&cfg));
        pair.handshake().unwrap();
        assert_eq!(pair.server.negotiated_group(), Some(ours), "{list}");
    }
    // HelloRetryRequest from X25519 to P-384.
    let cfg = config_with(|c| c.groups = vec![NamedGroup::Secp384r1]);
    let opts = ClientOptions {
        groups: "X25519:P-384",
        ..ClientOptions::default()
    };
    let mut pair = OsslPair::new(&opts, server(&cfg));
    pair.handshake().unwrap();
    assert_eq!(pair.server.negotiated_group(), Some(NamedGroup::Secp384r1));
    assert!(pair.server.info().hrr);
}

/// A P-256 key share the test makes itself.
fn p256_share() -> Vec<u8> {
    let private = ring::agreement::EphemeralPrivateKey::generate(
        &ring::agreement::ECDH_P256,
        &ring::rand::SystemRandom::new(),
    )
    .unwrap();
    private.compute_public_key().unwrap().as_ref().to_vec()
}

/// The group a server with `preference` picks from a ClientHello offering X25519, P-256 and
/// P-384, with shares for the first two.
fn picked_from_two_shares(preference: Vec<NamedGroup>) -> Option<NamedGroup> {
    let cfg = config_with(|c| c.groups = preference);
    let x = Eph::x25519();
    let p = p256_share();
    let mut exts = standard_exts(&x.public);
    exts[1] = ext_u16_list(ext::SUPPORTED_GROUPS, &[0x001d, 0x0017, 0x0018]);
    exts[3] = ext_key_share(&[(0x001d, &x.public), (0x0017, &p)]);
    let ch = client_hello(&[0x1301], &[], &[0], &exts);
    let mut s = server(&cfg);
    s.read_tls(&plain_record(content::HANDSHAKE, &ch)).unwrap();
    s.negotiated_group()
}

#[test]
fn the_servers_preference_decides_among_the_clients_shares() {
    use NamedGroup::*;
    assert_eq!(
        picked_from_two_shares(vec![X25519, Secp256r1]),
        Some(X25519)
    );
    assert_eq!(
        picked_from_two_shares(vec![Secp256r1, X25519]),
        Some(Secp256r1)
    );
    // A share the server can use beats a preferred group it would have to ask for.
    assert_eq!(
        picked_from_two_shares(vec![Secp384r1, Secp256r1]),
        Some(Secp256r1)
    );
}

#[test]
fn group_names_parse_as_openssl_writes_them() {
    for (name, group) in [
        ("X25519", NamedGroup::X25519),
        ("x25519", NamedGroup::X25519),
        ("P-256", NamedGroup::Secp256r1),
        ("secp384r1", NamedGroup::Secp384r1),
        ("X25519MLKEM768", NamedGroup::X25519MlKem768),
    ] {
        assert_eq!(name.parse::<NamedGroup>(), Ok(group));
    }
    let err = "x448".parse::<NamedGroup>().unwrap_err();
    assert!(err.contains("X25519MLKEM768"), "{err}");
}

#[test]
fn malformed_hybrid_shares_are_illegal_parameter() {
    let cfg = config_with(|c| c.groups = vec![NamedGroup::X25519MlKem768]);
    let alert = |share: &[u8]| {
        let x = Eph::x25519();
        let mut exts = standard_exts(&x.public);
        exts[1] = ext_u16_list(ext::SUPPORTED_GROUPS, &[0x11ec]);
        exts[3] = ext_key_share(&[(0x11ec, share)]);
        let ch = client_hello(&[0x1301], &[], &[0], &exts);
        let mut s = server(&cfg);
        let err = s
            .read_tls(&plain_record(content::HANDSHAKE, &ch))
            .unwrap_err();
        assert_eq!(plain_alert(&s.take_output()), err.alert());
        err.alert()
    };
    // Wrong length.
    assert_eq!(alert(&[1; 1215]), Some(A::IllegalParameter));
    // Right length, but coefficients over the modulus: FIPS 203's encapsulation key check.
    assert_eq!(alert(&[0xff; 1216]), Some(A::IllegalParameter));
}
