//! Minimization, the divergence store, and the fuzz command.

use std::path::{Path, PathBuf};
use std::process::Command;
use ticketdiff::diff::first_divergence;
use ticketdiff::minimize::minimize;
use ticketdiff::program::{parse, Program};
use ticketdiff::replay::replay;
use ticketdiff::runner::Runner;
use ticketdiff::store::{self, NewEntry, Saved};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ticketdiff-fz-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn signature_on(runner: &mut Runner, p: &Program) -> Option<String> {
    runner.divergence_on(p, "rustls").map(|d| d.signature.key())
}

#[test]
fn minimization_keeps_the_signature_and_is_one_minimal() {
    let mut runner = Runner::new(&["rustls"]).unwrap();
    let program = parse(
        "ctx_set_num_tickets 16\nctx_get_num_tickets\nconnect pha\nclient_write 100\nhandshake\n\
         get_num_tickets\nserver_read\nclient_read\nserver_write 300\nclient_read\n\
         connect resume pha\nset_num_tickets 5\nhandshake\nnew_session_ticket\nshutdown\n",
    )
    .unwrap();
    let key = signature_on(&mut runner, &program).expect("the program diverges");
    let small = minimize(&program, &mut |p: &Program| {
        signature_on(&mut runner, p).as_deref() == Some(key.as_str())
    });
    assert_eq!(
        signature_on(&mut runner, &small).as_deref(),
        Some(key.as_str())
    );
    assert!(small.len() < program.len() && small.len() <= 6, "{small}");
    for i in 0..small.len() {
        let mut fewer = small.clone();
        fewer.stmts.remove(i);
        let fewer = fewer.renumbered();
        assert_ne!(
            signature_on(&mut runner, &fewer).as_deref(),
            Some(key.as_str()),
            "removing op {i} keeps the signature: not 1-minimal\n{small}"
        );
    }
    // Counts were simplified too: 16 tickets are not needed to show the resumption cap.
    assert!(!small.to_string().contains("16"), "{small}");
}

/// Saves a divergence as the fuzzer would, with placeholder versions.
fn save(
    dir: &Path,
    divergence: &ticketdiff::diff::Divergence,
    program: &Program,
) -> std::io::Result<Saved> {
    store::save(
        dir,
        &NewEntry {
            divergence,
            program,
            oracle_version: "OpenSSL test",
            backend_version: "rustls test",
            found_by: "test",
        },
    )
}

fn entry_for(runner: &mut Runner, text: &str) -> (ticketdiff::diff::Divergence, Program) {
    let p = parse(text).unwrap();
    let oracle = runner.oracle().run(&p);
    let other = runner.backend("rustls").unwrap().run(&p);
    (first_divergence(&oracle, &other, "rustls").unwrap(), p)
}

