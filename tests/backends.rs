//! Each op on the oracle, the rustls backend's counts, and determinism. Expected values are
//! OpenSSL 3's and rustls 0.23's observed behaviour (see shared/SEMANTICS.md).

use ticketdiff::backend::{Backend, BackendId};
use ticketdiff::program::parse;
use ticketdiff::registry;
use ticketdiff::trace::Step;

fn run(backend: &str, text: &str) -> Vec<Step> {
    let mut b: Box<dyn Backend> =
        registry::backend(backend.parse::<BackendId>().unwrap()).expect("in process");
    b.run(&parse(text).unwrap())
        .expect("in process, a run finishes")
}

/// `(ret, issued, received, resumed)` of each step.
fn fields(trace: &[Step]) -> Vec<(Option<i128>, u64, u64, Option<bool>)> {
    trace
        .iter()
        .map(|s| (s.ret, s.issued, s.received, s.resumed))
        .collect()
}

#[test]
fn oracle_ctx_and_connection_counts() {
    let t = run(
        "openssl",
        "ctx_get_num_tickets\nctx_set_num_tickets 5\nctx_get_num_tickets\nconnect\n\
         ctx_set_num_tickets 7\nget_num_tickets\nset_num_tickets 18446744073709551615\n\
         get_num_tickets\nctx_get_num_tickets\n",
    );
    let rets: Vec<_> = t.iter().map(|s| s.ret).collect();
    assert_eq!(
        rets,
        [
            Some(2),
            Some(1),
            Some(5),
            Some(0),
            Some(1),
            Some(5),
            Some(1),
            Some(u64::MAX as i128),
            Some(7)
        ]
    );
}

#[test]
fn oracle_ops_without_a_connection_report_null() {
    let t = run(
        "openssl",
        "handshake\nnew_session_ticket\nshutdown\nget_num_tickets\n",
    );
    assert!(t.iter().all(|s| s.ret.is_none() && s.resumed.is_none()));
}

#[test]
fn oracle_full_handshake_then_resumption_is_capped_at_one() {
    let t = run(
        "openssl",
        "ctx_set_num_tickets 4\nconnect\nhandshake\nconnect resume\nhandshake\nconnect resume\n",
    );
    assert_eq!(
        fields(&t),
        [
            (Some(1), 0, 0, None),
            (Some(0), 0, 0, None),
            (Some(1), 4, 4, Some(false)),
            (Some(1), 4, 4, None),
            (Some(1), 5, 5, Some(true)),
            // One session offered per ticket: three tickets left to offer.
            (Some(1), 5, 5, None),
        ]
    );
}

#[test]
fn oracle_queued_tickets_are_flushed_by_write_handshake_and_read() {
    for flush in ["server_write 0", "server_do_handshake", "server_read"] {
        let t = run(
            "openssl",
            &format!("connect\nhandshake\nnew_session_ticket\nnew_session_ticket\n{flush}\nclient_read\n"),
        );
        assert_eq!(t[3].issued, 2, "{flush}: queued, not sent");
        assert_eq!(t[4].issued, 4, "{flush}: flushed");
        assert_eq!(t[5].received, 4, "{flush}: the client read them");
    }
}

#[test]
fn oracle_new_session_ticket_before_the_handshake_and_on_tls12_returns_0() {
    let t = run(
        "openssl",
        "connect\nnew_session_ticket\nconnect tls12\nhandshake\nnew_session_ticket\n",
    );
    assert_eq!(t[1].ret, Some(0));
    assert_eq!(t[3].issued, 1, "TLS 1.2 sends one ticket");
    assert_eq!(t[4].ret, Some(0));
}

#[test]
fn oracle_steps_and_mid_handshake_count_change() {
    let t = run(
        "openssl",
        "connect\nclient_step\nserver_step\nset_num_tickets 3\nclient_step\nserver_step\nclient_read\n",
    );
    let rets: Vec<_> = t.iter().map(|s| s.ret).collect();
    assert_eq!(rets[1..6], [Some(-1), Some(-1), Some(1), Some(1), Some(1)]);
    assert_eq!(
        t[6].received, 3,
        "N is read when the client's Finished is processed"
    );
}

