//! Hostile input on disk: files that are not files, files too large to read, bytes that are not
//! text or not printable, and files that a rewrite must not alter beyond their text.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};
use ticketdiff::fsutil::{
    create_atomic, rewrite_file, stale_temporaries, write_atomic, RewriteError, STALE_AFTER,
};
use ticketdiff::program::{
    load, read_fuzz_input, InputKind, LoadError, SpecialFile, MAX_FUZZ_INPUT_BYTES,
    MAX_PROGRAM_FILE_BYTES,
};

/// Runs `f` on another thread and gives its result, or fails the test if it has not returned
/// within a minute: what is checked here is that it does not block forever.
fn without_hanging<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("blocked: still reading after a minute")
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

#[test]
fn a_fifo_with_no_writer_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("p.tkt");
    mkfifo(&fifo);
    let path = fifo.clone();
    let e = without_hanging(move || load(&path).unwrap_err());
    assert!(
        matches!(
            e,
            LoadError::NotRegular {
                found: SpecialFile::Fifo,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .ends_with("p.tkt: is a FIFO; only regular files are read"),
        "{e}"
    );
    let e = without_hanging(move || read_fuzz_input(&fifo).unwrap_err());
    assert!(matches!(e, LoadError::NotRegular { .. }), "{e:?}");
}

#[test]
fn devices_and_directories_are_refused_without_reading_them() {
    for device in ["/dev/zero", "/dev/null", "/dev/urandom"] {
        let e = without_hanging(move || load(Path::new(device)).unwrap_err());
        assert_eq!(
            e.to_string(),
            format!("{device}: is a character device; only regular files are read")
        );
        let e = without_hanging(move || read_fuzz_input(Path::new(device)).unwrap_err());
        assert!(
            matches!(
                e,
                LoadError::NotRegular {
                    found: SpecialFile::CharDevice,
                    ..
                }
            ),
            "{e:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let e = load(dir.path()).unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::NotRegular {
                found: SpecialFile::Directory,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_symlink_to_a_program_is_read_through() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("real.tkt"), "connect\nhandshake\n").unwrap();
    let link = dir.path().join("link.tkt");
    std::os::unix::fs::symlink("real.tkt", &link).unwrap();
    assert_eq!(load(&link).unwrap().program.len(), 2);
}

#[test]
fn a_program_file_is_read_up_to_the_limit_and_refused_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.tkt");
    let head = "connect\nhandshake\n# ";
    let at_limit = format!(
        "{head}{}\n",
        "x".repeat(MAX_PROGRAM_FILE_BYTES as usize - head.len() - 1)
    );
    assert_eq!(at_limit.len() as u64, MAX_PROGRAM_FILE_BYTES);
    fs::write(&path, &at_limit).unwrap();
    assert_eq!(load(&path).unwrap().program.len(), 2);

    fs::write(&path, format!("{at_limit}\n")).unwrap();
    let e = load(&path).unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::TooLarge {
                kind: InputKind::ProgramFile,
                limit: MAX_PROGRAM_FILE_BYTES,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .ends_with("big.tkt: too large: a program file holds at most 1048576 bytes"),
        "{e}"
    );

    // A sparse file of 64 GiB: refused from its size, never read.
    let huge = dir.path().join("huge.bin");
    fs::File::create(&huge).unwrap().set_len(64 << 30).unwrap();
    assert!(matches!(
        without_hanging({
            let huge = huge.clone();
            move || load(&huge).unwrap_err()
        }),
        LoadError::TooLarge { .. }
    ));
    let e = without_hanging(move || read_fuzz_input(&huge).unwrap_err());
    assert!(
        matches!(
            e,
            LoadError::TooLarge {
                kind: InputKind::FuzzInput,
                limit: MAX_FUZZ_INPUT_BYTES,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_fuzz_input_is_any_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash-1");
    let bytes: Vec<u8> = (0..=255).collect();
    fs::write(&path, &bytes).unwrap();
    assert_eq!(read_fuzz_input(&path).unwrap(), bytes);
}

#[test]
fn a_long_line_in_a_file_errors_at_its_first_bad_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.tkt");
    // As many ` x` as fit in the limit: about half a million tokens on one line.
    let count = (MAX_PROGRAM_FILE_BYTES as usize - "connect\n".len()) / 2;
    fs::write(&path, format!("connect{}\n", " x".repeat(count))).unwrap();
    let e = load(&path).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("long.tkt:1:9: unknown `connect` flag `x` (expected resume, resume=again, tls12, pha, psk_ke, suites=LIST, groups=LIST or early=N)"),
        "{e}"
    );
}

/// The error `load` gives for a file holding `text`.
fn load_error(text: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.tkt");
    fs::write(&path, text).unwrap();
    load(&path).unwrap_err().to_string()
}

#[test]
fn a_bom_a_nul_and_other_controls_are_shown_escaped() {
    let e = load_error("\u{feff}connect\n".as_bytes());
    assert!(
        e.ends_with("t.tkt:1:1: unknown op `\\u{feff}connect`"),
        "{e}"
    );
    let e = load_error(b"connect\nhandshake\0\n");
    assert!(e.ends_with("t.tkt:2:1: unknown op `handshake\\0`"), "{e}");
    let e = load_error(b"connect \x1b[2Jresume\n");
    assert!(
        e.contains("unknown `connect` flag `\\u{1b}[2Jresume`"),
        "{e}"
    );
    let e = load_error("connect\nserver_write 1\u{202e}0\n".as_bytes());
    assert!(
        e.ends_with("t.tkt:2:14: `1\\u{202e}0` is not a decimal number"),
        "{e}"
    );
    for e in [
        load_error("\u{feff}connect\n".as_bytes()),
        load_error(b"handshake\0\n"),
    ] {
        assert!(!e.contains(['\u{feff}', '\0']), "raw control in {e:?}");
    }
}

#[test]
fn invalid_utf8_names_the_line_column_and_bytes() {
    // A sequence cut off by the end of the file.
    let e = load_error(b"connect\n# \xe2\x82");
    assert!(
        e.ends_with("t.tkt:2:3: the file is not valid UTF-8 (found \\xe2\\x82)"),
        "{e}"
    );
    // An overlong encoding of `/` on the first line.
    let e = load_error(b"conn\xc0\xafect\n");
    assert!(
        e.ends_with("t.tkt:1:5: the file is not valid UTF-8 (found \\xc0)"),
        "{e}"
    );
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// A file holding `old` at `path`, with this mode.
fn old_file(path: PathBuf, mode: u32) -> PathBuf {
    fs::write(&path, "old\n").unwrap();
    set_mode(&path, mode);
    path
}

/// `path` holds `text` with this mode, and nothing else (no temporary file) is beside it.
fn assert_alone(path: &Path, text: &str, expected_mode: u32) {
    assert_eq!(fs::read_to_string(path).unwrap(), text);
    assert_eq!(mode(path), expected_mode);
    let name = path.file_name().unwrap().to_string_lossy();
    assert_eq!(names(path.parent().unwrap()), [name]);
}

#[test]
fn rewrite_keeps_the_mode_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = old_file(dir.path().join("p.tkt"), 0o750);
    rewrite_file(&path, b"new\n").unwrap();
    assert_alone(&path, "new\n", 0o750);
}

#[test]
fn rewrite_refuses_a_read_only_file_and_leaves_it_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = old_file(dir.path().join("p.tkt"), 0o444);
    let e = rewrite_file(&path, b"new\n").unwrap_err();
    assert!(
        matches!(e, RewriteError::ReadOnly { mode: 0o444, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("p.tkt: read-only (mode 444)"), "{e}");
    assert_alone(&path, "old\n", 0o444);
}

#[test]
fn rewrite_through_a_symlink_changes_the_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("real")).unwrap();
    let target = old_file(dir.path().join("real/p.tkt"), 0o640);
    let link = dir.path().join("p.tkt");
    std::os::unix::fs::symlink("real/p.tkt", &link).unwrap();

    rewrite_file(&link, b"new\n").unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_link(&link).unwrap(), PathBuf::from("real/p.tkt"));
    assert_alone(&target, "new\n", 0o640);
}

