//! Minimization, the divergence store, and the fuzz command.

use std::path::{Path, PathBuf};
use std::process::Command;
use ticketdiff::backend::BackendId;
use ticketdiff::finding::{Divergence, Finding, Found, Signature, Versions};
use ticketdiff::minimize::minimize;
use ticketdiff::program::{parse, Program};
use ticketdiff::replay::replay;
use ticketdiff::runner::{Extent, Runner};
use ticketdiff::store::{self, Saved, StoreError};

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn signature_on(runner: &mut Runner, p: &Program) -> Option<Signature> {
    runner
        .divergence_on(p, BackendId::Rustls)
        .map(|d| d.signature)
}

#[test]
fn minimization_keeps_the_signature_and_is_one_minimal() {
    let mut runner = Runner::new(&[BackendId::Rustls]).unwrap();
    let program = parse(
        "ctx_set_num_tickets 16\nctx_get_num_tickets\nconnect pha\nclient_write 100\nhandshake\n\
         get_num_tickets\nserver_read\nclient_read\nserver_write 300\nclient_read\n\
         connect resume pha\nset_num_tickets 5\nhandshake\nnew_session_ticket\nshutdown\n",
    )
    .unwrap();
    let key = signature_on(&mut runner, &program).expect("the program diverges");
    let small = minimize(&program, &mut |p: &Program| {
        signature_on(&mut runner, p) == Some(key)
    });
    assert_eq!(signature_on(&mut runner, &small), Some(key));
    assert!(small.len() < program.len() && small.len() <= 6, "{small}");
    for i in 0..small.len() {
        let mut fewer = small.clone();
        fewer.stmts.remove(i);
        let fewer = fewer.renumbered();
        assert_ne!(
            signature_on(&mut runner, &fewer),
            Some(key),
            "removing op {i} keeps the signature: not 1-minimal\n{small}"
        );
    }
    // Counts were simplified too: 16 tickets are not needed to show the resumption cap.
    assert!(!small.to_string().contains("16"), "{small}");
}

/// Saves a divergence as the fuzzer would, with placeholder versions.
fn save(dir: &Path, divergence: &Divergence, program: &Program) -> Result<Saved, StoreError> {
    store::save(
        dir,
        &Finding {
            divergence: divergence.clone(),
            program: program.clone(),
            versions: Versions {
                oracle_backend: BackendId::ORACLE,
                oracle: "OpenSSL test".into(),
                backend: "rustls test".into(),
            },
            found: Some(Found::now("test")),
            hits: None,
            file: None,
            new: None,
        },
    )
}

fn entry_for(runner: &mut Runner, text: &str) -> (Divergence, Program) {
    let p = parse(text).unwrap();
    let d = runner.divergence_on(&p, BackendId::Rustls).unwrap();
    (d, p)
}

