//! Issue 21, item 6: a worker's crash text or a library's version string with a newline must
//! not write an entry that reads back as another program; nor is any finding saved that would
//! read back as another.

use std::time::{Duration, SystemTime};
use ticketdiff::backend::BackendId;
use ticketdiff::finding::{Difference, Divergence, Finding, Found, Signature, Versions};
use ticketdiff::program::{parse, Op, OpKind};
use ticketdiff::store::{entry_path, read_file, save, Saved};

const HOSTILE: &str =
    "died\n# op: client_write 5\nclient_write 5\r\n\u{1b}[2J\0\u{7f}\u{85}\t\\n end";

fn crash_finding() -> Finding {
    let program = parse("connect\nhandshake\nnew_session_ticket\n").unwrap();
    Finding {
        divergence: Divergence {
            signature: Signature::Crash {
                backend: BackendId::Openssl36,
                op: OpKind::NewSessionTicket,
            },
            line: 3,
            op: Op::NewSessionTicket,
            difference: Difference::Crashed {
                how: HOSTILE.into(),
            },
        },
        program,
        versions: Versions {
            oracle_backend: BackendId::ORACLE,
            oracle: format!("OpenSSL 3.0.19{HOSTILE}"),
            backend: format!("\r\nclient_write 5\n{HOSTILE} "),
        },
        found: Some(Found {
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_224_101),
            by: format!("fuzz\n{HOSTILE}"),
        }),
        hits: None,
        file: None,
        new: None,
    }
}

#[test]
fn control_characters_in_header_values_read_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let f = crash_finding();
    assert_eq!(save(dir.path(), &f).unwrap(), Saved::New);
    let path = entry_path(dir.path(), &f.signature());
    let text = std::fs::read_to_string(&path).unwrap();
    // One header line per key, then the three ops: nothing a value held became a line.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| !l.starts_with("# ")).count(),
        3,
        "{text}"
    );
    assert!(!text.contains('\r') && !text.contains('\0'), "{text:?}");
    let back = read_file(&path).unwrap();
    assert_eq!(back.program, f.program);
    assert_eq!(
        back,
        Finding {
            file: Some(path),
            ..f
        }
    );
}

#[test]
fn a_finding_that_contradicts_itself_is_not_saved() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = crash_finding();
    // Line 2 is `handshake`, not the finding's op.
    f.divergence.line = 2;
    let e = save(dir.path(), &f).unwrap_err().to_string();
    assert!(
        e.contains(":6: `# op:` says `new_session_ticket` but line 2 of the program is `handshake`; not saved"),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
