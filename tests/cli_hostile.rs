//! The command line against hostile or mistaken use (issue 12): every command exits non-zero
//! when it could not do what was asked, checks what it will need before it starts, and never
//! turns a saved entry into something else.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn ticketdiff(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("runs")
}

use common::ticketdiff_within;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

const ENTRY: &str = "diff/rustls-new_session_ticket-ret-1-vs-0.tkt";

#[test]
fn jobs_out_of_range_is_a_usage_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    for jobs in ["0", "257", "100000", "many"] {
        let out = ticketdiff(&["fuzz", "--runs", "1", "--jobs", jobs], tmp.path());
        assert_eq!(
            out.status.code(),
            Some(2),
            "--jobs {jobs}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        assert!(stderr(&out).contains("--jobs"), "{}", stderr(&out));
    }
}

#[test]
fn fuzz_checks_where_it_saves_before_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file"), "").unwrap();
    for out_dir in ["file", "file/below"] {
        // An hour of fuzzing asked for: only an early check ends it in time.
        let out = ticketdiff_within(
            &["fuzz", "--time", "3600", "--out", out_dir],
            tmp.path(),
            Duration::from_secs(60),
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("{out_dir}: cannot save findings there")),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_corpus_or_baseline_that_is_not_there_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ticketdiff(
        &[
            "fuzz",
            "--runs",
            "1",
            "--corpus",
            "/nonexistent",
            "--out",
            "d",
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("/nonexistent: no such file or directory"));

    let out = ticketdiff(&["report", "diff", "--baseline", "/nonexistent"], root());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("/nonexistent: the baseline is not a directory"));
}

