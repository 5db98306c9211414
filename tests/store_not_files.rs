//! Issue 21, item 8: a store entry that is not a regular file (a dangling link, a FIFO, a
//! directory, a link to a device, a link to a file outside the store) is reported as broken
//! by every reader of the store, at once (a FIFO is never opened for reading), and no outside
//! file's content is shown.

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

const SECRET: &str = "secret-first-line-of-an-outside-file";
const NAMES: [&str; 5] = [
    "dangling.tkt",
    "fifo.tkt",
    "dir.tkt",
    "zero.tkt",
    "outside.tkt",
];

/// A store of five entries that are not regular files, and the directory holding the outside
/// file one of them links to.
fn hostile_store() -> (tempfile::TempDir, tempfile::TempDir) {
    let store = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.tkt");
    std::fs::write(&secret, format!("# signature: {SECRET}\nconnect\n")).unwrap();
    let s = store.path();
    symlink(s.join("nowhere"), s.join("dangling.tkt")).unwrap();
    common::mkfifo(&s.join("fifo.tkt"));
    std::fs::create_dir(s.join("dir.tkt")).unwrap();
    symlink("/dev/zero", s.join("zero.tkt")).unwrap();
    symlink(&secret, s.join("outside.tkt")).unwrap();
    (store, outside)
}

/// Every one of the five named, once, in `text`, which shows nothing of the outside file.
fn all_named(text: &str, store: &Path) {
    for name in NAMES {
        let shown = store.join(name).display().to_string();
        assert!(text.contains(&shown), "{name} not named:\n{text}");
    }
    assert!(!text.contains(SECRET), "an outside file was shown:\n{text}");
}

/// Runs ticketdiff in `dir`, failing the test if it is still running after a minute.
fn ticketdiff(args: &[&str], dir: &Path) -> (Option<i32>, String) {
    let out = common::ticketdiff_within(args, dir, Duration::from_secs(60));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn the_store_read_reports_each_as_broken() {
    let (store, _outside) = hostile_store();
    let entries = ticketdiff::store::read_dir(store.path()).unwrap();
    assert_eq!(entries.len(), 5);
    let errors: Vec<String> = entries
        .into_iter()
        .map(|e| e.unwrap_err().to_string())
        .collect();
    all_named(&errors.join("\n"), store.path());
}

#[test]
fn replay_report_and_fuzz_report_each_as_broken() {
    let (store, _outside) = hostile_store();
    let dir = store.path().to_str().unwrap();
    let (code, text) = ticketdiff(&["replay", dir], store.path());
    assert_eq!(code, Some(1), "{text}");
    all_named(&text, store.path());
    assert!(
        text.contains("replayed 5 files: 0 passed, 5 failed"),
        "{text}"
    );

    let (code, text) = ticketdiff(&["report", dir], store.path());
    assert_eq!(code, Some(2), "{text}");
    all_named(&text, store.path());

    let (code, text) = ticketdiff(&["fuzz", "--runs", "1", "--out", dir], store.path());
    assert_eq!(code, Some(2), "{text}");
    all_named(&text, store.path());
}

#[test]
fn a_hits_file_that_is_not_a_regular_file_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("hits.json");
    common::mkfifo(&fifo);
    let store = tmp.path().to_str().unwrap();
    for hits in [fifo.to_str().unwrap(), "/dev/zero"] {
        let (code, text) = ticketdiff(&["report", store, "--hits", hits], tmp.path());
        assert_eq!(code, Some(2), "{hits}: {text}");
        assert!(
            text.contains(&format!("{hits}: is a")) && text.contains("only regular files are read"),
            "{hits}: {text}"
        );
    }
}
