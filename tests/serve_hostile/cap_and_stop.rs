//! The connection cap, the library's stop, and the ticket bound of the accept loop.

use crate::support::{closed_within, loose, test_ca, LibServer, Tls};
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use ticketdiff::serve::{serve_listener, Limits, Stop, MAX_NUM_TICKETS};

#[test]
fn connection_over_the_cap_is_refused_while_the_others_keep_working() {
    let srv = LibServer::start(Limits {
        max_connections: 2,
        ..loose()
    });
    let ca = test_ca();
    let mut a = Tls::connect(srv.addr, &ca).unwrap();
    a.echo("a\n").unwrap();
    let mut b = Tls::connect(srv.addr, &ca).unwrap();
    b.echo("b\n").unwrap();

    let over = TcpStream::connect(srv.addr).unwrap();
    assert!(
        closed_within(&over, Duration::from_secs(5)),
        "a third connection over a cap of 2 still open 5 s later"
    );
    let refused = Tls::connect(srv.addr, &ca).err();
    assert!(refused.is_some(), "a TLS handshake over the cap succeeded");
    a.echo("a again\n").unwrap();
    b.echo("b again\n").unwrap();
    srv.wait_log(
        "refused: 2 connections open (the cap)",
        Duration::from_secs(2),
    );

    // A place is given back once the server saw the client go.
    drop(a);
    let mut c = Tls::connect_within(srv.addr, &ca, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("no place 5 s after a client left: {e}"));
    c.echo("c\n").unwrap();
    b.echo("b still\n").unwrap();
    let totals = srv.stop();
    assert!(totals.refused >= 2, "{totals:?}");
    assert_eq!(totals.spawn_errors, 0, "{totals:?}");
}

#[test]
fn stop_ends_the_accept_loop_and_shuts_open_connections_down() {
    let srv = LibServer::start(loose());
    let mut established = Tls::connect(srv.addr, &test_ca()).unwrap();
    established.echo("hello\n").unwrap();
    let mid_handshake = TcpStream::connect(srv.addr).unwrap();
    let totals = srv.stop();
    assert!(totals.accepted >= 1, "{totals:?}");
    assert!(
        closed_within(established.tcp(), Duration::from_secs(2)),
        "an established connection outlived the stop"
    );
    assert!(
        closed_within(&mid_handshake, Duration::from_secs(2)),
        "a connection in its handshake outlived the stop"
    );
    let after = TcpStream::connect(srv.addr);
    assert!(after.is_err(), "the listener still accepts after the stop");
    srv.wait_log("stopped: ", Duration::ZERO);
}

#[test]
fn ticket_count_above_the_bound_is_refused_by_the_library() {
    let config = crate::common::pki()
        .native_server_config([7u8; 32])
        .unwrap();
    config.set_num_tickets(MAX_NUM_TICKETS + 1);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stop = Stop::new();
    let stop_c = stop.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(serve_listener(
            listener,
            Arc::new(config),
            loose(),
            Arc::new(|_| {}),
            stop_c,
        ));
    });
    let Ok(served) = rx.recv_timeout(Duration::from_secs(5)) else {
        stop.stop();
        panic!("serving with 257 tickets per handshake");
    };
    let err = served.expect_err("257 tickets per handshake accepted");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("at most 256"), "{err}");
}