#[test]
fn concurrent_writers_save_one_entry_per_signature_and_keep_the_shortest() {
    let dir = scratch();
    let dir = dir.path();
    let mut runner = Runner::new(&[BackendId::Rustls]).unwrap();
    let (d, short) = entry_for(&mut runner, "connect\nhandshake\nnew_session_ticket\n");
    // Each program with its own divergence (its line is another): an entry's `# line:` is
    // the op's in its own program.
    let (d_long, long) = entry_for(
        &mut runner,
        "get_num_tickets\nconnect\nhandshake\nget_num_tickets\nnew_session_ticket\n",
    );
    let outcomes: Vec<Saved> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let (d, program) = if i % 2 == 0 {
                    (&d_long, &long)
                } else {
                    (&d, &short)
                };
                s.spawn(move || save(dir, d, program).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(outcomes.iter().filter(|o| **o == Saved::New).count(), 1);
    let files: Vec<_> = std::fs::read_dir(dir)
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
    assert_eq!(
        entry.signature().to_string(),
        "rustls-new_session_ticket-ret-1-vs-0"
    );
    assert_eq!(entry.program, short, "the shorter reproducer wins");
    // A worse one never replaces it.
    let again = save(dir, &d_long, &long).unwrap();
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
    let dir = scratch();
    let dir = dir.path().to_path_buf();
    let mut runner = Runner::new(&[BackendId::Rustls]).unwrap();
    let (d, p) = entry_for(&mut runner, "connect\nhandshake\nnew_session_ticket\n");
    save(&dir, &d, &p).unwrap();
    let entry = store::entry_path(&dir, &d.signature);
    // An entry of the first format (a `# divergence:` sentence) still replays.
    write(
        &dir,
        "rustls-verify_client_post_handshake-ret-1-vs-0.tkt",
        "# signature: rustls-verify_client_post_handshake-ret-1-vs-0\n# backend: rustls\n\
         # versions: OpenSSL 3.0.19 27 Jan 2026 (oracle), rustls 0.23.46 (rustls)\n\
         # divergence: line 3 `verify_client_post_handshake`: ret is 1 on the oracle, 0 on rustls\n\
         # first found: 2026-11-27T08:05:48Z by ticketdiff fuzz\n\
         connect pha\nhandshake\nverify_client_post_handshake\n",
    );
    // An entry whose program no longer diverges: fixed.
    write(
        &dir,
        "rustls-handshake-ret-1-vs-0.tkt",
        "# signature: rustls-handshake-ret-1-vs-0\n# backend: rustls\n\
         # divergence: line 2 `handshake`: ret is 1 on the oracle, 0 on rustls\n\
         connect\nhandshake\n",
    );
    let reports = replay(std::slice::from_ref(&dir)).unwrap();
    assert_eq!(reports.len(), 3);
    let fixed = reports
        .iter()
        .find(|r| r.path.ends_with("rustls-handshake-ret-1-vs-0.tkt"))
        .unwrap();
    assert!(!fixed.passed());
    assert!(fixed.failures[0].contains("FIXED"), "{:?}", fixed.failures);
    assert!(fixed.failures[0].contains("now agrees with the oracle"));
    assert!(fixed.failures[0].contains("git rm"));
    for live in [
        entry,
        dir.join("rustls-verify_client_post_handshake-ret-1-vs-0.tkt"),
    ] {
        let live = reports.iter().find(|r| r.path == live).unwrap();
        assert!(live.passed(), "{:?}", live.failures);
        assert!(live.notes[0].starts_with("reproduces "), "{:?}", live.notes);
    }
}

#[test]
fn broken_entries_get_errors_naming_the_file_and_line() {
    let dir = scratch();
    let dir = dir.path().to_path_buf();
    let header = "# line: 1\n# op: connect\n# field: ret\n# oracle: 1\n# other: 0\n\
                  # oracle version: a\n# backend version: b\n";
    write(
        &dir,
        "a.tkt",
        &format!(
            "# signature: rustls-connect-ret-1-vs-0\n# backend: rustls\n{header}connect\nhandshak\n"
        ),
    );
    write(
        &dir,
        "b.tkt",
        &format!("# signature: rustls-connect-ret-1-vs-0\n{header}connect\n"),
    );
    write(
        &dir,
        "c.tkt",
        &format!("# signature: native-connect-ret-1-vs-0\n# backend: rustls\n{header}connect\n"),
    );
    write(
        &dir,
        "e.tkt",
        &format!("# signature: rustls-x-ret-1-vs-0\n# backend: rustls\n{header}connect\n"),
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
        failure("a.tkt").contains("a.tkt:11:1: unknown op `handshak`"),
        "{}",
        failure("a.tkt")
    );
    assert!(failure("b.tkt").contains("b.tkt:1: a saved divergence needs a `# backend:` header"));
    assert!(failure("c.tkt").contains(
        "c.tkt:1: signature `native-connect-ret-1-vs-0` does not belong to backend `rustls`"
    ));
    assert!(
        failure("d.tkt").contains("d.tkt:1:14: the file is not valid UTF-8 (found \\xff)"),
        "{}",
        failure("d.tkt")
    );
    assert!(
        failure("e.tkt")
            .contains("e.tkt:1: `# signature:` `rustls-x-ret-1-vs-0` is not a signature"),
        "{}",
        failure("e.tkt")
    );

    // The fuzzer never replaces an entry it cannot read.
    let mut runner = Runner::new(&[BackendId::Rustls]).unwrap();
    let (d, p) = entry_for(&mut runner, "connect\nhandshake\nnew_session_ticket\n");
    let path = write(
        &dir,
        "rustls-new_session_ticket-ret-1-vs-0.tkt",
        "# signature: garbled\n",
    );
    let err = save(&dir, &d, &p).unwrap_err();
    assert!(err.to_string().contains("not replaced"), "{err}");
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
    let dir = scratch();
    let dir = dir.path();
    let args = [
        "--runs",
        "150",
        "--seed",
        "7",
        "--backend",
        "rustls",
        "--jobs",
        "1",
        "--json",
    ];
    let (code, out) = fuzz(dir, &args);
    assert_eq!(code, 1, "new signatures were saved: {out}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(summary["programs"].as_u64().unwrap() >= 150);
    let saved: Vec<_> = std::fs::read_dir(dir)
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
        // The early-data findings need seven ops: connect, a handshake for the ticket, a
        // resumption with early data, the early read and what follows.
        assert!(entry.program.len() <= 8, "{}", path.display());
    }
    // The same seed explores the same programs: everything is known now.
    let (code, out) = fuzz(dir, &args);
    assert_eq!(code, 0, "{out}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["new_signatures"], 0);
    let again: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert_eq!(again.len(), saved.len());
}

#[test]
fn fuzz_exits_2_on_an_unknown_backend_or_a_broken_seed() {
    let dir = scratch();
    let (code, _) = fuzz(dir.path(), &["--runs", "1", "--backend", "gnutls"]);
    assert_eq!(code, 2);
    let seeds = scratch();
    std::fs::write(seeds.path().join("x.tkt"), "connect\nbogus\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .args(["fuzz", "--runs", "1", "--corpus"])
        .arg(seeds.path())
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("x.tkt:2:1: unknown op `bogus`"));
}

#[test]
fn fuzz_takes_a_libfuzzer_corpus_folder_as_seeds_decoded_as_the_target_decodes() {
    // As cargo-fuzz keeps them in fuzz/corpus/diff: inputs named by their SHA-1. One is a
    // program's text (how libFuzzer stores the `.tkt` seeds it was given), one is bytes the
    // target decodes structure-aware, and a README beside them is not an input.
    let seeds = scratch();
    std::fs::write(
        seeds
            .path()
            .join("da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        "connect pha\nhandshake\nverify_client_post_handshake\n",
    )
    .unwrap();
    let bytes: Vec<u8> = (0..200u8).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
    std::fs::write(
        seeds
            .path()
            .join("0123456789abcdef0123456789abcdef01234567"),
        &bytes,
    )
    .unwrap();
    std::fs::write(seeds.path().join("README.md"), "not a program\n").unwrap();
    let decoded = ticketdiff::fuzz::target::decode(&bytes);
    let expected = 1 + usize::from(!decoded.is_empty());

    let dir = scratch();
    let out = Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .args(["fuzz", "--runs", "2", "--seed", "3", "--jobs", "1"])
        .args(["--backend", "rustls", "--json", "--corpus"])
        .arg(seeds.path())
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{expected} seed programs")),
        "{stderr}"
    );
    // Seeds run first: the text input's divergence is found and saved on the first run.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let saved: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        saved.contains(&"rustls-verify_client_post_handshake-ret-1-vs-0.tkt".to_string()),
        "{saved:?}"
    );
}

#[test]
fn a_run_to_the_first_divergence_finds_the_same_divergences_and_stops_there() {
    let mut runner = Runner::new(&[BackendId::Rustls]).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("diff");
    let mut diverged = 0;
    for entry in store::read_dir(&dir).unwrap() {
        let finding = entry.unwrap();
        if finding.signature().backend() != BackendId::Rustls {
            continue;
        }
        let p = &finding.program;
        let whole = runner.run(p);
        let short = runner.run_to(p, Extent::ToDivergence);
        let (w, s) = (
            whole.get(BackendId::Rustls).unwrap(),
            short.get(BackendId::Rustls).unwrap(),
        );
        assert_eq!(w.divergence, s.divergence, "{p}");
        let (Some(wt), Some(st)) = (w.trace(), s.trace()) else {
            continue;
        };
        assert_eq!(wt.len(), p.len());
        assert_eq!(st[..], wt[..st.len()], "a prefix of the whole trace: {p}");
        if let Some(d) = &s.divergence {
            diverged += 1;
            assert_eq!(st.last().map(|step| step.line), Some(d.line), "{p}");
        }
    }
    assert!(
        diverged >= 10,
        "the rustls entries of diff/ diverge: {diverged}"
    );
}