#[test]
fn nothing_to_replay_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ticketdiff(&["replay"], tmp.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing to replay"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_full_disk_on_standard_output_is_an_error_for_every_command() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("skipped: no /dev/full");
        return;
    };
    for args in [
        &["report", "diff"][..],
        &["report", "diff", "--format", "json"],
        &["run", "corpus/default-two-tickets-after-full-handshake.tkt"],
        &["decode", ENTRY],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
            .args(args)
            .current_dir(root())
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("No space left on device"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_run_compared_with_nothing_does_not_say_all_agree() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.tkt"), "connect tls12\nhandshake\n").unwrap();
    let out = ticketdiff(&["run", "--backend", "native", "p.tkt"], tmp.path());
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // With another backend that runs it, the program was compared.
    let out = ticketdiff(&["run", "--backend", "native,rustls", "p.tkt"], tmp.path());
    assert_ne!(out.status.code(), Some(3), "{}", stderr(&out));
    // The oracle alone was asked for: nothing to compare, nothing claimed.
    let out = ticketdiff(&["run", "--backend", "openssl", "p.tkt"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn minimize_writes_an_entry_over_an_entry_and_never_a_program() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "rustls-new_session_ticket-ret-1-vs-0.tkt";
    let entry = tmp.path().join(name);
    std::fs::copy(root().join(ENTRY), &entry).unwrap();
    let before = std::fs::read_to_string(&entry).unwrap();

    // A longer program of the same signature, minimized onto the entry: an entry again.
    let long = tmp.path().join("long.tkt");
    let long_entry = before
        .replace(
            "connect\nhandshake\n",
            "get_num_tickets\nconnect\nhandshake\nget_num_tickets\n",
        )
        .replace("# line: 3\n", "# line: 5\n");
    std::fs::write(&long, &long_entry).unwrap();
    let out = ticketdiff(&["minimize", "long.tkt", "-o", name], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = std::fs::read_to_string(&entry).unwrap();
    let f = ticketdiff::store::read_entry(&entry, &after).unwrap();
    assert_eq!(
        f.signature().to_string(),
        "rustls-new_session_ticket-ret-1-vs-0"
    );
    assert_eq!(
        f.program.to_string(),
        "connect\nhandshake\nnew_session_ticket\n"
    );
    assert!(after.contains("# first found: 2026-"), "{after}");
    let out = ticketdiff(&["replay", name], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // A plain program never lands on an entry.
    std::fs::write(
        tmp.path().join("p.tkt"),
        "connect\nhandshake\nnew_session_ticket\n",
    )
    .unwrap();
    let out = ticketdiff(&["minimize", "p.tkt", "-o", name], tmp.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{name}: is a saved divergence")),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&entry).unwrap(), after);
}

#[test]
fn stale_temporaries_are_removed_by_fuzz_and_noted_by_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    std::fs::create_dir(&store).unwrap();
    // No process has a PID this high (pid_max is at most 2^22).
    let stale = store.join(".ticketdiff-99999999-abcdef.tmp");
    std::fs::write(&stale, "half an entry").unwrap();
    let out = ticketdiff(&["replay", "store"], tmp.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("left by a writer that died"), "{stdout}");
    // Noted, not replayed: the count is of the files that were.
    assert!(stdout.contains("replayed 0 files"), "{stdout}");
    assert!(stale.exists());
    let out = ticketdiff(
        &[
            "fuzz",
            "--runs",
            "1",
            "--backend",
            "native",
            "--out",
            "store",
        ],
        tmp.path(),
    );
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", stderr(&out));
    assert!(stderr(&out).contains("removed"), "{}", stderr(&out));
    assert!(!stale.exists());
}

#[test]
fn one_signature_under_two_names_is_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    std::fs::create_dir(&store).unwrap();
    std::fs::copy(
        root().join(ENTRY),
        store.join("rustls-new_session_ticket-ret-1-vs-0.tkt"),
    )
    .unwrap();
    std::fs::copy(root().join(ENTRY), store.join("copy.tkt")).unwrap();
    let out = ticketdiff(&["replay", "store"], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "copy.tkt:1: signature `rustls-new_session_ticket-ret-1-vs-0` is saved twice"
        ),
        "{stdout}"
    );
    let out = ticketdiff(&["report", "store"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is saved twice"), "{}", stderr(&out));
    let out = ticketdiff(
        &[
            "fuzz",
            "--runs",
            "1",
            "--backend",
            "native",
            "--out",
            "store",
        ],
        tmp.path(),
    );
    assert!(stderr(&out).contains("warning: "), "{}", stderr(&out));
}

#[test]
fn devices_and_fifos_are_refused_at_once_by_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("fifo.tkt");
    common::mkfifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    for args in [
        &["run", "/dev/zero"][..],
        &["run", fifo],
        &["bless", fifo],
        &["minimize", fifo],
        &["decode", fifo],
        &["decode", "/dev/zero"],
        &["replay", fifo],
    ] {
        let out = ticketdiff_within(args, tmp.path(), Duration::from_secs(30));
        let code = out.status.code();
        // replay reports a file it cannot read as a failed file (1); the others as an error (2).
        assert!(matches!(code, Some(1 | 2)), "{args:?}: {code:?}");
        let all = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
        assert!(
            all.contains("only regular files are read"),
            "{args:?}: {all}"
        );
    }
}

#[test]
fn bless_keeps_line_endings_links_and_refuses_read_only_files() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("crlf.tkt"), "connect\r\nhandshake\r\n").unwrap();
    let out = ticketdiff(&["bless", "crlf.tkt"], dir);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.join("crlf.tkt")).unwrap();
    assert_eq!(text.matches("\r\n").count(), 2, "{text:?}");
    let release = ticketdiff::expect::Release::of_version(openssl::version::version()).unwrap();
    let mark = match release.as_str() {
        ticketdiff::expect::BASE_RELEASE => "# expect ret=1".to_string(),
        other => format!("# expect[{other}] ret=1"),
    };
    assert!(text.contains(&mark), "{text:?}");

    std::fs::write(dir.join("target.tkt"), "connect\nhandshake\n").unwrap();
    std::os::unix::fs::symlink("target.tkt", dir.join("link.tkt")).unwrap();
    let out = ticketdiff(&["bless", "link.tkt"], dir);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(dir.join("link.tkt"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(dir.join("target.tkt"))
        .unwrap()
        .contains("# expect"));

    let ro = dir.join("ro.tkt");
    std::fs::write(&ro, "connect\n").unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = ticketdiff(&["bless", "ro.tkt"], dir);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&ro).unwrap(), "connect\n");
    assert_eq!(
        std::fs::metadata(&ro).unwrap().permissions().mode() & 0o777,
        0o444
    );
}
