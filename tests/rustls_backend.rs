//! The rustls backend's mapping of OpenSSL's API, step by step: what the compatibility layer
//! makes of each op, measured on real rustls against the real OpenSSL client.

use ticketdiff::backend::{Backend, BackendId};
use ticketdiff::program::parse;
use ticketdiff::registry;
use ticketdiff::trace::Step;

fn run_on(backend: BackendId, text: &str) -> Vec<Step> {
    let mut b: Box<dyn Backend> = registry::backend(backend).expect("in process");
    b.run(&parse(text).unwrap())
        .expect("in process, a run finishes")
}

fn run(text: &str) -> Vec<Step> {
    run_on(BackendId::Rustls, text)
}

/// `(issued, notified)` of each step.
fn notified(trace: &[Step]) -> Vec<(u64, u64)> {
    trace.iter().map(|s| (s.issued, s.notified)).collect()
}

#[test]
fn each_tls13_ticket_notifies_once_as_on_the_oracle() {
    let program = "ctx_set_num_tickets 3\nconnect\nhandshake\nconnect resume\nset_num_tickets 1\n\
                   handshake\n";
    let t = run(program);
    assert_eq!(
        notified(&t),
        [(0, 0), (0, 0), (3, 3), (3, 3), (3, 3), (4, 4)]
    );
    assert_eq!(t[5].resumed, Some(true));
    assert_eq!(notified(&t), notified(&run_on(BackendId::Openssl, program)));
}

#[test]
fn a_tls12_session_is_cached_beside_its_ticket() {
    // rustls gives a TLS 1.2 session an id and caches it even when it sends a ticket: one
    // notification for the one ticket. OpenSSL gives a ticketed session no id and does not
    // notify. (rustls also renews the ticket on the resumed connection; OpenSSL does not.)
    let program = "connect tls12\nhandshake\nconnect tls12 resume\nhandshake\n";
    let t = run(program);
    assert_eq!(notified(&t), [(0, 0), (1, 1), (1, 1), (2, 1)]);
    assert_eq!(t[3].resumed, Some(true));
    let oracle = run_on(BackendId::Openssl, program);
    assert_eq!(notified(&oracle), [(0, 0), (1, 0), (1, 0), (1, 0)]);
}

#[test]
fn the_count_starts_again_with_each_program() {
    let mut b: Box<dyn Backend> = registry::backend(BackendId::Rustls).expect("in process");
    let p = parse("connect\nhandshake\n").unwrap();
    let first = b.run(&p).unwrap();
    let second = b.run(&p).unwrap();
    assert_eq!(first[1].notified, 2);
    assert_eq!(second[1].notified, 2);
}

/// `(ret, issued, resumed, notified)` of each step.
fn cells(trace: &[Step]) -> Vec<(Option<i128>, u64, Option<bool>, u64)> {
    trace
        .iter()
        .map(|s| (s.ret, s.issued, s.resumed, s.notified))
        .collect()
}

fn skip_reason(text: &str) -> Option<String> {
    let b = registry::backend(BackendId::Rustls).expect("in process");
    b.skip_reason(&parse(text).unwrap())
}

#[test]
fn what_rustls_cannot_do_is_skipped_with_its_reason() {
    let why = skip_reason("ctx_set_ticket_cb ok use\nconnect\nhandshake\n").unwrap();
    assert!(
        why.starts_with("line 1: `ctx_set_ticket_cb ok use`: rustls 0.23 has no ticket callbacks"),
        "{why}"
    );
    let why = skip_reason("connect\nhandshake\nkey_update\n").unwrap();
    assert!(
        why.contains("line 3") && why.contains("update_not_requested"),
        "{why}"
    );
    for runs in [
        "connect\nhandshake\nkey_update requested\n",
        "ctx_set_options no_ticket no_anti_replay allow_no_dhe_kex\nctx_clear_options no_ticket\n",
        "ctx_set_ciphersuites TLS_AES_256_GCM_SHA384\nctx_set_max_early_data 16384\n",
        "ctx_set_session_cache_mode off\nconnect\nserver_read_early\n",
    ] {
        assert_eq!(skip_reason(runs), None, "{runs}");
    }
}

