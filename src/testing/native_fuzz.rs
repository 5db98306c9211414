//! The native server's fuzz entry points (the `native_server` and `native_established` targets
//! in `fuzz/`): arbitrary bytes into a fresh server, or into one past its handshake. Each checks
//! what holds for every input: no panic, bounded output, every fault answered with an alert.

use super::mini_client::{certificate_request_context, Mini};
use super::native_input::{Scenario, EXTERNAL_PSK_IDENTITY, EXTERNAL_PSK_KEY};
use super::scripted_client::{
    check_fault, play, Outcome, NOW_MS, TICKET_KEY, TICKET_MAX_EARLY_DATA,
};
use crate::native::certs::subject_name;
use crate::native::codec::with_len;
use crate::native::msgs::{self, content, ext, hs};
use crate::native::record;
use crate::native::{ExternalPsk, KeyKind, NamedGroup, ServerConfig, ServerConnection};
use crate::pki::pki;
use std::sync::{Arc, OnceLock};

fn config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let config = pki().native_p256_server_config([7u8; 32]).expect("config");
            Arc::new(config)
        })
        .clone()
}

/// The servers a [`Scenario`] picks from: the default one; every certificate type and group
/// (the hybrid first) with client certificates required in the handshake; an external PSK and
/// psk_ke beside a certificate; an external PSK alone on P-384; early data (0-RTT) accepted,
/// with stateless tickets (no anti-replay) so that the client's own tickets resume.
fn scenario_configs() -> &'static [Arc<ServerConfig>] {
    static CONFIGS: OnceLock<Vec<Arc<ServerConfig>>> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let pki = pki();
        let make = |kinds: &[KeyKind], f: &dyn Fn(&mut ServerConfig)| {
            let mut c = pki
                .native_server_config_with(kinds, TICKET_KEY)
                .expect("config");
            f(&mut c);
            Arc::new(c)
        };
        let psk = || {
            vec![ExternalPsk {
                identity: EXTERNAL_PSK_IDENTITY.to_vec(),
                key: EXTERNAL_PSK_KEY.to_vec(),
            }]
        };
        vec![
            make(&[KeyKind::EcdsaP256], &|_| {}),
            make(&KeyKind::ALL, &|c| {
                c.groups = NamedGroup::ALL.to_vec();
                c.request_client_cert = true;
                c.client_ca_names = subject_name(&pki.ca_cert_der).into_iter().collect();
            }),
            make(&[KeyKind::Rsa], &|c| {
                c.external_psks = psk();
                c.allow_psk_ke = true;
            }),
            make(&[], &|c| {
                c.external_psks = psk();
                c.allow_psk_ke = true;
                c.groups = vec![NamedGroup::Secp384r1];
            }),
            make(&[KeyKind::EcdsaP256], &|c| {
                c.max_early_data = TICKET_MAX_EARLY_DATA;
                c.anti_replay = false;
            }),
        ]
    })
}

/// How often each of [`scenario_configs`] is played: the PSK-only server fails most full
/// handshakes, so it gets the fewest runs.
const CONFIG_WEIGHTS: [usize; 10] = [0, 1, 1, 2, 2, 1, 2, 3, 4, 4];

/// Plays the [`Scenario`] `data` describes (structure-aware fuzzing: see
/// [`super::native_input`]); `None` when `data` is too short to describe one.
pub fn fuzz_server_input(data: &[u8]) -> Option<Outcome> {
    let scenario: Scenario = arbitrary::Unstructured::new(data).arbitrary().ok()?;
    Some(play_scenario(&scenario))
}

/// Plays `scenario` against a fresh server of the configuration it picks.
pub fn play_scenario(scenario: &Scenario) -> Outcome {
    let configs = scenario_configs();
    let index = CONFIG_WEIGHTS[usize::from(scenario.config) % CONFIG_WEIGHTS.len()];
    let config = configs[index].clone();
    let early = config.max_early_data > 0;
    let mut conn = ServerConnection::new(config, [1u8; 32], NOW_MS);
    if early {
        conn.accept_early_data();
    }
    play(&mut conn, scenario)
}

