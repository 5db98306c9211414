//! The format's version 2 on the oracle, the real system OpenSSL: each rule is a program whose
//! observed trace is asserted step by step. The expected cells are what OpenSSL 3.0.19 did
//! (measured, not taken from SEMANTICS.md; where the two disagree the test says so).

use ticketdiff::backend::{Backend, BackendId};
use ticketdiff::program::parse;
use ticketdiff::registry;
use ticketdiff::trace::Step;

fn oracle() -> Box<dyn Backend> {
    registry::backend(BackendId::Openssl).expect("in process")
}

/// A step as one cell of the `run` table: `ret issued/received resumed nNOTIFIED early`.
fn cell(s: &Step) -> String {
    let ret = s.ret.map_or("null".to_string(), |r| r.to_string());
    let resumed = match s.resumed {
        None => "-",
        Some(false) => "full",
        Some(true) => "resumed",
    };
    let early = s.early.map_or("-", |e| e.name());
    format!(
        "{ret} {}/{} {resumed} n{} {early}",
        s.issued, s.received, s.notified
    )
}

fn cells_on(backend: &mut dyn Backend, text: &str) -> Vec<String> {
    let program = parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(backend.skip_reason(&program), None, "{text}");
    let trace = backend.run(&program).expect("in process, a run finishes");
    trace.iter().map(cell).collect()
}

fn text_of(script: &[(&str, &str)]) -> String {
    script.iter().map(|(op, _)| format!("{op}\n")).collect()
}

/// Runs the ops of `script` as one program on a fresh oracle and checks every step's cell.
fn check(script: &[(&str, &str)]) {
    check_on(&mut *oracle(), script);
}

fn check_on(backend: &mut dyn Backend, script: &[(&str, &str)]) {
    let text = text_of(script);
    let got = cells_on(backend, &text);
    let want: Vec<&str> = script.iter().map(|(_, c)| *c).collect();
    if got != want {
        let table: String = script
            .iter()
            .zip(&got)
            .map(|((op, w), g)| {
                let mark = if g == w { " " } else { "*" };
                format!("{mark} {op:<40} got {g:<28} want {w}\n")
            })
            .collect();
        panic!("trace differs:\n{table}");
    }
}

// ---- Resetting the context between programs ----

/// A setting and a probe program whose trace shows that setting: after a program that made
/// the setting, the probe must run as on a fresh context.
const LEAK_PROBES: &[(&str, &str)] = &[
    // Stateful tickets with the cache off cannot resume; stateless ones can.
    (
        "ctx_set_options no_ticket",
        "ctx_set_session_cache_mode off\nconnect\nhandshake\nconnect resume\nhandshake\n",
    ),
    // With the cache off, no notification.
    ("ctx_set_session_cache_mode off", "connect\nhandshake\n"),
    // Early data allowed with anti-replay: stateful tickets, gone with the cache off.
    (
        "ctx_set_max_early_data 100",
        "ctx_set_session_cache_mode off\nconnect\nhandshake\nconnect resume\nhandshake\n",
    ),
    (
        "ctx_set_ticket_cb ok ignore",
        "connect\nhandshake\nconnect resume\nhandshake\n",
    ),
    ("ctx_set_ticket_cb fail use", "connect\nhandshake\n"),
    // A client whose one suite the server no longer has cannot connect. (`allow_no_dhe_kex`
    // has no probe: a client offering psk_ke also offers psk_dhe_ke with a key share the
    // server takes, so the trace is the same; the rebuilt context forgets it with the rest.)
    (
        "ctx_set_ciphersuites TLS_CHACHA20_POLY1305_SHA256",
        "connect suites=TLS_AES_128_GCM_SHA256\nhandshake\n",
    ),
];

#[test]
fn reset_forgets_every_context_setting_of_the_previous_program() {
    for (setting, probe) in LEAK_PROBES {
        let fresh = cells_on(&mut *oracle(), probe);
        let mut used = oracle();
        let with_setting = cells_on(&mut *used, &format!("{setting}\n{probe}"));
        assert_ne!(
            with_setting[1..],
            fresh[..],
            "`{setting}` must change the probe, or the probe shows nothing"
        );
        assert_eq!(
            cells_on(&mut *used, probe),
            fresh,
            "`{setting}` leaked into the next program"
        );
    }
}

