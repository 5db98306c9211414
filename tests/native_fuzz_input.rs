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
    }
    eprintln!(
        "structured: {hello}/{N} ServerHello, {done} done, {resumed} PSK, {cert_asked} client cert asked, {hrr} stopped after HRR, {} distinct (stage, alert)",
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
