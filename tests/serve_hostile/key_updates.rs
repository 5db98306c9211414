//! A client that sends 100,000 KeyUpdates, each asking for one back.

use super::support::CliServer;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use ticketdiff::native::msgs::{content, hs};
use ticketdiff::native::suites::TLS_AES_128_GCM_SHA256;
use ticketdiff::testing::client_hello::{
    client_hello, plain_record, records, server_key_share, standard_exts, Eph,
};
use ticketdiff::testing::mini_client::Mini;

const KEY_UPDATES: u64 = 100_000;

/// The peak resident memory of a process, from /proc.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn a_hundred_thousand_requested_key_updates_are_each_answered_in_bounded_memory() {
    let mut srv = CliServer::start(&[]);
    let mut tcp = TcpStream::connect(srv.addr).unwrap();
    let eph = Eph::x25519();
    let ch = client_hello(
        &[TLS_AES_128_GCM_SHA256.id],
        &[],
        &[0],
        &standard_exts(&eph.public),
    );
    tcp.write_all(&plain_record(content::HANDSHAKE, &ch))
        .unwrap();
    // The server's flight: everything it sends before it waits for the client.
    tcp.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut flight = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n @ 1..) = tcp.read(&mut buf) {
        flight.extend_from_slice(&buf[..n]);
    }
    let server_pub = server_key_share(&records(&flight)[0].1).expect("a ServerHello");
    let shared = ring::agreement::agree_ephemeral(
        eph.private,
        &ring::agreement::UnparsedPublicKey::new(&ring::agreement::X25519, &server_pub),
        |s| s.to_vec(),
    )
    .unwrap();
    let mut mini = Mini::from_flight(&ch, &flight, None, &shared);
    let fin = mini.finished();
    let mut out = mini.seal(content::HANDSHAKE, &fin);
    mini.use_app_keys();
    // Whatever the server answers is read and dropped, so that its writes never block.
    let mut reader = tcp.try_clone().unwrap();
    reader.set_read_timeout(None).unwrap();
    let drained = std::thread::spawn(move || {
        let mut total = 0u64;
        let mut buf = [0u8; 64 * 1024];
        while let Ok(n @ 1..) = reader.read(&mut buf) {
            total += n as u64;
        }
        total
    });
    for _ in 0..KEY_UPDATES {
        out.extend(mini.seal(content::HANDSHAKE, &[hs::KEY_UPDATE, 0, 0, 1, 1]));
        mini.write = mini.write.updated();
        if out.len() > 64 * 1024 {
            tcp.write_all(&out).unwrap();
            out.clear();
        }
    }
    // close_notify.
    out.extend(mini.seal(content::ALERT, &[1, 0]));
    tcp.write_all(&out).unwrap();
    let peer = tcp.local_addr().unwrap();
    let closed = srv.wait_line(&format!("{peer}: closed; "), Duration::from_secs(120));
    assert!(
        closed.ends_with(&format!("key_updates_received={KEY_UPDATES}")),
        "{closed}\n{:?}",
        srv.seen
    );
    let peak = peak_rss_kib(srv.pid());
    eprintln!("serve: peak RSS {peak} kB after {KEY_UPDATES} KeyUpdates");
    drop(tcp);
    // Each answer is a KeyUpdate record of 27 bytes.
    assert!(drained.join().unwrap() >= KEY_UPDATES * 27);
    assert!(peak < 64 * 1024, "serve peaked at {peak} kB");
    srv.signal("TERM");
    assert_eq!(srv.wait_exit(Duration::from_secs(10)).code(), Some(0));
}