/// Feeds client bytes and drains the server; checks that a fault is answered with an alert
/// (or was the client's own alert). Returns the server's output and whether it goes on.
fn feed(conn: &mut ServerConnection, bytes: &[u8]) -> (Vec<u8>, bool) {
    let r = conn.read_tls(bytes);
    let out = conn.take_output();
    let _ = conn.recv_application_data();
    if let Err(e) = r {
        check_fault(&e, &out);
        return (out, false);
    }
    (out, true)
}

/// Feeds `data` to a fresh server as a client would, in chunks whose sizes come from the
/// first byte, and checks: no panic, bounded output, every fault an alert or a peer alert.
pub fn fuzz_server_bytes(data: &[u8]) {
    let mut conn = ServerConnection::new(config(), [1u8; 32], 1_700_000_000_000);
    let (chunk, rest) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c).max(1) * 64, rest),
        None => return,
    };
    let mut total_out = 0usize;
    for piece in rest.chunks(chunk) {
        let (out, alive) = feed(&mut conn, piece);
        total_out += out.len();
        if !alive {
            break;
        }
    }
    // One server flight plus one alert at most: certificate chain and handshake messages.
    assert!(total_out < 64 * 1024, "output too large: {total_out}");
}

/// Completes a handshake, then feeds `data` to the server as protected records, so the
/// post-handshake states (application data, KeyUpdate, post-handshake auth) see arbitrary
/// plaintext. Input: byte 0 bit 0 starts post-handshake auth first; then chunks of
/// `[inner type][len hi][len lo][payload]`; a chunk that is exactly a KeyUpdate makes the
/// client move to its next key too.
pub fn fuzz_established_bytes(data: &[u8]) {
    let mut conn = ServerConnection::new(config(), [2u8; 32], 1_700_000_000_000);
    let mut client = Mini::connect(&mut conn, vec![(ext::POST_HANDSHAKE_AUTH, vec![])]);
    client.finish(&mut conn);
    let Some((flags, mut rest)) = data.split_first() else {
        return;
    };
    let mut context = None;
    if flags & 1 == 1 {
        conn.request_client_auth()
            .expect("client offered post-handshake auth");
        let out = conn.take_output();
        context = client
            .handshake_messages(&out)
            .ok()
            .and_then(|m| certificate_request_context(&m));
    }
    let mut total_out = 0;
    while rest.len() >= 3 {
        let typ = rest[0];
        let len = (usize::from(rest[1]) << 8 | usize::from(rest[2])) % (record::MAX_FRAGMENT + 1);
        let mut payload = rest[3..(3 + len).min(rest.len())].to_vec();
        rest = &rest[(3 + len).min(rest.len())..];
        if let (Some(ctx), [hs::CERTIFICATE, list @ ..]) = (&context, payload.as_slice()) {
            // Give a client Certificate the right context so its chain reaches webpki.
            let mut body = Vec::new();
            with_len(&mut body, 1, |o| o.extend_from_slice(ctx));
            body.extend_from_slice(list);
            payload = msgs::handshake(hs::CERTIFICATE, &body);
            payload.truncate(record::MAX_FRAGMENT);
        }
        let rec = client.seal(typ, &payload);
        let (out, alive) = feed(&mut conn, &rec);
        total_out += out.len();
        if !alive {
            break;
        }
        // Only to follow the server's KeyUpdates: what it sent does not matter here.
        let _ = client.open(&out);
        if typ == content::HANDSHAKE && matches!(payload.as_slice(), [24, 0, 0, 1, 0 | 1]) {
            client.write = client.write.updated();
        }
        if conn.peer_closed() {
            break;
        }
    }
    // Tickets after post-handshake auth, KeyUpdate answers and one alert at most.
    assert!(total_out < 64 * 1024, "output too large: {total_out}");
}

/// `n` pseudo-random inputs of `len` bytes (xorshift64): a fuzzer's first random inputs,
/// the same every run, to count how far inputs get without running a fuzzer.
pub fn sample_inputs(n: usize, len: usize) -> Vec<Vec<u8>> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
    };
    (0..n).map(|_| (0..len).map(|_| next()).collect()).collect()
}
