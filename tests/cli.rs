//! The command line: exit codes, the table, JSON Lines, bless and replay.

use std::path::Path;
use std::process::{Command, Output};

fn ticketdiff(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("runs")
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_exits_0_when_all_agree_and_1_on_a_divergence() {
    let tmp = scratch();
    let dir = tmp.path();
    std::fs::write(dir.join("agree.tkt"), "connect\nhandshake\n").unwrap();
    std::fs::write(
        dir.join("differ.tkt"),
        "connect\nhandshake\nnew_session_ticket\n",
    )
    .unwrap();
    let out = ticketdiff(&["run", "agree.tkt"], dir);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("rustls (rustls 0.23."), "{stdout}");
    assert!(stdout.contains("agrees with the oracle"), "{stdout}");

    let out = ticketdiff(&["run", "differ.tkt", "--backend", "rustls"], dir);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("rustls-new_session_ticket-ret-1-vs-0"),
        "{stdout}"
    );
    // The differing cell is marked.
    let row = stdout
        .lines()
        .find(|l| l.contains("new_session_ticket"))
        .unwrap();
    assert!(row.contains('*'), "{row}");
}

#[test]
fn run_exits_2_on_bad_input_naming_file_and_line() {
    let tmp = scratch();
    let dir = tmp.path();
    std::fs::write(dir.join("bad.tkt"), "connect\nhandshake 3\n").unwrap();
    let out = ticketdiff(&["run", "bad.tkt"], dir);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("bad.tkt:2:11: unexpected argument `3`"),
        "{stderr}"
    );
    assert!(stdout.is_empty());

    let out = ticketdiff(&["run", "missing.tkt"], dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("missing.tkt: cannot read"));

    let out = ticketdiff(&["run", "--backend", "gnutls", "bad.tkt"], dir);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out).1;
    assert!(
        stderr.contains("invalid value 'gnutls' for '--backend")
            && stderr.contains("possible values: openssl, native, rustls"),
        "{stderr}"
    );

    let out = ticketdiff(&["frobnicate"], dir);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_json_gives_one_object_per_file_and_backend() {
    let tmp = scratch();
    let dir = tmp.path();
    std::fs::write(dir.join("a.tkt"), "# comment\nconnect\nhandshake\n").unwrap();
    std::fs::write(dir.join("b.tkt"), "ctx_get_num_tickets\n").unwrap();
    let out = ticketdiff(&["run", "a.tkt", "b.tkt", "--json"], dir);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = text(&out)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Two files, each on every backend: the oracle, native, rustls.
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0]["file"], "a.tkt");
    assert_eq!(lines[0]["backend"], "openssl");
    assert!(lines[0]["version"]
        .as_str()
        .unwrap()
        .starts_with("OpenSSL 3."));
    assert_eq!(lines[1]["backend"], "native");
    assert_eq!(lines[2]["backend"], "rustls");
    let step = &lines[0]["steps"][1];
    assert_eq!(
        step,
        &serde_json::json!({"line": 3, "op": "handshake", "ret": 1, "issued": 2, "received": 2, "resumed": false, "notified": 2, "early": "not_sent"})
    );
    assert_eq!(lines[3]["file"], "b.tkt");
    assert_eq!(lines[3]["steps"][0]["ret"], 2);
    assert_eq!(lines[3]["steps"][0]["resumed"], serde_json::Value::Null);
}