#[test]
fn rewrite_refuses_a_file_with_hard_links_and_leaves_both_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.tkt");
    let other = dir.path().join("q.tkt");
    fs::write(&path, "old\n").unwrap();
    fs::hard_link(&path, &other).unwrap();
    let e = rewrite_file(&path, b"new\n").unwrap_err();
    assert!(
        matches!(e, RewriteError::HardLinks { links: 2, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("has 2 hard links"), "{e}");
    for name in [&path, &other] {
        assert_eq!(fs::read_to_string(name).unwrap(), "old\n");
    }
    assert_eq!(
        fs::metadata(&path).unwrap().ino(),
        fs::metadata(&other).unwrap().ino()
    );
}

#[test]
fn rewrite_refuses_what_is_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = rewrite_file(dir.path(), b"new\n").unwrap_err();
    assert!(matches!(e, RewriteError::NotRegular { .. }), "{e:?}");
    let e = rewrite_file(&dir.path().join("missing.tkt"), b"new\n").unwrap_err();
    assert!(matches!(e, RewriteError::Read { .. }), "{e:?}");
}

#[test]
fn rewrite_keeps_the_owner_where_it_may_set_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.tkt");
    fs::write(&path, "old\n").unwrap();
    let me = fs::metadata(&path).unwrap().uid();
    if me != 0 {
        // Only root can give a file away; as anyone else, ownership stays what it was.
        rewrite_file(&path, b"new\n").unwrap();
        assert_eq!(fs::metadata(&path).unwrap().uid(), me);
        return;
    }
    std::os::unix::fs::chown(&path, Some(4242), Some(4243)).unwrap();
    rewrite_file(&path, b"new\n").unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (4242, 4243));
    assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
}

