//! `ticketdiff serve` as a process: the `--num-tickets` bound, and a stop by signal (the folder
//! removed, its key private while it existed).

use crate::support::{closed_within, ticketdiff, CliServer, Tls};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The permission bits in octal, as `ls` and `chmod` show them.
fn mode(path: &std::path::Path) -> String {
    format!(
        "{:o}",
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    )
}

#[test]
fn num_tickets_above_256_is_a_usage_error_and_256_are_issued() {
    let mut child = Command::new(ticketdiff())
        .args(["serve", "--addr", "127.0.0.1:0", "--num-tickets", "257"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`serve --num-tickets 257` is serving");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--num-tickets"), "{stderr}");
    assert!(stderr.contains("0..=256"), "{stderr}");

    let srv = CliServer::start(&["--num-tickets", "256"]);
    let mut c = Tls::connect(srv.addr, &srv.ca_cert()).unwrap();
    c.echo("after the tickets\n").unwrap();
    assert_eq!(c.tickets.load(Ordering::SeqCst), 256);
}

#[test]
fn a_signal_stops_the_command_and_removes_its_folder_whose_key_was_private() {
    for signal in ["TERM", "INT", "HUP"] {
        let mut srv = CliServer::start(&[]);
        let folder = srv.folder();
        assert_eq!(mode(&folder), "700", "{}", folder.display());
        assert_eq!(mode(&srv.key), "600", "{}", srv.key.display());
        assert!(srv.cert.is_file() && srv.ca.is_file());
        let mut c = Tls::connect(srv.addr, &srv.ca_cert()).unwrap();
        c.echo("hello\n").unwrap();

        srv.signal(signal);
        let status = srv.wait_exit(Duration::from_secs(10));
        assert_eq!(status.code(), Some(0), "SIG{signal}: {:?}", srv.seen);
        assert!(
            !folder.exists(),
            "SIG{signal}: {} left behind",
            folder.display()
        );
        assert!(
            closed_within(c.tcp(), Duration::from_secs(2)),
            "SIG{signal}: a connection outlived the server"
        );
        assert!(
            srv.seen
                .iter()
                .any(|l| l.starts_with("stopped: 1 accepted")),
            "{:?}",
            srv.seen
        );
    }
}
