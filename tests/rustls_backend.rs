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