#[test]
fn write_atomic_keeps_an_existing_mode_and_gives_a_new_file_the_umask_one() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference");
    fs::File::create(&reference).unwrap();
    let path = dir.path().join("p.tkt");
    write_atomic(&path, b"one\n").unwrap();
    assert_eq!(mode(&path), mode(&reference));
    set_mode(&path, 0o600);
    write_atomic(&path, b"two\n").unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(fs::read_to_string(&path).unwrap(), "two\n");
    assert_eq!(names(dir.path()), ["p.tkt", "reference"]);
}

#[test]
fn write_atomic_that_fails_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("taken")).unwrap();
    fs::write(dir.path().join("taken/x"), "").unwrap();
    assert!(write_atomic(&dir.path().join("taken"), b"new\n").is_err());
    assert_eq!(names(dir.path()), ["taken"]);
}

#[test]
fn create_atomic_leaves_an_existing_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.tkt");
    fs::write(&path, "first\n").unwrap();
    let before = fs::metadata(&path).unwrap();
    assert!(!create_atomic(&path, b"second\n").unwrap());
    let after = fs::metadata(&path).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "first\n");
    assert_eq!(
        (before.ino(), before.mtime(), before.mtime_nsec()),
        (after.ino(), after.mtime(), after.mtime_nsec())
    );
    assert_eq!(names(dir.path()), ["p.tkt"]);
}

#[test]
fn concurrent_creators_have_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..20 {
        let path = dir.path().join(format!("p{round}.tkt"));
        let winners: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let path = &path;
                    s.spawn(move || {
                        let text = format!("writer {i}\n").repeat(1000 * (i + 1));
                        create_atomic(path, text.as_bytes()).unwrap().then_some(i)
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let i = winners[0];
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("writer {i}\n").repeat(1000 * (i + 1))
        );
    }
    assert_eq!(names(dir.path()).len(), 20, "{:?}", names(dir.path()));
}

#[test]
fn stale_temporaries_are_those_of_gone_processes_or_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let gone = child.id();
    child.wait().unwrap();
    let me = std::process::id();
    let touch = |name: &str| {
        let path = dir.path().join(name);
        fs::write(&path, "partial").unwrap();
        path
    };
    let dead = touch(&format!(".ticketdiff-{gone}-a1B2c3.tmp"));
    let legacy = touch(&format!(".sig-a-ret-1-vs-0.tkt.{gone}.3.tmp"));
    let live = touch(&format!(".ticketdiff-{me}-x9Y8z7.tmp"));
    let old = touch(&format!(".ticketdiff-{me}-old000.tmp"));
    fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(SystemTime::now() - STALE_AFTER - Duration::from_secs(60))
        .unwrap();
    // Not ours: a user's hidden file, an entry, a name with no PID.
    touch(".notes.tmp");
    touch("sig-a-ret-1-vs-0.tkt");
    touch(".ticketdiff--.tmp");

    let mut expected = vec![dead, legacy, old];
    expected.sort();
    assert_eq!(stale_temporaries(dir.path()), expected);
    assert!(!stale_temporaries(dir.path()).contains(&live));
    assert!(stale_temporaries(&dir.path().join("missing")).is_empty());
}
