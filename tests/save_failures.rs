//! What `ticketdiff fuzz` does when a finding cannot be saved: nothing found is lost.

use std::path::Path;
use std::process::Command;

/// A program on which rustls diverges from the oracle (diff/'s entry of that signature).
const SIGNATURE: &str = "rustls-shutdown-ret-1-vs-0";

fn diverging_program() -> String {
    let entry = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("diff")
        .join(format!("{SIGNATURE}.tkt"));
    let text = std::fs::read_to_string(entry).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `fuzz` of the diverging program alone (one run, one job) into `store`, its command line
/// after `prefix` (a wrapper such as `prlimit`).
fn fuzz_the_divergence(prefix: &[&str], store: &Path) -> std::process::Output {
    let seeds = tempfile::tempdir().unwrap();
    std::fs::write(seeds.path().join("seed.tkt"), diverging_program()).unwrap();
    let ticketdiff = env!("CARGO_BIN_EXE_ticketdiff");
    let (program, args) = match prefix.split_first() {
        Some((first, rest)) => (*first, [rest, &[ticketdiff]].concat()),
        None => (ticketdiff, Vec::new()),
    };
    Command::new(program)
        .args(args)
        .args(["fuzz", "--runs", "1", "--jobs", "1", "--seed", "1"])
        .args(["--backend", "rustls", "--corpus"])
        .arg(seeds.path())
        .arg("--out")
        .arg(store)
        .output()
        .unwrap()
}

#[test]
fn a_save_that_fails_prints_the_summary_the_program_and_each_error_once() {
    let store = tempfile::tempdir().unwrap();
    // An entry of the same signature that cannot be read: save never replaces it.
    let garbled = store.path().join(format!("{SIGNATURE}.tkt"));
    std::fs::write(&garbled, "# signature: garbled\n").unwrap();
    let out = fuzz_the_divergence(&[], store.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 new signatures"), "no summary: {stdout}");
    assert!(stdout.contains("NEW rustls"), "{stdout}");
    let unsaved = format!("new signature {SIGNATURE} not saved; its entry would have been:");
    assert_eq!(stderr.matches(&unsaved).count(), 1, "{stderr}");
    // The minimized entry, whole: its header and its program.
    let entry = stderr.split(&unsaved).nth(1).unwrap();
    assert!(
        entry.contains(&format!("\n# signature: {SIGNATURE}\n")),
        "{stderr}"
    );
    assert!(entry.contains("\nshutdown\n"), "{stderr}");
    // The broken entry is reported at the start and where the save failed, each once.
    assert_eq!(stderr.matches("not replaced").count(), 1, "{stderr}");
    let broken = garbled.display().to_string();
    let errors_naming_it = stderr
        .lines()
        .filter(|l| l.starts_with("error: ") && l.contains(&broken))
        .count();
    assert_eq!(errors_naming_it, 2, "{stderr}");
    assert!(
        stderr.contains("fuzz: 2 error(s), printed above"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&garbled).unwrap(),
        "# signature: garbled\n"
    );
}

#[test]
fn a_file_size_limit_makes_a_save_fail_cleanly_with_nothing_half_written() {
    let store = tempfile::tempdir().unwrap();
    // 100 bytes: the entry (some 600) cannot be written whole.
    let out = fuzz_the_divergence(&["prlimit", "--fsize=100"], store.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{:?}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("1 new signatures"), "{stdout}");
    assert!(stderr.contains("File too large"), "{stderr}");
    assert!(
        stderr.contains(&format!("new signature {SIGNATURE} not saved")),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(store.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}
