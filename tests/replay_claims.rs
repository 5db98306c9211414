//! `replay` holds a saved entry to what its header claims (issue 21, items 4, 5, 9 and the
//! `# rerun:` line): each claim against the divergence it measures on the real backend, and an
//! entry it cannot check is counted apart, never as passed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NAME: &str = "rustls-shutdown-ret-1-vs-0.tkt";

fn saved() -> String {
    common::saved_entry(NAME)
}

/// A store named `diff` in a fresh directory holding `text` as the entry.
fn store_with(text: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("diff");
    std::fs::create_dir(&store).unwrap();
    std::fs::write(store.join(NAME), text).unwrap();
    (tmp, store)
}

fn failures(text: &str) -> Vec<String> {
    let (_tmp, store) = store_with(text);
    let reports = ticketdiff::replay::replay(&[store]).unwrap();
    reports.into_iter().flat_map(|r| r.failures).collect()
}

#[test]
fn the_saved_entry_passes_as_it_is() {
    assert_eq!(failures(&saved()), Vec::<String>::new());
}

#[test]
fn each_claim_the_run_contradicts_is_a_failure_naming_its_line() {
    let text = saved();
    for (from, to, says) in [
        (
            "# oracle: 1\n",
            "# oracle: 99999999999999999999999\n",
            ":8: `# oracle:` says `99999999999999999999999` but replay measured `1`",
        ),
        (
            "# other: 0\n",
            "# other: -1\n",
            ":9: `# other:` says `-1` but replay measured `0`",
        ),
    ] {
        assert!(text.contains(from));
        let got = failures(&text.replace(from, to));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains(&format!("{NAME}{says}")), "{got:?}");
    }
}

#[test]
fn a_line_that_points_at_another_op_or_at_none_fails() {
    let text = saved();
    for (line, says) in [
        ("0", ":5: `# line:` 0 is not a line of the program"),
        ("4294967295", ":5: `# line:` 4294967295 is not a line"),
        (
            "7",
            ":6: `# op:` says `shutdown` but line 7 of the program is `client_read`",
        ),
        // The op there is the same, but the run diverges on the next line.
        ("8", ":5: `# line:` says `8` but replay measured `9`"),
    ] {
        let got = failures(&text.replace("# line: 9\n", &format!("# line: {line}\n")));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains(&format!("{NAME}{says}")), "{line}: {got:?}");
    }
}

#[test]
fn an_oracle_backend_that_is_the_entrys_own_is_refused_not_called_fixed() {
    let text = saved().replace(
        "# oracle version:",
        "# oracle backend: rustls\n# oracle version:",
    );
    let got = failures(&text);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].contains(":3: `# oracle backend:` `rustls` is the entry's own backend"),
        "{got:?}"
    );
    assert!(!got[0].contains("FIXED"), "{got:?}");
}

#[test]
fn a_rerun_line_that_names_another_file_fails() {
    let text = saved().replace(
        "run --backend rustls diff/",
        "run --backend rustls /tmp/rel-v2/",
    );
    let got = failures(&text);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].ends_with(&format!(
            "{NAME}:12: `# rerun:` does not rerun this entry: it should read \
             `ticketdiff run --backend rustls diff/{NAME}`"
        )),
        "{got:?}"
    );
}

fn replay_without_workers(store: &Path, extra: &[&str]) -> Output {
    let no_workers = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .arg("replay")
        .args(extra)
        .arg(store)
        .env("TICKETDIFF_WORKER_DIR", no_workers.path())
        .output()
        .unwrap()
}

#[test]
fn an_entry_not_checked_is_counted_apart_and_fails_when_checks_are_required() {
    let worker_entry = "openssl-3.6-new_session_ticket-ret-0-vs-1.tkt";
    let text = common::saved_entry(worker_entry);
    let (_tmp, store) = store_with(&saved());
    std::fs::write(store.join(worker_entry), text).unwrap();

    let out = replay_without_workers(&store, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.ends_with("replayed 2 files: 1 passed, 0 failed, 1 not checked\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "not checked {}",
            store.join(worker_entry).display()
        )),
        "{stdout}"
    );

    let out = replay_without_workers(&store, &["--require-checked"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.ends_with("replayed 2 files: 1 passed, 1 failed, 0 not checked\n"),
        "{stdout}"
    );
    assert!(stdout.contains("(--require-checked)"), "{stdout}");
}

#[test]
fn a_repeated_key_is_refused_not_won_by_its_first_line() {
    let text = saved().replace("# op: shutdown\n", "# op: shutdown\n# line: 8\n");
    let e = ticketdiff::store::read_entry(Path::new(NAME), &text).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{NAME}:7: `# line:` is given twice: also on line 5")
    );
}
