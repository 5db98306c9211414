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
