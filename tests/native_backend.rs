//! The `native` backend: the native server behind OpenSSL's ticket API, against the oracle.
//! (The whole corpus is checked on it by `tests/corpus.rs`, since it is in `CONFORMING`.)

use std::process::Command;
use ticketdiff::backend::{Backend, BackendId};
use ticketdiff::program::parse;
use ticketdiff::registry;
use ticketdiff::trace::Step;

fn run(backend: &str, text: &str) -> Vec<Step> {
    let id = backend.parse::<BackendId>().unwrap();
    let mut b: Box<dyn Backend> = registry::backend(id).expect("in process");
    b.run(&parse(text).unwrap())
        .expect("in process, a run finishes")
}

#[test]
fn native_is_registered_and_conforming() {
    let names: Vec<&str> = BackendId::ALL.iter().map(|b| b.name()).collect();
    assert_eq!(
        names,
        [
            "openssl",
            "native",
            "rustls",
            "openssl@worker",
            "openssl-3.6",
            "openssl-4.0"
        ]
    );
    assert!(BackendId::Native.conforms());
    let native = registry::backend(BackendId::Native).expect("in process");
    assert_eq!(native.id(), BackendId::Native);
}

#[test]
fn tls12_programs_are_skipped_with_the_reason() {
    let b = registry::backend(BackendId::Native).expect("in process");
    let p = parse("connect\nhandshake\nconnect tls12\nhandshake\n").unwrap();
    let why = b.skip_reason(&p).expect("skipped");
    assert!(why.contains("line 3"), "{why}");
    assert!(
        why.contains("TLS 1.2 is out of the native server's scope"),
        "{why}"
    );
    assert!(b
        .skip_reason(&parse("connect pha\nhandshake\n").unwrap())
        .is_none());
}