#[test]
fn oracle_post_handshake_auth_issues_n_more_tickets() {
    let t = run(
        "openssl",
        "connect pha\nhandshake\nverify_client_post_handshake\nserver_do_handshake\nclient_read\n\
         server_read\nclient_read\n",
    );
    assert_eq!(t[1].issued, 2);
    assert_eq!(t[2].ret, Some(1));
    assert_eq!(
        t[5].issued, 4,
        "the client's certificate resets the sent count"
    );
    assert_eq!(t[6].received, 4);
    let t = run(
        "openssl",
        "connect\nhandshake\nverify_client_post_handshake\n",
    );
    assert_eq!(t[2].ret, Some(0), "no post_handshake_auth offered");
}

#[test]
fn oracle_data_both_ways_and_shutdown() {
    let t = run(
        "openssl",
        "connect\nhandshake\nclient_write 100\nserver_read\nserver_write 60000\nclient_read\n\
         shutdown\nclient_read\nshutdown\n",
    );
    assert_eq!(t[2].ret, Some(100));
    assert_eq!(t[3].ret, Some(100));
    assert_eq!(t[4].ret, Some(60000));
    assert_eq!(t[5].ret, Some(60000));
    assert_eq!(
        t[6].ret,
        Some(0),
        "the client has not read the server's close_notify yet"
    );
    assert_eq!(t[8].ret, Some(1));
}

#[test]
fn oracle_large_write_would_block_on_a_full_wire() {
    let t = run(
        "openssl",
        "connect\nhandshake\nserver_write 200000\nclient_read\nserver_write 200000\n",
    );
    assert_eq!(t[2].ret, Some(-1));
    assert!(t[3].ret.unwrap() > 0);
}

#[test]
fn rustls_counts_on_the_basic_programs() {
    let t = run(
        "rustls",
        "ctx_set_num_tickets 3\nconnect\nhandshake\nnew_session_ticket\nconnect resume\nhandshake\n\
         connect pha\nhandshake\nverify_client_post_handshake\n",
    );
    assert_eq!(t[2].issued, 3);
    assert_eq!(t[2].received, 3);
    assert_eq!(t[3].ret, Some(0), "no tickets on demand");
    assert_eq!(t[5].resumed, Some(true));
    assert_eq!(t[5].issued, 6, "rustls sends N tickets after a resumption");
    assert_eq!(t[8].ret, Some(0), "no post-handshake auth");
}

#[test]
fn rustls_reads_the_count_when_the_client_hello_arrives() {
    let t = run(
        "rustls",
        "connect\nclient_step\nserver_step\nset_num_tickets 5\nhandshake\n",
    );
    assert_eq!(t[4].issued, 2);
}

#[test]
fn runs_are_deterministic() {
    let text = "connect pha\nhandshake\nnew_session_ticket\nserver_write 5\nclient_read\n\
                verify_client_post_handshake\nserver_do_handshake\nclient_read\nserver_read\n\
                connect resume\nclient_step\nserver_step\nhandshake\nshutdown\n";
    for backend in ["openssl", "rustls"] {
        let mut b = registry::backend(backend.parse::<BackendId>().unwrap()).expect("in process");
        let p = parse(text).unwrap();
        let first = b.run(&p).unwrap();
        for _ in 0..5 {
            assert_eq!(b.run(&p).unwrap(), first, "{backend}");
        }
        assert_eq!(
            registry::backend(backend.parse::<BackendId>().unwrap())
                .expect("in process")
                .run(&p)
                .unwrap(),
            first,
            "{backend}, fresh backend"
        );
    }
}

/// Every corpus and `diff/` program, run several times on each in-process backend, traces alike
/// every time. The programs that fill the 64 KiB wire to the byte are the ones this guards:
/// with an ECDSA server key their ticket count varied with the signature's DER length.
#[test]
fn every_saved_program_traces_alike_every_time_on_every_in_process_backend() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = ticketdiff::files::tkt_files(&[root.join("corpus"), root.join("diff")]).unwrap();
    assert!(files.len() > 100);
    for id in [BackendId::Openssl, BackendId::Native, BackendId::Rustls] {
        let mut b = registry::backend(id).expect("in process");
        ticketdiff::testing::assert_traces_repeat(b.as_mut(), &files, 5);
    }
}
