//! The rediscovery benchmark, end to end with the built-in engine: it runs the fuzzer from an
//! empty store, times the reference signatures, and writes results, a table and a picture.

use std::path::Path;
use std::process::Command;
use ticketdiff::rediscover::{Ending, Mode, Results};

/// `ticketdiff rediscover` on one worker against `reference`, with `args`.
fn rediscover(dir: &Path, reference: &Path, args: &[&str]) -> std::process::Output {
    let reference = reference.to_str().unwrap();
    let mut all = vec![
        "rediscover",
        "--jobs",
        "1",
        "--reference",
        reference,
        "--out",
        "bench",
    ];
    all.extend(args);
    ticketdiff(dir, &all)
}

fn ticketdiff(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// A reference store of the one signature every fuzz run finds within a second.
fn reference(dir: &Path) -> std::path::PathBuf {
    let reference = dir.join("reference");
    std::fs::create_dir(&reference).unwrap();
    let name = "rustls-new_session_ticket-ret-1-vs-0.tkt";
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(repo.join("diff").join(name), reference.join(name)).unwrap();
    reference
}

#[test]
fn rediscover_times_each_reference_signature_and_writes_results_table_and_picture() {
    let dir = tempfile::tempdir().unwrap();
    let reference = reference(dir.path());
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let out = rediscover(
        dir.path(),
        &reference,
        &[
            "--engines",
            "builtin",
            "--seeds",
            "2",
            "--time-corpus",
            "60",
            "--time-empty",
            "60",
            "--corpus",
            corpus.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bench = dir.path().join("bench");
    let results = Results::read(&bench.join("results.json")).unwrap();
    assert_eq!(results.reference.len(), 1);
    let sig = results.reference[0];
    // Two seeds in each of the two modes, every run stopped as soon as the signature was saved.
    assert_eq!(results.runs.len(), 4);
    for mode in Mode::ALL {
        assert_eq!(results.runs_of("builtin", mode).count(), 2);
    }
    for run in &results.runs {
        assert_eq!(run.ending, Ending::AllFound, "{run:?}");
        let t = run.found[&sig];
        assert!(t > 0.0 && t <= run.elapsed_secs, "{run:?}");
        assert!(run.elapsed_secs < 60.0, "{run:?}");
        // The store it was timed by holds the entry.
        let store = bench.join(format!(
            "runs/builtin-{}-{}/store",
            run.mode.name(),
            run.seed
        ));
        assert!(store.join(format!("{sig}.tkt")).is_file());
    }
    let table = std::fs::read_to_string(bench.join("table.md")).unwrap();
    assert!(table.contains(&format!("| {sig} |")), "{table}");
    assert!(table.contains("2/2"), "{table}");
    assert!(stdout.contains(&sig.to_string()), "{stdout}");
    let svg = std::fs::read_to_string(bench.join("rediscover.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains("builtin (2 runs)"),
        "the legend names the engine"
    );
    assert!(
        svg.contains("polyline") || svg.contains("path"),
        "lines are drawn"
    );

    // The outputs can be drawn again from the raw results alone.
    let again = ticketdiff(
        dir.path(),
        &[
            "rediscover",
            "--from",
            "bench/results.json",
            "--out",
            "redrawn",
        ],
    );
    assert!(again.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("redrawn/table.md")).unwrap(),
        table
    );
}

#[test]
fn rediscover_skips_an_engine_it_cannot_run_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let reference = reference(dir.path());
    // No build here and nothing built in this empty folder: both external engines are skipped;
    // the built-in one still runs.
    let out = rediscover(
        dir.path(),
        &reference,
        &[
            "--no-build",
            "--seeds",
            "1",
            "--modes",
            "empty",
            "--time-empty",
            "60",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results = Results::read(&dir.path().join("bench/results.json")).unwrap();
    let skipped: Vec<&str> = results.skipped.iter().map(|s| s.engine.name()).collect();
    assert_eq!(skipped, ["libfuzzer", "honggfuzz"]);
    assert!(results
        .skipped
        .iter()
        .all(|s| s.reason.contains("not built")));
    assert_eq!(results.runs.len(), 1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("skipped: libfuzzer"), "{stdout}");
}

#[test]
fn rediscover_refuses_an_empty_reference_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("none")).unwrap();
    let out = ticketdiff(
        dir.path(),
        &["rediscover", "--engines", "builtin", "--reference", "none"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("none: no saved signature"), "{stderr}");
}

#[test]
fn rediscover_keeps_the_reference_signatures_of_the_backends_named_and_runs_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let reference = reference(dir.path());
    // A signature of a worker backend beside it: kept, an engine would have to compare that
    // worker too (and fail where it is not built).
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let worker = "openssl-3.6-new_session_ticket-ret-0-vs-1.tkt";
    std::fs::copy(repo.join("diff").join(worker), reference.join(worker)).unwrap();
    let corpus = repo.join("corpus");
    let args = [
        "--engines",
        "builtin",
        "--seeds",
        "1",
        "--modes",
        "corpus",
        "--time-corpus",
        "60",
        "--corpus",
        corpus.to_str().unwrap(),
        "--backend",
        "rustls",
    ];
    let out = rediscover(dir.path(), &reference, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results = Results::read(&dir.path().join("bench/results.json")).unwrap();
    let names: Vec<String> = results.reference.iter().map(|s| s.to_string()).collect();
    assert_eq!(names, ["rustls-new_session_ticket-ret-1-vs-0"]);
    assert_eq!(results.runs.len(), 1);
    assert_eq!(results.runs[0].ending, Ending::AllFound);

    let mut none = args.to_vec();
    *none.last_mut().unwrap() = "native";
    let out = rediscover(dir.path(), &reference, &none);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no saved signature of native"), "{stderr}");
}