#[test]
fn concurrent_writers_save_one_entry_per_signature_and_keep_the_shortest() {
    let dir = scratch("concurrent");
    let mut runner = Runner::new(&["rustls"]).unwrap();
    let (d, short) = entry_for(&mut runner, "connect\nhandshake\nnew_session_ticket\n");
    let (_, long) = entry_for(
        &mut runner,
        "get_num_tickets\nconnect\nhandshake\nget_num_tickets\nnew_session_ticket\n",
    );
    let outcomes: Vec<Saved> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let (d, dir) = (&d, &dir);
                let program = if i % 2 == 0 { &long } else { &short };
                s.spawn(move || save(dir, d, program).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(outcomes.iter().filter(|o| **o == Saved::New).count(), 1);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        files.len(),
        1,
        "one entry, no temporary files left: {files:?}"
    );
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let entry = store::read_entry(&files[0], &text).unwrap();
    assert_eq!(entry.signature, "rustls-new_session_ticket-ret-1-vs-0");
    assert_eq!(
        entry.program.renumbered(),
        short,
        "the shorter reproducer wins"
    );
    // A worse one never replaces it.
    let again = save(&dir, &d, &long).unwrap();
    assert_eq!(again, Saved::Kept);
    assert_eq!(std::fs::read_to_string(&files[0]).unwrap(), text);
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn replay_checks_saved_entries_and_reports_fixed_ones() {
    let dir = scratch("replay");
    let mut runner = Runner::new(&["rustls"]).unwrap();
    let (d, p) = entry_for(&mut runner, "connect\nhandshake\nnew_session_ticket\n");
    save(&dir, &d, &p).unwrap();
    // An entry whose program no longer diverges: fixed.
    write(
        &dir,
        "rustls-handshake-ret-1-vs-0.tkt",
        "# signature: rustls-handshake-ret-1-vs-0\n# backend: rustls\nconnect\nhandshake\n",
    );
    let reports = replay(std::slice::from_ref(&dir)).unwrap();
    assert_eq!(reports.len(), 2);
    let fixed = reports
        .iter()
        .find(|r| r.path.ends_with("rustls-handshake-ret-1-vs-0.tkt"))
        .unwrap();
    assert!(!fixed.passed());
    assert!(fixed.failures[0].contains("FIXED"), "{:?}", fixed.failures);
    assert!(fixed.failures[0].contains("now agrees with the oracle"));
    assert!(fixed.failures[0].contains("git rm"));
    let live = reports
        .iter()
        .find(|r| r.path.ends_with("rustls-new_session_ticket-ret-1-vs-0.tkt"))
        .unwrap();
    assert!(live.passed(), "{:?}", live.failures);
}

#[test]
fn broken_entries_get_errors_naming_the_file_and_line() {
    let dir = scratch("broken");
    write(
        &dir,
        "a.tkt",
        "# signature: rustls-x-ret-1-vs-0\n# backend: rustls\nconnect\nhandshak\n",
    );
    write(&dir, "b.tkt", "# signature: rustls-x-ret-1-vs-0\nconnect\n");
    write(
        &dir,
        "c.tkt",
        "# signature: native-x-ret-1-vs-0\n# backend: rustls\nconnect\n",
    );
    std::fs::write(dir.join("d.tkt"), b"# signature: \xff\n").unwrap();
    let reports = replay(std::slice::from_ref(&dir)).unwrap();
    let failure = |name: &str| {
        reports
            .iter()
            .find(|r| r.path.ends_with(name))
            .unwrap()
            .failures
            .join("\n")
    };
    assert!(
        failure("a.tkt").contains("a.tkt:4:1: unknown op `handshak`"),
        "{}",
        failure("a.tkt")
    );
    assert!(failure("b.tkt").contains("b.tkt:1: a saved divergence needs a `# backend:` header"));
    assert!(failure("c.tkt")
        .contains("c.tkt:1: signature `native-x-ret-1-vs-0` does not belong to backend `rustls`"));
    assert!(failure("d.tkt").contains("d.tkt: the file is not valid UTF-8"));

    // The fuzzer never replaces an entry it cannot read.
    let mut runner = Runner::new(&["rustls"]).unwrap();
    let (d, p) = entry_for(&mut runner, "connect\nhandshake\nnew_session_ticket\n");
    let path = write(
        &dir,
        "rustls-new_session_ticket-ret-1-vs-0.tkt",
        "# signature: garbled\n",
    );
    let err = save(&dir, &d, &p).unwrap_err();
    assert!(err.to_string().contains("cannot be read back"), "{err}");
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        "# signature: garbled\n"
    );
}

fn fuzz(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .arg("fuzz")
        .args(args)
        .arg("--out")
        .arg(dir)
        .arg("--corpus")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn fuzz_saves_new_signatures_once_and_a_second_run_adds_no_duplicate() {
    let dir = scratch("fuzzcmd");
    let args = [
        "--runs",
        "150",
        "--seed",
        "7",
        "--backend",
        "rustls",
        "--json",
    ];
    let (code, out) = fuzz(&dir, &args);
    assert_eq!(code, 1, "new signatures were saved: {out}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(summary["programs"].as_u64().unwrap() >= 150);
    let saved: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!saved.is_empty());
    assert_eq!(
        saved.len() as u64,
        summary["new_signatures"].as_u64().unwrap()
    );
    for path in &saved {
        let text = std::fs::read_to_string(path).unwrap();
        let entry = store::read_entry(path, &text).unwrap();
        assert!(entry.program.len() <= 6, "{}", path.display());
    }
    // The same seed explores the same programs: everything is known now.
    let (code, out) = fuzz(&dir, &args);
    assert_eq!(code, 0, "{out}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["new_signatures"], 0);
    let again: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(again.len(), saved.len());
}

#[test]
fn fuzz_exits_2_on_an_unknown_backend_or_a_broken_seed() {
    let dir = scratch("fuzzbad");
    let (code, _) = fuzz(&dir, &["--runs", "1", "--backend", "gnutls"]);
    assert_eq!(code, 2);
    let seeds = scratch("fuzzbadseeds");
    std::fs::write(seeds.join("x.tkt"), "connect\nbogus\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .args(["fuzz", "--runs", "1", "--corpus"])
        .arg(&seeds)
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("x.tkt:2:1: unknown op `bogus`"));
}
