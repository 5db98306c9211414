//! The handshake deadline, the idle timeout and the write timeout.

use crate::support::{closed_within, loose, test_ca, LibServer, Tls};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};
use ticketdiff::serve::Limits;

#[test]
fn idle_connection_is_closed_after_the_idle_timeout() {
    let idle = Duration::from_millis(300);
    let srv = LibServer::start(Limits {
        idle_timeout: idle,
        ..loose()
    });
    let mut c = Tls::connect(srv.addr, &test_ca()).unwrap();
    // Taken before the echo: the server's idle clock starts when it reads the last byte,
    // which is after this, so it never closes before `idle` has passed since here.
    let quiet_since = Instant::now();
    c.echo("hello\n").unwrap();
    assert!(
        closed_within(c.tcp(), Duration::from_secs(5)),
        "an idle connection is still open 5 s later (idle timeout {idle:?})"
    );
    assert!(quiet_since.elapsed() >= idle, "closed before the timeout");
    srv.wait_log("idle for 300ms, closed", Duration::from_secs(2));
}

#[test]
fn silent_and_trickling_clients_are_closed_at_the_handshake_deadline() {
    let srv = LibServer::start(Limits {
        handshake_timeout: Duration::from_millis(500),
        ..loose()
    });
    let silent = TcpStream::connect(srv.addr).unwrap();
    // A record header announcing 512 bytes, then one byte every 50 ms: each read gets
    // something, so only a deadline for the whole handshake ends it.
    let mut trickle = TcpStream::connect(srv.addr).unwrap();
    trickle.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).unwrap();
    let start = Instant::now();
    let trickle_closed = loop {
        if start.elapsed() > Duration::from_secs(5) {
            break false;
        }
        if trickle.write_all(&[0]).is_err() || closed_within(&trickle, Duration::from_millis(50)) {
            break true;
        }
    };
    assert!(
        trickle_closed,
        "a client sending a byte every 50 ms still connected 5 s later (deadline 500 ms)"
    );
    assert!(
        closed_within(&silent, Duration::from_secs(5)),
        "a silent client still connected 5 s later (deadline 500 ms)"
    );
    let logs = srv.logs();
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains("no handshake within 500ms, closed"))
            .count(),
        2,
        "{logs:?}"
    );
}

#[test]
fn client_that_sends_but_never_reads_is_dropped_after_the_write_timeout() {
    let srv = LibServer::start(Limits {
        write_timeout: Duration::from_millis(300),
        ..loose()
    });
    let mut c = Tls::connect(srv.addr, &test_ca()).unwrap();
    c.echo("hello\n").unwrap();
    // Send until the socket buffers both ways are full (the server blocked writing its echo,
    // so it stopped reading), never reading the echo.
    c.tcp()
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let chunk = vec![b'x'; 16 * 1024];
    let mut sent = 0usize;
    while c.stream.write_all(&chunk).is_ok() {
        sent += chunk.len();
        assert!(
            sent < 512 << 20,
            "512 MiB sent without blocking: the server reads without echoing?"
        );
    }
    srv.wait_log("write timed out after 300ms", Duration::from_secs(10));
    assert!(
        closed_within(c.tcp(), Duration::from_secs(10)),
        "the server logged the timeout but kept the connection"
    );
}
