//! `ticketdiff serve` out of resources, in a child process given low limits by `prlimit`: out of
//! file descriptors `accept` fails, out of address space a thread cannot be started. Either
//! failure repeats at once while the cause lasts, so the server must pause, log once, and serve
//! again when resources are back.

use crate::support::{CliServer, Tls};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

/// `ticketdiff serve`, with a handshake timeout that outlasts the case, once `prlimit` gave it
/// `limit(its VmSize in bytes)` (e.g. `--nofile=24`).
fn limited_server(limit: impl FnOnce(u64) -> String) -> CliServer {
    // One malloc arena: a thread's first allocation would otherwise reserve a 64 MiB arena of
    // its own, and whether that happened before the address space was measured depended on
    // the machine's load (the address-space test then failed on a loaded machine only).
    let mut cmd = Command::new(crate::support::ticketdiff());
    cmd.args([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--handshake-timeout",
        "60",
    ])
    .env("MALLOC_ARENA_MAX", "1");
    let srv = CliServer::spawn(cmd);
    let status = std::fs::read_to_string(format!("/proc/{}/status", srv.pid())).unwrap();
    let vm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .expect("VmSize");
    let limit = limit(vm_kib * 1024);
    let set = Command::new("prlimit")
        .args(["--pid", &srv.pid().to_string(), &limit])
        .status()
        .expect("prlimit (util-linux)");
    assert!(set.success(), "prlimit {limit}");
    srv
}

/// Holds 40 silent connections for 2 s, closes them, then waits until a handshake succeeds;
/// returns the server's output once SIGTERM stopped it.
fn exhaust_then_recover(mut srv: CliServer) -> Vec<String> {
    let clients: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(srv.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    drop(clients);
    // The longest pause is a second.
    let ca = srv.ca_cert();
    let mut c = Tls::connect_within(srv.addr, &ca, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("not serving 30 s after the connections closed: {e}"));
    c.echo("hello\n").unwrap();
    drop(c);
    srv.signal("TERM");
    let status = srv.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{:?}", srv.seen);
    srv.seen.clone()
}

/// The `N what` count of the `stopped:` line.
fn stopped_count(out: &[String], what: &str) -> u64 {
    let stopped = out
        .iter()
        .find(|l| l.starts_with("stopped: "))
        .unwrap_or_else(|| panic!("no stopped line: {out:?}"));
    stopped
        .split([',', ';'])
        .find_map(|part| part.trim().strip_suffix(what))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {what:?} in {stopped}"))
}

/// A spinning loop fails hundreds of thousands of times in 2 s; pauses doubling from 10 ms to
/// 1 s allow about 8, and the log gets one line.
fn assert_backed_off(out: &[String], line_start: &str, what: &str) {
    let lines: Vec<&String> = out.iter().filter(|l| l.starts_with(line_start)).collect();
    let stopped = out.iter().find(|l| l.starts_with("stopped: "));
    assert_eq!(lines.len(), 1, "{lines:?} {stopped:?}");
    let failures = stopped_count(out, what);
    assert!((1..=30).contains(&failures), "{failures} {what}");
}

#[test]
fn accept_out_of_descriptors_backs_off_instead_of_spinning() {
    // 24 descriptors: about 16 connections fit, then accept fails with EMFILE, and would fail
    // again at once, the other connections staying queued, until some are closed.
    let out = exhaust_then_recover(limited_server(|_| "--nofile=24".into()));
    assert_backed_off(&out, "accept failed", "accept errors");
    assert!(
        out.iter().any(|l| l.contains("Too many open files")),
        "{out:?}"
    );
}

#[test]
fn thread_that_cannot_start_is_survived() {
    // The address space the server has, plus room for a few 2 MiB thread stacks.
    let out = exhaust_then_recover(limited_server(|vm| format!("--as={}", vm + (24 << 20))));
    assert_backed_off(&out, "cannot start a thread", "thread errors");
}
