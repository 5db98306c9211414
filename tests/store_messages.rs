//! Issue 21, item 15: messages about a store say what is there: a byte-order mark or a blank
//! line above the header, and a file name's undecodable bytes as `\xNN` escapes.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;
use ticketdiff::store::read_entry;

const NAME: &str = "rustls-new_session_ticket-ret-1-vs-0.tkt";

fn entry() -> String {
    common::saved_entry(NAME)
}

#[test]
fn a_byte_order_mark_is_named() {
    let e = read_entry(Path::new(NAME), &format!("\u{feff}{}", entry())).unwrap_err();
    assert_eq!(e.line(), Some(1), "{e}");
    assert!(
        e.to_string().starts_with(&format!(
            "{NAME}:1: the file starts with a UTF-8 byte-order mark (bytes EF BB BF)"
        )),
        "{e}"
    );
    assert!(ticketdiff::store::is_entry(&format!("\u{feff}{}", entry())));
}

#[test]
fn a_blank_first_line_is_named() {
    let e = read_entry(Path::new(NAME), &format!("\n{}", entry())).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{NAME}:1: line 1 is blank, so the header ends above it and `# signature:` on line 2 \
             is not in it: the header is the `#` lines at the top of the file"
        )
    );
    let e = read_entry(Path::new(NAME), &format!("connect\n{}", entry())).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "{NAME}:1: line 1 is `connect`, so the header ends"
        )),
        "{e}"
    );
}

#[test]
fn an_undecodable_file_name_is_shown_with_its_bytes_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let name = OsStr::from_bytes(b"bad\xff\xfe.tkt");
    std::fs::write(store.join(name), "# signature: nonsense\nconnect\n").unwrap();
    let shown = format!("{}/bad\\xff\\xfe.tkt", store.display());

    let e = ticketdiff::store::read_dir(&store)
        .unwrap()
        .remove(0)
        .unwrap_err();
    assert!(e.to_string().starts_with(&format!("{shown}:1: ")), "{e}");

    for command in ["replay", "report"] {
        let out = Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
            .arg(command)
            .arg(&store)
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.contains(&format!("{shown}:1: ")), "{command}: {all}");
        assert!(!all.contains('\u{fffd}'), "{command}: {all}");
    }
}

#[test]
fn a_control_character_in_a_value_is_quoted_escaped() {
    // Raw in the file, or written as an escape: either way the message shows `\u{1b}`.
    for value in ["\u{1b}[2J\u{7}x", "\\u{1b}[2J\\u{7}x"] {
        let text = entry().replace(
            "# signature: rustls-new_session_ticket-ret-1-vs-0",
            &format!("# signature: {value}"),
        );
        let e = read_entry(Path::new(NAME), &text).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{NAME}:1: `# signature:` `\\u{{1b}}[2J\\u{{7}}x`")),
            "{e:?}"
        );
        assert!(!e.chars().any(char::is_control), "{e:?}");
    }
}