#[test]
fn context_ops_return_what_openssl_returns_and_bind_at_connect() {
    // ctx ops change the next connection only: the first connection's tickets are stateless,
    // the second connection wants stateful ones and so cannot open them, as on OpenSSL.
    let program = "ctx_set_ciphersuites TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256\n\
                   ctx_set_max_early_data 4294967295\nctx_set_max_early_data 0\n\
                   connect\nctx_set_options no_ticket\nhandshake\n\
                   connect resume\nhandshake\n";
    let t = run(program);
    assert!(t[..3].iter().all(|s| s.ret == Some(1)));
    assert_eq!(t[5].resumed, Some(false));
    assert_eq!(t[7].resumed, Some(false));
    assert_eq!(cells(&t), cells(&run_on(BackendId::Openssl, program)));
}

#[test]
fn no_ticket_makes_stateful_tickets_that_a_stateless_context_cannot_open() {
    let program = "ctx_set_options no_ticket\nconnect\nhandshake\nconnect resume\nhandshake\n\
                   ctx_clear_options no_ticket\nconnect resume\nhandshake\n";
    let t = run(program);
    assert_eq!(t[2].issued, 2);
    assert_eq!(t[2].notified, 2, "each stored session notifies");
    assert_eq!(t[4].resumed, Some(true), "a stateful ticket resumes");
    assert_eq!(
        t[7].resumed,
        Some(false),
        "the ticketer cannot open a session id"
    );
    let oracle = run_on(BackendId::Openssl, program);
    assert_eq!(oracle[4].resumed, Some(true));
    assert_eq!(oracle[7].resumed, Some(false));
}

#[test]
fn with_the_cache_off_tickets_go_out_unnotified_and_stateful_ones_not_at_all() {
    let program = "ctx_set_session_cache_mode off\nconnect\nhandshake\nconnect resume\nhandshake\n\
                   ctx_set_options no_ticket\nconnect\nhandshake\n";
    let t = run(program);
    assert_eq!(cells(&t)[2], (Some(1), 2, Some(false), 0));
    assert_eq!(t[4].resumed, Some(true), "stateless tickets need no cache");
    // rustls sends no stateful ticket it could not store; OpenSSL sends ones it cannot resume.
    assert_eq!(t[7].issued, t[4].issued);
    let oracle = run_on(BackendId::Openssl, program);
    assert_eq!(cells(&t)[..4], cells(&oracle)[..4]);
    assert!(oracle[7].issued > oracle[4].issued);
}

#[test]
fn rustls_resumes_only_with_the_very_suite_of_the_session() {
    let sha384 = "ctx_set_ciphersuites TLS_AES_128_GCM_SHA256\nconnect\nhandshake\n\
                  ctx_set_ciphersuites TLS_AES_256_GCM_SHA384\nconnect resume\nhandshake\n";
    assert_eq!(run(sha384)[5].resumed, Some(false));
    let sha256 = "ctx_set_ciphersuites TLS_AES_128_GCM_SHA256\nconnect\nhandshake\n\
                  ctx_set_ciphersuites TLS_CHACHA20_POLY1305_SHA256\nconnect resume\nhandshake\n";
    // OpenSSL resumes a session of another suite with the same hash; rustls (`can_resume`)
    // wants the same suite.
    assert_eq!(run(sha256)[5].resumed, Some(false));
    assert_eq!(run_on(BackendId::Openssl, sha256)[5].resumed, Some(true));
}

#[test]
fn read_early_data_and_key_update_follow_openssl_without_early_data() {
    // Without early data from the client: would-block before the ClientHello, FINISH after it,
    // failure once finished or after the handshake; a requested key update once established,
    // after which both directions still carry data.
    let program = "ctx_set_max_early_data 1000\nconnect\nserver_read_early\nclient_step\n\
                   server_read_early\nserver_read_early\nhandshake\nserver_read_early\n\
                   key_update requested\nserver_write 5\nclient_read\nclient_write 7\nserver_read\n\
                   connect\nkey_update requested\nhandshake\nkey_update requested\n";
    let t = run(program);
    let rets: Vec<_> = t.iter().map(|s| s.ret).collect();
    let expected = [1, 0, -1, -1, 0, -1, 1, -1, 1, 5, 5, 7, 7, 0, 0, 1, 1];
    assert_eq!(rets, expected.map(Some));
    assert_eq!(t[6].early, Some(ticketdiff::trace::EarlyStatus::NotSent));
    assert_eq!(t, run_on(BackendId::Openssl, program));
}

