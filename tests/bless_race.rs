//! `bless` never loses what is written to a file while it runs.

use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use ticketdiff::fsutil::{rewrite_unchanged, RewriteError};

#[test]
fn bless_refuses_a_file_appended_to_while_it_runs_and_keeps_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.tkt");
    std::fs::write(
        &path,
        "ctx_set_num_tickets 3\nconnect\nhandshake\nshutdown\n",
    )
    .unwrap();
    let bless = Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .arg("bless")
        .arg(&path)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // As `echo ... >> p.tkt` in a loop until bless is done: each line opens the file anew.
    let done = Arc::new(AtomicBool::new(false));
    let appender = {
        let (path, done) = (path.clone(), done.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !done.load(Ordering::Relaxed) {
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap();
                writeln!(f, "# appended {i}").unwrap();
                drop(f);
                i += 1;
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            i
        })
    };
    let out = bless.wait_with_output().unwrap();
    done.store(true, Ordering::Relaxed);
    let lines = appender.join().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let kept = (0..lines)
        .filter(|i| text.contains(&format!("# appended {i}\n")))
        .count();
    assert_eq!(kept, lines, "lines lost:\n{text}");
    // Appending goes on all the while bless runs its program: it sees the change.
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(!text.contains("# expect"), "blessed anyway:\n{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("changed while").count(), 1, "{stderr}");
}

#[test]
fn a_rewrite_of_a_file_that_changed_leaves_it_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.tkt");
    std::fs::write(&path, "connect\nmore\n").unwrap();
    let e = rewrite_unchanged(&path, b"connect\n", b"blessed\n").unwrap_err();
    assert!(matches!(e, RewriteError::Changed { .. }), "{e}");
    assert!(e.to_string().contains("changed while"), "{e}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "connect\nmore\n");
    rewrite_unchanged(&path, b"connect\nmore\n", b"blessed\n").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "blessed\n");
}