#[test]
fn run_output_says_tls12_programs_are_skipped_never_agreeing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tls12.tkt");
    std::fs::write(&file, "connect tls12\nhandshake\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .args(["run", file.to_str().unwrap(), "--backend", "native"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("native"))
        .unwrap_or_else(|| panic!("no native line in:\n{stdout}"));
    assert!(
        line.contains("skipped") && line.contains("TLS 1.2 is out of the native server's scope"),
        "{line}"
    );
    assert!(!line.contains("agrees"), "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A program that exercises every op and the wire limits.
const BUSY: &str = "\
ctx_set_num_tickets 3
connect pha
client_step
server_step
set_num_tickets 5
client_step
server_step
new_session_ticket
server_write 100000
new_session_ticket
client_read
server_write 100000
client_read
verify_client_post_handshake
server_do_handshake
client_read
server_read
client_read
client_write 20000
server_read
server_read
shutdown
connect resume pha
handshake
new_session_ticket
server_write 0
client_read
shutdown
shutdown
";

#[test]
fn native_traces_are_deterministic_and_agree_with_the_oracle() {
    let first = run("native", BUSY);
    for _ in 0..3 {
        assert_eq!(run("native", BUSY), first);
    }
    assert_eq!(first, run("openssl", BUSY));
}

#[test]
fn native_direct_expectations() {
    let t = run(
        "native",
        "connect\nhandshake\nserver_write 100000\nnew_session_ticket\nserver_do_handshake\n\
         client_read\nserver_write 100000\nclient_read\nserver_write 10\nclient_read\n",
    );
    let f: Vec<_> = t.iter().map(|s| (s.ret, s.issued, s.received)).collect();
    assert_eq!(
        f,
        [
            (Some(0), 0, 0),
            (Some(1), 2, 2),
            // 64 KiB wire: would-block after three whole 16 KiB records.
            (Some(-1), 2, 2),
            // A request during a pending write is accepted, not flushed by SSL_do_handshake...
            (Some(1), 2, 2),
            (Some(1), 2, 2),
            (Some(49152), 2, 2),
            // ...nor by the retry that completes the write...
            (Some(100000), 2, 2),
            (Some(50848), 2, 2),
            // ...but by the next SSL_write.
            (Some(10), 3, 2),
            (Some(10), 3, 3),
        ]
    );
}

/// The new-session callback fires for every ticket the server makes, as OpenSSL's does: a
/// ticket the record layer refuses (made during a pending application write, fatal) is not
/// issued but has notified.
#[test]
fn native_notifies_each_ticket_made_even_one_refused() {
    let program = "connect pha\nhandshake\nverify_client_post_handshake\nserver_write 71637\n\
                   new_session_ticket\nhandshake\nserver_read\nnew_session_ticket\n";
    let t = run("native", program);
    let f: Vec<_> = t.iter().map(|s| (s.ret, s.issued, s.notified)).collect();
    assert_eq!(
        f,
        [
            (Some(0), 0, 0),
            (Some(1), 2, 2),
            (Some(1), 2, 2),
            (Some(-1), 2, 2),
            (Some(1), 2, 2),
            (Some(1), 2, 2),
            // The queued request's ticket is made, notified, then refused: fatal.
            (Some(-1), 2, 3),
            (Some(0), 2, 3),
        ]
    );
    assert_eq!(t, run("openssl", program));
}

/// Version 2 rules the native server shares with the oracle, each program compared step by
/// step: stateful tickets, the decrypt callback's IGNORE (a full handshake with no ticket), a
/// fatal error taking the connection's stateful session out of the cache (found by the
/// fuzzer), key updates blocking ticket requests, a suite whose hash differs from the ticket's.
#[test]
fn native_agrees_with_the_oracle_on_version_2_rules() {
    for program in [
        "ctx_set_options no_ticket\nconnect\nhandshake\nconnect resume\nhandshake\n\
         ctx_set_session_cache_mode off\nconnect\nhandshake\nconnect resume\nhandshake\n",
        "connect\nhandshake\nctx_set_ticket_cb ok ignore\nconnect resume\nhandshake\n\
         ctx_set_ticket_cb fail use\nconnect\nhandshake\n",
        "ctx_set_options no_ticket\nconnect\nhandshake\nserver_write 65536\nserver_write 0\n\
         connect resume\nhandshake\n",
        "connect\nhandshake\nkey_update requested\nnew_session_ticket\nserver_write 0\n\
         new_session_ticket\nserver_read\nclient_read\nserver_read\n",
        "connect suites=TLS_AES_128_GCM_SHA256\nhandshake\n\
         connect resume suites=TLS_AES_256_GCM_SHA384\nhandshake\n",
    ] {
        let native = run("native", program);
        assert_eq!(native, run("openssl", program), "{program}");
        assert!(native.iter().any(|s| s.issued > 0), "{program}");
    }
}

/// Early data on the native server, step by step against the oracle: accepted and read
/// (EndOfEarlyData inside a read finishes the handshake), `SSL_read` between reads of early
/// data (uncounted), a full handshake, a state machine that ran before the first read (error),
/// rejection by `SSL_do_handshake` (skipped), the session's cipher protecting early data under
/// another negotiated suite, the client's plaintext close_notify in the handshake (0, then 0
/// for every later record), `SSL_shutdown` and `SSL_write` while early data is read, a failed
/// ticket callback after a resumption leaving the resumed session cached.
#[test]
fn native_agrees_with_the_oracle_on_early_data() {
    for program in [
        "ctx_set_max_early_data 4294967295\nconnect\nhandshake\nconnect resume early=20000\n\
         client_step\nserver_read_early\nserver_read\nserver_read\nclient_step\n\
         server_read_early\nserver_read\nhandshake\n",
        "ctx_set_max_early_data 100\nconnect\nhandshake\nconnect resume early=100\n\
         client_step\nserver_read_early\nclient_step\nclient_write 7\nserver_read_early\n\
         server_read_early\nserver_read\nhandshake\n",
        "ctx_set_max_early_data 100\nconnect\nhandshake\nconnect resume early=100\n\
         client_step\nserver_read_early\nclient_step\nclient_write 7\nserver_read\n\
         server_read_early\nhandshake\n",
        "connect\nhandshake\nconnect\nserver_read_early\nclient_step\nserver_read_early\n\
         server_read_early\nserver_write 3\nclient_step\nserver_step\nhandshake\n",
        "ctx_set_max_early_data 100\nconnect\nhandshake\nconnect resume early=100\n\
         client_step\nserver_step\nserver_read_early\nclient_step\nhandshake\n",
        "ctx_set_max_early_data 1000\nconnect suites=TLS_AES_128_GCM_SHA256\nhandshake\n\
         connect resume early=100 suites=TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256\n\
         client_step\nserver_read_early\nhandshake\n",
        "ctx_set_max_early_data 1000\nconnect\nhandshake\nconnect resume early=0\nclient_step\n\
         shutdown\nhandshake\nserver_do_handshake\nserver_do_handshake\n",
        "ctx_set_max_early_data 100\nconnect\nhandshake\nconnect resume early=100\n\
         client_step\nserver_read_early\nserver_write 5\nshutdown\nserver_read_early\n\
         client_step\nserver_read_early\nhandshake\n",
        "ctx_set_options no_ticket\nconnect\nhandshake\nconnect resume\n\
         ctx_set_ticket_cb fail abort\nhandshake\n\
         connect resume=again suites=TLS_AES_128_GCM_SHA256\nhandshake\n",
        // A bad write retry makes the client's session not resumable; its next early write
        // fails with a fatal alert after the ClientHello. A fatal alert received ends the
        // peer's side: the read that meets it fails (-1), every later read returns 0.
        "ctx_set_max_early_data 1\nconnect\nhandshake\nclient_write 100000\nclient_write 0\n\
         connect resume early=0\nclient_step\nclient_step\nserver_step\nserver_step\n\
         server_read\nserver_read\n",
        // `SSL_do_handshake` between two `SSL_read_early_data` calls: the next one meets
        // EndOfEarlyData and still returns 1-RTT data, and the one after that counts what it
        // reads against the early-data limit (here 1 byte) and fails.
        "ctx_set_max_early_data 1\nconnect\nhandshake\nconnect resume early=0\nclient_step\n\
         server_read_early\nserver_step\nclient_write 25000\nserver_read_early\n\
         server_read_early\n",
        // After that, with the handshake over, a handshake message met while
        // `SSL_read_early_data` reads is fatal: the answer to a CertificateRequest (no ticket
        // for it), and a KeyUpdate.
        "ctx_set_max_early_data 1\nconnect\nhandshake\nconnect resume pha early=0\n\
         client_step\nserver_read_early\nserver_do_handshake\nclient_write 1\n\
         server_read_early\nverify_client_post_handshake\nserver_read\nclient_read\n\
         server_read_early\nserver_write 1\nnew_session_ticket\n",
        "ctx_set_max_early_data 1\nconnect\nhandshake\nconnect resume early=0\nclient_step\n\
         server_read_early\nserver_do_handshake\nclient_write 1\nserver_read_early\n\
         key_update requested\nserver_do_handshake\nclient_read\nclient_write 1\n\
         server_read_early\nclient_read\nserver_do_handshake\n",
    ] {
        let native = run("native", program);
        assert_eq!(native, run("openssl", program), "{program}");
        assert!(native.iter().any(|s| s.issued > 0), "{program}");
    }
}

/// The corpus rule for accepted early data, as numbers: 100 bytes read, would-block until the
/// client's EndOfEarlyData, FINISH with the resumption's ticket written inside that call, then
/// errors; status accepted.
#[test]
fn native_reads_accepted_early_data() {
    let t = run(
        "native",
        "ctx_set_max_early_data 1000\nconnect\nhandshake\nconnect resume early=100\n\
         client_step\nserver_read_early\nserver_read_early\nclient_step\nserver_read_early\n\
         server_read_early\nhandshake\n",
    );
    let f: Vec<_> = t[3..]
        .iter()
        .map(|s| (s.ret, s.issued, s.resumed, s.early))
        .collect();
    use ticketdiff::trace::EarlyStatus::Accepted;
    assert_eq!(
        f,
        [
            (Some(1), 2, None, None),
            (Some(-1), 2, None, None),
            (Some(100), 2, None, None),
            (Some(-1), 2, None, None),
            (Some(1), 2, None, None),
            (Some(0), 3, Some(true), Some(Accepted)),
            (Some(-1), 3, Some(true), Some(Accepted)),
            (Some(1), 3, Some(true), Some(Accepted)),
        ]
    );
}