#[test]
fn what_belongs_to_openssls_ssl_object_matches_the_oracle() {
    // (TLS 1.2's one notification differs, as `a_tls12_session_is_cached_beside_its_ticket`
    // shows; everything else is equal.)
    assert_as_oracle(&[
        // The cache mode and the suites are read from the context live, not copied at SSL_new.
        "ctx_set_session_cache_mode off\nconnect\nctx_set_session_cache_mode server\nhandshake\n",
        "connect\nhandshake\nconnect resume\nset_num_tickets 0\n\
         ctx_set_ciphersuites TLS_AES_128_GCM_SHA256\nhandshake\n",
        // SSL_read_early_data's states: started before the ClientHello it goes on after the
        // handshake; reads and writes fail while it waits; after FINISH the server may shut
        // down before the client's Finished, not write; TLS 1.2 runs the whole handshake.
        "connect\nserver_read_early\nhandshake\nserver_read_early\n",
        "connect\nserver_read_early\nclient_write 0\nserver_read\nclient_read\nserver_step\n",
        "connect\nserver_read_early\nclient_step\nserver_write 0\nclient_write 0\n",
        "connect\nclient_step\nserver_read_early\nshutdown\nclient_read\nshutdown\n",
        "connect\nclient_step\nserver_read_early\nserver_write 3\nhandshake\nclient_read\n",
        "connect tls12\nclient_read\nserver_read_early\nhandshake\nserver_read_early\n",
    ]);
}

#[test]
fn early_data_on_a_stateful_ticket_is_read_as_on_the_oracle() {
    // max_early_data with anti-replay: stateful tickets, and rustls accepts 0-RTT on them. A
    // single-use ticket offered again is refused by both; rustls cannot tell that early data
    // was offered and refused, so it reports it not sent.
    let program = "ctx_set_max_early_data 1000\nconnect\nhandshake\nconnect resume early=500\n\
                   client_step\nserver_read_early\nserver_read_early\nhandshake\n\
                   server_read_early\nconnect resume=again early=10\nclient_step\n\
                   server_read_early\nhandshake\n";
    let t = run(program);
    let oracle = run_on(BackendId::Openssl, program);
    let rets = |t: &[Step]| t.iter().map(|s| s.ret).collect::<Vec<_>>();
    assert_eq!(rets(&t), rets(&oracle));
    assert_eq!(t[5].ret, Some(500));
    use ticketdiff::trace::EarlyStatus::*;
    assert_eq!((t[7].resumed, t[7].early), (Some(true), Some(Accepted)));
    assert_eq!((t[12].resumed, t[12].early), (Some(false), Some(NotSent)));
    assert_eq!(oracle[12].early, Some(Rejected));
}

/// Asserts that rustls gives the oracle's trace (every field but `notified`, whose TLS 1.2
/// difference is a finding) for each program.
fn assert_as_oracle(programs: &[&str]) {
    let view = |t: Vec<Step>| -> Vec<_> {
        t.into_iter()
            .map(|s| (s.ret, s.issued, s.received, s.resumed, s.early))
            .collect()
    };
    for program in programs {
        assert_eq!(
            view(run(program)),
            view(run_on(BackendId::Openssl, program)),
            "{program}"
        );
    }
}

#[test]
fn a_queued_key_update_keeps_shutdown_from_closing() {
    // SSL_key_update puts OpenSSL back in init until the update is written: SSL_shutdown fails
    // and sends nothing, so later writes still go out and the client reads them.
    assert_as_oracle(&[
        "connect\nhandshake\nkey_update requested\nshutdown\nserver_write 0\n",
        "connect\nhandshake\nkey_update requested\nshutdown\nserver_write 1\nclient_read\n\
         shutdown\nserver_read\n",
    ]);
}

#[test]
fn after_the_handshake_writes_and_do_handshake_read_nothing() {
    // OpenSSL's SSL_write and SSL_do_handshake take nothing off the wire once established, so
    // the client's writes block as they do there.
    assert_as_oracle(&[
        "connect\nhandshake\nclient_write 65536\nserver_write 0\nclient_write 131072\n\
         server_read\nclient_write 65536\n",
        "connect\nhandshake\nclient_write 72121\nserver_step\nclient_write 185391\n\
         client_write 65536\nclient_read\n",
    ]);
}