#[test]
fn a_program_without_context_ops_after_one_with_them_runs_as_on_a_fresh_context() {
    let mut used = oracle();
    cells_on(
        &mut *used,
        "ctx_set_options no_ticket allow_no_dhe_kex no_anti_replay\n\
         ctx_set_max_early_data 4294967295\nctx_set_session_cache_mode off\n\
         ctx_set_ciphersuites TLS_CHACHA20_POLY1305_SHA256\nctx_set_ticket_cb ok abort\n\
         ctx_set_num_tickets 7\nconnect\nhandshake\n",
    );
    let probe = "connect\nhandshake\nconnect resume\nhandshake\nconnect resume\nhandshake\n";
    assert_eq!(cells_on(&mut *used, probe), cells_on(&mut *oracle(), probe));
}

// ---- Server context ops ----

#[test]
fn no_ticket_sends_n_stateful_tickets_that_resume() {
    check(&[
        ("ctx_set_options no_ticket", "1 0/0 - n0 -"),
        ("ctx_set_num_tickets 3", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 3/3 full n3 not_sent"),
        ("connect resume", "1 3/3 - n3 -"),
        ("handshake", "1 4/4 resumed n4 not_sent"),
        // A stateful ticket is not single use without early data: offered again, it resumes.
        ("connect resume=again", "1 4/4 - n4 -"),
        ("handshake", "1 5/5 resumed n5 not_sent"),
    ]);
}

#[test]
fn cache_off_with_no_ticket_sends_tickets_that_cannot_resume_and_notifies_nothing() {
    check(&[
        ("ctx_set_session_cache_mode off", "1 0/0 - n0 -"),
        ("ctx_set_options no_ticket", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n0 not_sent"),
        ("connect resume", "1 2/2 - n0 -"),
        ("handshake", "1 4/4 full n0 not_sent"),
    ]);
}

#[test]
fn cache_off_stateless_tickets_go_out_and_resume_without_notification() {
    check(&[
        ("ctx_set_session_cache_mode off", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n0 not_sent"),
        ("connect resume", "1 2/2 - n0 -"),
        ("handshake", "1 3/3 resumed n0 not_sent"),
        (
            "ctx_set_session_cache_mode server",
            "1 3/3 resumed n0 not_sent",
        ),
        ("connect resume", "1 3/3 - n0 -"),
        ("handshake", "1 4/4 resumed n1 not_sent"),
    ]);
}

#[test]
fn ticket_cb_use_resumes_and_issues_no_ticket() {
    check(&[
        ("ctx_set_ticket_cb ok use", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        // No ticket offered: the decrypt callback is not called, the full handshake issues N.
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume", "1 2/2 - n2 -"),
        // `USE` leaves the ticket as it is: no renewal, so no ticket after this resumption
        // (without a callback OpenSSL sends one).
        ("handshake", "1 2/2 resumed n2 not_sent"),
    ]);
}

#[test]
fn ticket_cb_use_renew_resumes_and_issues_one() {
    check(&[
        ("ctx_set_ticket_cb ok use_renew", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume", "1 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n3 not_sent"),
    ]);
}

#[test]
fn ticket_cb_ignore_is_a_full_handshake_without_tickets() {
    check(&[
        ("ctx_set_ticket_cb ok ignore", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume", "1 2/2 - n2 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
    ]);
}

#[test]
fn ticket_cb_ignore_renew_is_a_full_handshake_with_n_tickets() {
    check(&[
        ("ctx_set_ticket_cb ok ignore_renew", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume", "1 2/2 - n2 -"),
        ("handshake", "1 4/4 full n4 not_sent"),
    ]);
}

#[test]
fn ticket_cb_abort_fails_the_handshake() {
    check(&[
        ("ctx_set_ticket_cb ok abort", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume", "1 2/2 - n2 -"),
        ("handshake", "0 2/2 - n2 -"),
    ]);
}

#[test]
fn ticket_cb_generate_fail_fails_the_handshake_that_would_send_a_ticket() {
    check(&[
        ("ctx_set_ticket_cb fail use", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "0 0/0 - n0 -"),
        ("new_session_ticket", "0 0/0 - n0 -"),
    ]);
    // With no ticket to send, nothing calls the generate callback.
    check(&[
        ("ctx_set_ticket_cb fail use", "1 0/0 - n0 -"),
        ("ctx_set_num_tickets 0", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 0/0 full n0 not_sent"),
        ("new_session_ticket", "1 0/0 full n0 not_sent"),
        ("server_write 0", "-1 0/0 full n0 not_sent"),
    ]);
}

#[test]
fn ticket_cb_is_not_consulted_for_stateful_tickets() {
    check(&[
        ("ctx_set_options no_ticket", "1 0/0 - n0 -"),
        ("ctx_set_ticket_cb ok abort", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume", "1 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n3 not_sent"),
    ]);
}

// ---- Key updates ----

#[test]
fn key_update_needs_a_finished_handshake_and_blocks_ticket_requests_while_pending() {
    check(&[
        ("connect", "0 0/0 - n0 -"),
        ("key_update", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("key_update", "1 2/2 full n2 not_sent"),
        ("new_session_ticket", "0 2/2 full n2 not_sent"),
        ("key_update requested", "0 2/2 full n2 not_sent"),
        // The write sends the update; requests are taken again.
        ("server_write 0", "0 2/2 full n2 not_sent"),
        ("new_session_ticket", "1 2/2 full n2 not_sent"),
        // A queued ticket request keeps the connection in init: no key update meanwhile.
        ("key_update requested", "0 2/2 full n2 not_sent"),
        ("server_write 0", "0 3/2 full n3 not_sent"),
        ("client_read", "0 3/3 full n3 not_sent"),
        ("key_update requested", "1 3/3 full n3 not_sent"),
        ("server_write 0", "0 3/3 full n3 not_sent"),
        // The client answers a requested update with its own.
        ("client_read", "0 3/3 full n3 not_sent"),
        ("server_read", "-1 3/3 full n3 not_sent"),
    ]);
}

// ---- Early data and anti-replay ----

#[test]
fn early_data_is_accepted_when_the_server_reads_it() {
    check(&[
        ("ctx_set_max_early_data 1000", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume early=100", "1 2/2 - n2 -"),
        // `SSL_write_early_data` succeeded; the handshake is not finished.
        ("client_step", "-1 2/2 - n2 -"),
        ("server_read_early", "100 2/2 - n2 -"),
        ("server_read_early", "-1 2/2 - n2 -"),
        ("client_step", "1 2/2 - n2 -"),
        // EndOfEarlyData and the client's Finished: the handshake ends inside the read.
        ("server_read_early", "0 3/2 resumed n3 accepted"),
        ("server_read_early", "-1 3/2 resumed n3 accepted"),
        ("handshake", "1 3/3 resumed n3 accepted"),
    ]);
}

#[test]
fn early_data_the_server_does_not_read_is_rejected_and_the_session_still_resumes() {
    check(&[
        ("ctx_set_max_early_data 1000", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume early=100", "1 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n3 rejected"),
    ]);
}

#[test]
fn early_data_needs_a_ticket_that_allows_it() {
    check(&[
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        // The ticket carries no max_early_data: the client's first step is a plain handshake.
        ("connect resume early=100", "1 2/2 - n2 -"),
        ("client_step", "-1 2/2 - n2 -"),
        // No early data coming: the server's read finishes at once.
        ("server_read_early", "0 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n3 not_sent"),
    ]);
}

#[test]
fn early_data_is_capped_by_the_ticket_and_by_the_servers_receive_limit() {
    check(&[
        ("ctx_set_max_early_data 1000", "1 0/0 - n0 -"),
        ("ctx_set_options no_anti_replay", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        // min(5000, 1000) bytes.
        ("connect resume early=5000", "1 2/2 - n2 -"),
        ("client_step", "-1 2/2 - n2 -"),
        ("server_read_early", "1000 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n3 accepted"),
    ]);
    // The ticket allows more than the server's `recv_max_early_data` (16384 by default): the
    // server reads one record, then fails the handshake.
    check(&[
        ("ctx_set_max_early_data 4294967295", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume early=20000", "1 2/2 - n2 -"),
        ("client_step", "-1 2/2 - n2 -"),
        ("server_read_early", "16384 2/2 - n2 -"),
        ("server_read_early", "-1 2/2 - n2 -"),
        ("handshake", "0 2/2 - n2 -"),
    ]);
}

#[test]
fn early_data_on_a_tls12_client_fails_the_first_step() {
    check(&[
        ("ctx_set_max_early_data 1000", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume tls12 early=10", "1 2/2 - n2 -"),
        ("client_step", "0 2/2 - n2 -"),
    ]);
}

#[test]
fn anti_replay_makes_a_ticket_single_use() {
    check(&[
        ("ctx_set_max_early_data 1000", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume", "1 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n3 not_sent"),
        // The same ticket, as it arrived: the server removed it from its cache on first use.
        ("connect resume=again early=10", "1 3/3 - n3 -"),
        ("handshake", "1 5/5 full n5 rejected"),
    ]);
}

#[test]
fn no_anti_replay_lets_a_ticket_resume_again_with_early_data() {
    check(&[
        ("ctx_set_max_early_data 1000", "1 0/0 - n0 -"),
        ("ctx_set_options no_anti_replay", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume early=10", "1 2/2 - n2 -"),
        ("client_step", "-1 2/2 - n2 -"),
        ("server_read_early", "10 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n3 accepted"),
        ("connect resume=again early=10", "1 3/3 - n3 -"),
        ("client_step", "-1 3/3 - n3 -"),
        ("server_read_early", "10 3/3 - n3 -"),
        ("handshake", "1 4/4 resumed n4 accepted"),
    ]);
}

// ---- Client flags ----

#[test]
fn resume_again_offers_the_previous_connects_ticket_or_nothing() {
    check(&[
        ("connect resume=again", "0 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        // The previous connect offered no ticket.
        ("connect resume=again", "0 2/2 - n2 -"),
        ("connect resume", "1 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n3 not_sent"),
        // A stateless ticket is not single use: its copy resumes, again and again.
        ("connect resume=again", "1 3/3 - n3 -"),
        ("handshake", "1 4/4 resumed n4 not_sent"),
        ("connect resume=again", "1 4/4 - n4 -"),
        ("handshake", "1 5/5 resumed n5 not_sent"),
    ]);
}

#[test]
fn psk_ke_resumes_when_both_sides_allow_it_and_falls_back_to_psk_dhe_ke_otherwise() {
    check(&[
        ("ctx_set_options allow_no_dhe_kex", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume psk_ke", "1 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n3 not_sent"),
    ]);
    // The client offers psk_ke besides psk_dhe_ke: a server without the option picks the
    // latter.
    check(&[
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume psk_ke", "1 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n3 not_sent"),
    ]);
}

#[test]
fn suite_whose_hash_differs_from_the_tickets_gives_a_full_handshake_without_tickets() {
    check(&[
        ("connect suites=TLS_AES_128_GCM_SHA256", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        // SHA-384 suite, SHA-256 ticket: OpenSSL 3.0.19 sends no ticket (3.6.3 sends N).
        (
            "connect resume suites=TLS_AES_256_GCM_SHA384",
            "1 2/2 - n2 -",
        ),
        ("handshake", "1 2/2 full n2 not_sent"),
        // Another SHA-256 suite: the ticket resumes.
        (
            "connect resume suites=TLS_CHACHA20_POLY1305_SHA256",
            "1 2/2 - n2 -",
        ),
        ("handshake", "1 3/3 resumed n3 not_sent"),
    ]);
}

#[test]
fn groups_pick_the_key_share() {
    check(&[
        ("connect groups=P-256", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume groups=X25519", "1 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n3 not_sent"),
    ]);
}

// ---- Context ops and a connection that exists ----

#[test]
fn ssl_new_copies_options_and_max_early_data() {
    // The connection made before `no_ticket` issues stateless tickets, which resume on a
    // stateless server.
    check(&[
        ("connect", "0 0/0 - n0 -"),
        ("ctx_set_options no_ticket", "1 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("ctx_clear_options no_ticket", "1 2/2 full n2 not_sent"),
        ("connect resume", "1 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n3 not_sent"),
    ]);
    // Its tickets carry no early data allowance.
    check(&[
        ("ctx_set_options no_anti_replay", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("ctx_set_max_early_data 100", "1 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume early=10", "1 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n3 not_sent"),
    ]);
}

// Measured against the format's "a connection that exists keeps what it had": OpenSSL reads
// these three from the context at the time of use, so they reach a connection made before.

#[test]
fn ctx_cache_mode_reaches_an_existing_connection() {
    check(&[
        ("connect", "0 0/0 - n0 -"),
        ("ctx_set_session_cache_mode off", "1 0/0 - n0 -"),
        ("handshake", "1 2/2 full n0 not_sent"),
    ]);
    // Cache off stops additions, not lookups: a cached stateful session still resumes, and
    // its new ticket is not notified.
    check(&[
        ("ctx_set_options no_ticket", "1 0/0 - n0 -"),
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume", "1 2/2 - n2 -"),
        ("ctx_set_session_cache_mode off", "1 2/2 - n2 -"),
        ("handshake", "1 3/3 resumed n2 not_sent"),
    ]);
}

#[test]
fn ctx_ticket_cb_reaches_an_existing_connection() {
    check(&[
        ("connect", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
        ("connect resume", "1 2/2 - n2 -"),
        ("ctx_set_ticket_cb ok ignore", "1 2/2 - n2 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
    ]);
}

#[test]
fn ctx_ciphersuites_reach_an_existing_connection() {
    check(&[
        ("connect suites=TLS_AES_128_GCM_SHA256", "0 0/0 - n0 -"),
        (
            "ctx_set_ciphersuites TLS_AES_256_GCM_SHA384",
            "1 0/0 - n0 -",
        ),
        ("handshake", "0 0/0 - n0 -"),
    ]);
    // The control: without the change the same connection succeeds.
    check(&[
        ("connect suites=TLS_AES_128_GCM_SHA256", "0 0/0 - n0 -"),
        ("handshake", "1 2/2 full n2 not_sent"),
    ]);
}

#[test]
fn no_ticket_on_tls12_resumes_by_session_id_and_notifies_per_cached_session() {
    check(&[
        ("ctx_set_options no_ticket", "1 0/0 - n0 -"),
        ("connect tls12", "0 0/0 - n0 -"),
        ("handshake", "1 0/0 full n1 not_sent"),
        ("connect resume tls12", "1 0/0 - n1 -"),
        ("handshake", "1 0/0 resumed n1 not_sent"),
        ("ctx_clear_options no_ticket", "1 0/0 resumed n1 not_sent"),
        // A TLS 1.2 ticket is not cached: not notified.
        ("connect tls12", "0 0/0 - n1 -"),
        ("handshake", "1 1/1 full n1 not_sent"),
    ]);
}

#[test]
fn a_groups_list_openssl_refuses_is_refused_before_the_run() {
    // OpenSSL 3.0's SSL_set1_groups_list refuses a group named twice, so the language does too,
    // naming the line; a repeated suite is accepted by OpenSSL and by the language.
    let e = parse("connect\nconnect groups=P-256:P-256\n").unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("given twice"), "{e}");
    check(&[
        (
            "connect suites=TLS_AES_128_GCM_SHA256:TLS_AES_128_GCM_SHA256",
            "0 0/0 - n0 -",
        ),
        ("handshake", "1 2/2 full n2 not_sent"),
    ]);
}
