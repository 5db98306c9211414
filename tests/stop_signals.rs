//! The long-running commands stop on SIGINT, SIGTERM and SIGHUP as at their own end: with
//! their summary, never killed by the signal (`serve`'s are in tests/serve_hostile).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn fuzz_stops_with_its_summary_on_each_stop_signal() {
    for signal in ["INT", "TERM", "HUP"] {
        let store = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
            .args([
                "fuzz",
                "--time",
                "600",
                "--jobs",
                "1",
                "--backend",
                "native",
            ])
            .arg("--out")
            .arg(store.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The first line comes after the handlers are in place.
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        stderr.read_line(&mut first).unwrap();
        assert!(first.starts_with("ticketdiff fuzz: seed"), "{first}");
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let sent = Command::new("kill")
            .args(["-s", signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("SIG{signal}: fuzz still running 60 s later");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stdout = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
        assert!(
            matches!(status.code(), Some(0 | 1)),
            "SIG{signal}: {status:?}, stdout: {stdout}"
        );
        assert!(stdout.contains(" programs in "), "SIG{signal}: {stdout}");
    }
}
