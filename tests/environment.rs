//! `TICKETDIFF_*` variables: a value out of its range is refused at the start of every
//! command, with exit code 2 and one line naming the variable and what it accepts (see
//! `docs/environment.md`), never taken silently as the default.

use std::path::Path;
use std::process::{Command, Output};

fn ticketdiff(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .expect("runs")
}

const PROGRAM: &str = "connect\nhandshake\nnew_session_ticket\nserver_write 1\nshutdown\n";

/// Every `TICKETDIFF_*` value out of its range: exit 2, one line naming the variable.
#[test]
fn bad_environment_values_exit_2_naming_the_variable() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.tkt"), PROGRAM).unwrap();
    let cases = [
        (
            "TICKETDIFF_WORKER_TIMEOUT_MS",
            "18446744073709551615",
            "out of range",
        ),
        ("TICKETDIFF_WORKER_TIMEOUT_MS", "abc", "not a whole number"),
        ("TICKETDIFF_WORKER_TIMEOUT_MS", "-5", "not a whole number"),
        ("TICKETDIFF_WORKER_TIMEOUT_MS", "10s", "not a whole number"),
        ("TICKETDIFF_WORKER_TIMEOUT_MS", "0", "out of range"),
        ("TICKETDIFF_WORKER_TIMEOUT_MS", "3600001", "out of range"),
        ("TICKETDIFF_WORKER_DIR", "", "empty"),
        ("TICKETDIFF_DIFF_DIR", "", "empty"),
        ("TICKETDIFF_BACKENDS", "openssl,nope", "no backend `nope`"),
        ("TICKETDIFF_ABORT_ON_NEW", "yes", "not `1`"),
    ];
    for (var, value, problem) in cases {
        let done = ticketdiff(&["run", "p.tkt"], tmp.path(), &[(var, value)]);
        let stderr = String::from_utf8_lossy(&done.stderr);
        let line = stderr.trim_end();
        assert_eq!(done.status.code(), Some(2), "{var}={value}: {line}");
        assert!(
            line.starts_with(&format!("ticketdiff: {var}: {problem}"))
                && line.contains("; expected ")
                && !line.contains('\n'),
            "{var}={value}: {line}"
        );
    }
    // In range: runs.
    let done = ticketdiff(
        &["run", "p.tkt"],
        tmp.path(),
        &[
            ("TICKETDIFF_WORKER_TIMEOUT_MS", "3600000"),
            ("TICKETDIFF_ABORT_ON_NEW", "1"),
        ],
    );
    assert!(
        done.stderr.is_empty() && done.status.code() != Some(2),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}
