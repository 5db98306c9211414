//! The structure-aware fuzz input (`testing::native_input`, played by
//! `testing::scripted_client`) gets past the ClientHello and reaches the deep paths, where raw
//! bytes do not: the same pseudo-random inputs both ways, counted.

use std::collections::{BTreeSet, HashSet};
use ticketdiff::native::msgs::{content, hs};
use ticketdiff::native::ServerConnection;
use ticketdiff::testing::client_hello::{plain_alert, records};
use ticketdiff::testing::native_fuzz::{fuzz_server_bytes, fuzz_server_input, sample_inputs};
use ticketdiff::testing::scripted_client::{Stage, NOW_MS};

const N: usize = 300;

#[test]
fn generated_inputs_get_past_the_client_hello() {
    let mut stages = BTreeSet::new();
    let mut seen = HashSet::new();
    let mut counts = std::collections::HashMap::new();
    let (mut hello, mut done, mut hrr, mut resumed, mut cert_asked) = (0, 0, 0, 0, 0);
    let mut early = 0;
    for data in sample_inputs(N, 600) {
        let o = fuzz_server_input(&data).expect("600 bytes describe a scenario");
        stages.insert(o.stage);
        seen.insert((o.stage, o.alert));
        *counts.entry((o.stage, o.alert)).or_insert(0) += 1;
        hello += usize::from(o.stage >= Stage::ServerHello);
        done += usize::from(o.stage == Stage::HandshakeDone);
        hrr += usize::from(o.stage == Stage::HelloRetryRequest);
        resumed += usize::from(o.resumed);
        cert_asked += usize::from(o.client_cert_requested);
        early += usize::from(o.early_accepted);
    }
    eprintln!(
        "structured: {hello}/{N} ServerHello, {done} done, {resumed} PSK, {cert_asked} client cert asked, {early} early data accepted, {hrr} stopped after HRR, {} distinct (stage, alert)",
        seen.len()
    );
    eprintln!("{counts:?}");
    assert!(hello * 3 >= N, "only {hello} of {N} got a ServerHello");
    assert!(done > 0 && resumed > 0 && cert_asked > 0, "{seen:?}");
    assert!(stages.contains(&Stage::HelloRetryRequest), "{stages:?}");
    assert!(seen.len() >= 12, "{seen:?}");

    // The same inputs as raw bytes (the byte-level target): how far they get.
    let mut raw_seen = HashSet::new();
    let mut raw_hello = 0;
    for data in sample_inputs(N, 600) {
        fuzz_server_bytes(&data);
        let cfg = std::sync::Arc::new(
            ticketdiff::pki::pki()
                .native_p256_server_config([7u8; 32])
                .unwrap(),
        );
        let mut conn = ServerConnection::new(cfg, [1u8; 32], NOW_MS);
        let _ = conn.read_tls(&data);
        let out = conn.take_output();
        let sh = records(&out)
            .iter()
            .any(|(t, p)| *t == content::HANDSHAKE && p.first() == Some(&hs::SERVER_HELLO));
        raw_hello += usize::from(sh);
        raw_seen.insert((sh, plain_alert(&out)));
    }
    eprintln!(
        "raw bytes: {raw_hello}/{N} ServerHello, {} distinct (ServerHello, alert)",
        raw_seen.len()
    );
    assert!(raw_hello < hello);
}

/// The scripted client's 0-RTT: a ticket that allows early data, early records behind the
/// ClientHello, EndOfEarlyData when accepted; each wrong ending is answered with an alert, and
/// early data a server does not accept is skipped.
#[test]
fn early_data_scenarios_reach_acceptance_and_every_wrong_end_is_an_alert() {
    use ticketdiff::testing::native_fuzz::play_scenario;
    use ticketdiff::testing::native_input::{EarlyFlight, PskKind, PskSpec, Scenario};
    let base: Scenario = arbitrary::Unstructured::new(&sample_inputs(1, 600)[0])
        .arbitrary()
        .unwrap();
    // `end` values of EndKind::from_byte: Good, Missing, WrongKey, Unasked.
    let scenario = |config: u8, end: u8| {
        let mut s = base.clone();
        s.config = config;
        s.first.suites = 0;
        s.first.groups = 0;
        s.first.shares = 0xff;
        s.first.sig_algs = 0;
        s.first.sig_algs_cert = None;
        s.first.flags = 2;
        s.first.quirk = 15; // Quirk::from_byte: none
        s.first.psk = Some(PskSpec {
            kind: PskKind::Ticket {
                suite: 0,
                skew_ms: 0,
            },
            modes: 2,
            before: 0,
        });
        s.finished = 2;
        s.after = vec![(content::APPLICATION_DATA, b"after".to_vec())];
        s.damage = None;
        s.chunk = 0;
        s.early = Some(EarlyFlight {
            records: vec![(content::APPLICATION_DATA, b"early".to_vec())],
            end,
        });
        s
    };
    // Config byte 8 picks the server that accepts early data; 0 one that does not.
    let good = play_scenario(&scenario(8, 3));
    assert!(good.early_accepted && good.resumed, "{good:?}");
    assert_eq!((good.stage, good.alert), (Stage::HandshakeDone, None));
    for end in [0, 1] {
        let o = play_scenario(&scenario(8, end));
        assert!(o.early_accepted, "{o:?}");
        assert!(o.alert.is_some(), "end {end}: {o:?}");
    }
    for end in [2, 3] {
        let o = play_scenario(&scenario(0, end));
        assert!(!o.early_accepted && o.resumed, "{o:?}");
        assert_eq!(
            (o.stage, o.alert),
            (Stage::HandshakeDone, None),
            "end {end}"
        );
    }
}
