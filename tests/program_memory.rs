//! The memory one valid program can take is bounded: the client keeps only the tickets a
//! later `connect resume` can still take, not every ticket it received.

use std::process::Command;

/// A data-segment limit far below what keeping every ticket takes (51,200 tickets, two
/// sessions each: about 140 MB) and far above what the run needs without them (about 11 MB
/// resident for the release build).
const DATA_LIMIT: u64 = 64 << 20;

#[test]
fn a_program_receiving_fifty_thousand_tickets_runs_in_64_mib() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tickets.tkt");
    let text = format!(
        "ctx_set_num_tickets 256\n{}",
        "connect\nhandshake\n".repeat(200)
    );
    std::fs::write(&path, text).unwrap();
    // The oracle alone: every backend runs with the same client.
    let out = Command::new("prlimit")
        .arg(format!("--data={DATA_LIMIT}"))
        .arg(env!("CARGO_BIN_EXE_ticketdiff"))
        .args(["run", "--json", "--backend", "openssl"])
        .arg(&path)
        .output()
        .expect("prlimit (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    let last = String::from_utf8_lossy(&out.stdout);
    assert!(
        last.contains(r#""op":"handshake","ret":1,"issued":51200,"received":51200"#),
        "{last}"
    );
}
