//! `cargo test` replays the regression corpus and the saved divergences, as `ticketdiff replay`.

use std::path::PathBuf;

#[test]
fn corpus_and_saved_divergences_replay() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("corpus");
    let paths: Vec<PathBuf> = [corpus.clone(), root.join("diff")]
        .into_iter()
        .filter(|p| p.exists())
        .collect();
    let reports = ticketdiff::replay::replay(&paths).expect("corpus readable");
    let corpus_files = reports
        .iter()
        .filter(|r| r.path.starts_with(&corpus))
        .count();
    assert!(corpus_files >= 30, "only {corpus_files} corpus programs");
    // A fresh checkout has no workers: their entries are not checked here (`.ci/run` builds
    // them and requires every entry checked), and the count says so.
    let unchecked = reports.iter().filter(|r| !r.checked()).count();
    // Written to stderr itself, not through `eprintln!`, which the test harness captures.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "corpus_and_saved_divergences_replay: {unchecked} saved entries not checked here \
         (their workers are not built)"
    );
    let failures: Vec<&String> = reports.iter().flat_map(|r| &r.failures).collect();
    assert!(failures.is_empty(), "replay failures:\n{failures:#?}");
}