#[test]
fn bless_records_the_oracle_and_replay_checks_it() {
    let tmp = scratch();
    let dir = tmp.path();
    let file = dir.join("p.tkt");
    std::fs::write(&file, "# rule\nconnect\nhandshake   # expect ret=0\n").unwrap();
    let out = ticketdiff(&["replay", "p.tkt"], dir);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("p.tkt:3: line 3: `handshake`: expected ret=0, observed ret=1"),
        "{stdout}"
    );

    let out = ticketdiff(&["bless", "p.tkt"], dir);
    assert_eq!(out.status.code(), Some(0));
    let blessed = std::fs::read_to_string(&file).unwrap();
    assert!(blessed.starts_with("# rule\nconnect "), "{blessed}");
    // The OpenSSL linked records plain results if it is the base release, else its own.
    let release = ticketdiff::expect::Release::of_version(openssl::version::version()).unwrap();
    let mark = match release.as_str() {
        ticketdiff::expect::BASE_RELEASE => "# expect".to_string(),
        other => format!("# expect[{other}]"),
    };
    assert!(
        blessed.contains(&format!("{mark} ret=1 issued=2 received=2 resumed=false\n")),
        "{blessed}"
    );
    let out = ticketdiff(&["replay", "p.tkt"], dir);
    if release.as_str() == ticketdiff::expect::BASE_RELEASE {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out).0);
        assert!(text(&out)
            .0
            .contains("replayed 1 files: 1 passed, 0 failed"));
    } else {
        // The oracle now agrees with its own results; the native server, which models the
        // base release, is still held to the wrong plain ones.
        let failures: Vec<String> = text(&out)
            .0
            .lines()
            .filter(|l| l.starts_with("FAIL"))
            .map(str::to_string)
            .collect();
        assert!(
            !failures.is_empty()
                && failures
                    .iter()
                    .all(|l| l.contains("does not do what OpenSSL 3.0 recorded")),
            "{failures:?}"
        );
    }

    // A file without expectations fails replay and says how to fix it.
    std::fs::write(dir.join("q.tkt"), "connect\n").unwrap();
    let out = ticketdiff(&["replay", "."], dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out)
        .0
        .contains("records no expected results; run `ticketdiff bless"));
}

#[test]
fn replay_rejects_a_malformed_expectation_with_its_line() {
    let tmp = scratch();
    let dir = tmp.path();
    std::fs::write(dir.join("p.tkt"), "connect\nhandshake # expect tickets=2\n").unwrap();
    let out = ticketdiff(&["replay", "p.tkt"], dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).0.contains("p.tkt:2:"), "{}", text(&out).0);
    assert!(text(&out).0.contains("unknown field `tickets`"));
}

#[test]
fn decode_prints_the_program_an_input_stands_for() {
    let tmp = scratch();
    let dir = tmp.path();
    std::fs::write(dir.join("p.tkt"), "connect # c\nhandshake\n").unwrap();
    std::fs::write(
        dir.join("raw.bin"),
        [0xffu8, 0x00, 0x13, 0x37, 0x42, 0x99, 0x01],
    )
    .unwrap();
    let out = ticketdiff(&["decode", "p.tkt"], dir);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out).0, "# p.tkt decodes to:\nconnect\nhandshake\n");
    let out = ticketdiff(&["decode", "raw.bin"], dir);
    assert_eq!(out.status.code(), Some(0));
    let printed = text(&out).0;
    let program = printed.split_once('\n').unwrap().1;
    ticketdiff::program::parse(program).expect("decoded bytes print as a valid program");
    assert_eq!(
        ticketdiff(&["decode", "missing.bin"], dir).status.code(),
        Some(2)
    );
}

#[test]
fn report_summarizes_diff_and_names_a_broken_entry() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = ticketdiff(&["report", "diff"], root);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let entries = std::fs::read_dir(root.join("diff")).unwrap().count();
    let rows = stdout.lines().filter(|l| l.starts_with("| <code>")).count();
    assert_eq!(rows, entries, "{stdout}");
    assert!(stdout.contains("### Minimized programs"), "{stdout}");

    let out = ticketdiff(&["report", "diff", "--format", "json"], root);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["signatures"].as_array().unwrap().len(), entries);

    let tmp = scratch();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("d")).unwrap();
    std::fs::write(
        dir.join("d/x.tkt"),
        "# signature: rustls-shutdown-ret-0-vs-1\n# backend: rustls\n# divergence: garbled\nconnect\n",
    )
    .unwrap();
    let out = ticketdiff(&["report", "d"], dir);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("d/x.tkt:3: "), "{stderr}");

    std::fs::write(dir.join("hits.json"), "not json").unwrap();
    let out = ticketdiff(&["report", "--hits", "hits.json", "d"], dir);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("hits.json: not valid JSON"), "{stderr}");

    let out = ticketdiff(&["report", "nope"], dir);
    assert_eq!(out.status.code(), Some(2));
}

/// `ticketdiff run ... | head`: a reader that goes away ends the command quietly (exit 141, as
/// for SIGPIPE), not with a panic.
#[test]
fn closed_standard_output_ends_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .args(["run", "corpus/default-two-tickets-after-full-handshake.tkt"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}