#[test]
fn application_data_where_shutdown_waits_for_close_notify_is_fatal() {
    // SSL_shutdown reads only to find the peer's close_notify; application data there ends
    // the connection (and a handshake it was finishing never reports finished).
    assert_as_oracle(&[
        "connect\nhandshake\nclient_write 1\nshutdown\nserver_step\n",
        "connect\nhandshake\nclient_write 1\nshutdown\nserver_read\n",
        "connect\nclient_read\nserver_read_early\nclient_write 1\nshutdown\n",
    ]);
}

#[test]
fn read_early_data_after_do_handshake_passed_its_point_runs_the_whole_handshake() {
    // SSL_accept inside SSL_read_early_data stops at the early-data point only if it gets
    // there itself; after SSL_do_handshake went past it, it waits for the client's Finished.
    assert_as_oracle(&[
        "connect\nserver_read_early\nclient_write 0\nserver_step\nserver_read_early\n",
        "connect\nserver_read_early\nclient_read\nserver_do_handshake\nclient_read\n\
         server_read_early\n",
    ]);
}

#[test]
fn ssl_read_while_early_data_is_read_returns_early_data() {
    // In SSL_EARLY_DATA_READ_RETRY, SSL_read reads the early data too, a record at a time.
    assert_as_oracle(&[
        "ctx_set_max_early_data 32767\nconnect\nhandshake\nconnect resume early=20000\n\
         client_step\nserver_read_early\nserver_read\n",
        "ctx_set_max_early_data 1\nconnect\nhandshake\nconnect resume early=1\nclient_step\n\
         shutdown\nserver_read_early\n",
    ]);
}

#[test]
fn shutdown_after_the_early_point_closes_until_the_handshake_goes_on() {
    // After SSL_read_early_data stopped at the early-data point OpenSSL is out of init:
    // SSL_shutdown sends close_notify before the tickets, without reading; SSL_write (or
    // SSL_do_handshake, SSL_read) puts it back in init, and SSL_shutdown then fails. A close
    // already received is reported before the early-data state is looked at.
    assert_as_oracle(&[
        "connect\nclient_write 0\nserver_read_early\nclient_read\nshutdown\nhandshake\n",
        "connect\nclient_write 0\nserver_read_early\nserver_write 0\nshutdown\nhandshake\n",
        "ctx_set_num_tickets 1\nconnect\nhandshake\nconnect resume\nclient_read\n\
         server_read_early\nclient_step\nshutdown\nshutdown\n",
        "connect\nserver_read_early\nhandshake\nshutdown\nserver_read\n",
    ]);
}

#[test]
fn the_end_of_early_data_read_early_finishes_a_handshake_whose_finished_arrived() {
    // The EndOfEarlyData wakes OpenSSL's state machine inside SSL_read_early_data, and it reads
    // on: the client's Finished, sent with it, ends the handshake in that same call.
    let program = "ctx_set_max_early_data 1\nconnect\nhandshake\nconnect resume early=0\n\
                   client_step\nserver_read_early\nclient_step\nserver_read_early\n";
    let view =
        |t: Vec<Step>| -> Vec<_> { t.into_iter().map(|s| (s.ret, s.resumed, s.early)).collect() };
    let t = view(run(program));
    assert_eq!(t, view(run_on(BackendId::Openssl, program)));
    use ticketdiff::trace::EarlyStatus::Accepted;
    assert_eq!(t[7], (Some(0), Some(true), Some(Accepted)));
}

#[test]
fn the_handshake_reads_a_record_at_a_time_and_leaves_what_follows_on_the_wire() {
    // OpenSSL's state machine reads the client's Finished and stops: the application data
    // behind it stays on the wire, so the client's later writes block as they do there.
    assert_as_oracle(&[
        "connect\nclient_read\nserver_write 0\nclient_write 65536\nserver_write 0\n\
         client_write 131072\nclient_write 65536\nserver_write 1\nclient_read\n",
        "ctx_set_max_early_data 32768\nconnect suites=TLS_AES_128_GCM_SHA256\nhandshake\n\
         connect resume early=20000\nhandshake\nclient_step\n",
    ]);
}
